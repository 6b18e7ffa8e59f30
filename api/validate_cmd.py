"""`clearplan validate [REQUEST] PLAN [--previous PLAN] [--json]`: check a plan.

Reads the plan (and, when given, the request it must have been made for),
runs the independent plan validator and prints either its JSON answer,
``{"valid": ..., "violations": [...], "objective": {...}}``, or a summary a
dispatcher can read. With ``--previous`` the plan is a revision of that
plan and the revision check runs too (frozen and pinned tasks unchanged,
the diff exact). Exit codes: 0 valid, 1 invalid, 2 a file that cannot
be used (one line on stderr, never a traceback).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from scheduler.errors import describe
from scheduler.models import Plan, Request
from scheduler.validate_plan import PlanReport, validate_plan
from scheduler.validate_revision import validate_revision

logger = logging.getLogger(__name__)

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_BAD_INPUT = 2
MAX_LISTED = 50  # violations shown in the summary; --json lists them all

_M = TypeVar("_M", bound=BaseModel)


class _BadFile(Exception):
    """A file the user named cannot be used; the message says why."""


def run_validate(
    request_path: Path | None,
    plan_path: Path,
    as_json: bool,
    previous_path: Path | None = None,
) -> int:
    """Validate a plan file and print the verdict.

    Parameters
    ----------
    request_path
        The request the plan must answer, or None to check the plan against
        the request it embeds only.
    plan_path
        The plan to check.
    as_json
        Print the machine-readable answer instead of the summary.
    previous_path
        The parent revision, when the plan is a re-plan of it.

    Returns
    -------
    int
        0 when the plan is valid, 1 when it breaks a rule, 2 when a file
        cannot be read or is not a plan (or request).
    """
    try:
        plan = _load(plan_path, Plan, "plan")
        request = _load(request_path, Request, "request") if request_path else None
        previous = _load(previous_path, Plan, "plan") if previous_path else None
    except _BadFile as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    try:
        report = validate_plan(plan, request)
        if previous is not None:
            revision_faults = validate_revision(plan, previous)
            report = PlanReport(
                valid=report.valid and not revision_faults,
                violations=[*report.violations, *revision_faults],
                objective=report.objective,
            )
    except Exception as exc:  # the validator should never raise; say so if it does
        logger.error("validate: plan %s: validator failed", plan.plan_id, exc_info=True)
        print(f"error: the validator failed on {plan_path}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    if as_json:
        print(json.dumps(report_json(report), indent=2))
    else:
        print(_summary(plan, report))
    return EXIT_VALID if report.valid else EXIT_INVALID


def report_json(report: PlanReport) -> dict[str, Any]:
    """The validator's answer as plain JSON values."""
    return {
        "valid": report.valid,
        "violations": [
            {"rule": v.rule, "subject": v.subject, "message": v.message}
            for v in report.violations
        ],
        "objective": report.objective.model_dump(mode="json"),
    }


def _load(path: Path, model: type[_M], what: str) -> _M:
    """Read and check one JSON file, or raise _BadFile with one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _BadFile(f"{path}: cannot read the {what}: {reason}") from exc
    except UnicodeDecodeError as exc:
        raise _BadFile(f"{path}: the {what} is not UTF-8 text") from exc
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        problems = describe(exc)
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise _BadFile(f"{path}: not a valid {what}: {shown}{more}") from exc


def _summary(plan: Plan, report: PlanReport) -> str:
    """A few lines: verdict, objective, then violations grouped by rule."""
    count = len(report.violations)
    verdict = f"INVALID, {count} violation{'' if count == 1 else 's'}"
    if report.valid:
        verdict = "valid"
    lines = [
        f"plan {plan.plan_id} revision {plan.revision} ({plan.status.value}): {verdict}"
    ]
    terms = ", ".join(
        f"{term} {value:,}" for term, value in report.objective.terms.items() if value
    )
    lines.append(
        f"objective {report.objective.total:,}" + (f" ({terms})" if terms else "")
    )

    for violation in report.violations[:MAX_LISTED]:
        lines.append(f"  [{violation.rule}] {violation.subject}: {violation.message}")
    hidden = len(report.violations) - MAX_LISTED
    if hidden > 0:
        lines.append(f"  ... and {hidden} more (use --json to see them all)")
    return "\n".join(lines)
