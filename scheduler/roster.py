"""Plan the shifts of a request: the roster engine's domain wrapper.

`plan_roster` runs the pipeline:

1. cover requirements: the request's own, then those derived from its
   forecast (`scheduler.demand.cover_requirements`);
2. the engine's index data (`scheduler.roster_options.build_problem`);
3. a greedy roster (`scheduler.roster_greedy`), the hint and the fallback;
4. CP-SAT with large-neighbourhood search (`solver.roster.solve_roster`);
5. the plan: roster, coverage, shortfalls, objective, KPIs, explanations,
   provenance and timings, checked by the independent validator
   (`scheduler.validate_roster`) before it is returned. A solver roster
   the validator rejects is replaced by the greedy one.

A request carrying a fixed roster gets that roster back with its instants,
minutes and costs filled in.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import ortools

from scheduler import demand
from scheduler.fingerprint import input_hash, plan_fingerprint
from scheduler.models import (
    CoverageRow,
    Explanation,
    Objective,
    Plan,
    PlanStatus,
    Provenance,
    Request,
    RosterShift,
    Shortfall,
)
from scheduler.roster_greedy import GreedyRoster, greedy_roster
from scheduler.roster_options import RosterProblem, build_problem
from scheduler.shifts import instance
from scheduler.sitetime import zone
from scheduler.validate_roster import validate_roster
from solver.roster import RosterResult, RosterStatus, SolveParams, solve_roster
from solver.roster.params import ProgressCallback
from solver.roster.result import roster_terms

logger = logging.getLogger(__name__)

OBJECTIVE_KEYS = (
    "unscheduled",
    "lateness",
    "undercover",
    "overcover",
    "cost",
    "requests",
    "unavailability",
    "fairness",
    "stability",
)

# The greedy roster may use this share of the time limit, at most _GREEDY_MAX_S.
# On the Curtois instances it converges in under 3 s; on a 300-person site it
# is the roster CP-SAT starts from, so it is worth its time there.
_GREEDY_SHARE = 0.3
_GREEDY_MAX_S = 30.0
_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class RosterPlanError(RuntimeError):
    """A roster failed the independent validator."""


@dataclass
class _Outcome:
    """The roster chosen for the plan and how it came about."""

    chosen: tuple[tuple[int, int], ...]
    status: PlanStatus
    reason: str
    bound: int | None = None


def plan_roster(
    request: Request,
    *,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> Plan:
    """Plan the shifts of a request.

    Parameters
    ----------
    request
        The request: staff, templates, cover requirements and/or forecast.
    on_progress
        Called with (objective, bound, elapsed_s) on each improving roster.
    stop
        Set it to end the search early; the plan is then ``cancelled``.

    Returns
    -------
    Plan
        A plan holding the roster; it has passed the roster validator.
    """
    started = time.monotonic()
    if request.roster is not None:
        return _fixed_roster_plan(request, started)

    # Steps 1-3: requirements, index data and the greedy roster.
    settings = request.settings
    requirements = demand.cover_requirements(request)
    problem = build_problem(request, requirements)
    greedy = greedy_roster(
        problem.data,
        time_limit_s=None
        if settings.reproducible
        else min(_GREEDY_MAX_S, _GREEDY_SHARE * settings.time_limit_s),
        seed=settings.seed,
    )
    build_s = time.monotonic() - started

    # Step 4: CP-SAT, hinted with the greedy roster.
    limit_s = settings.time_limit_s
    if not settings.reproducible:
        limit_s = max(0.1, limit_s - build_s)
    params = SolveParams(
        time_limit_s=limit_s,
        seed=settings.seed,
        num_workers=settings.num_workers,
        reproducible=settings.reproducible,
        hint=greedy.chosen,
        on_progress=on_progress,
        stop=stop,
    )
    result = solve_roster(problem.data, params)
    solve_s = time.monotonic() - started - build_s
    logger.info(
        "roster: request %s solved: %s, objective %s, bound %s in %.2fs",
        request.request_id,
        result.status,
        result.objective,
        result.bound,
        solve_s,
    )

    # Step 5: the plan, validated; the greedy roster if the solver's fails.
    outcome = _choose(problem, greedy, result)
    try:
        plan = _assemble(request, problem, outcome, result)
    except RosterPlanError as exc:
        logger.error(
            "roster: request %s: solver roster rejected, using the greedy one",
            request.request_id,
            exc_info=True,
        )
        outcome = _greedy_outcome(greedy, result, "solver roster rejected")
        try:
            plan = _assemble(request, problem, outcome, result)
        except RosterPlanError as again:
            # Neither roster passes: say so rather than return a bad one.
            logger.error(
                "roster: request %s: greedy roster rejected too",
                request.request_id,
                exc_info=True,
            )
            reason = f"no roster passed the validator: {exc}; greedy: {again}"
            failed = _Outcome((), PlanStatus.failed, reason, result.bound)
            plan = _assemble(request, problem, failed, result)
    plan.timings = {
        "build_s": round(build_s, 3),
        "solve_s": round(solve_s, 3),
        "total_s": round(time.monotonic() - started, 3),
    }
    plan.provenance.fingerprint = plan_fingerprint(plan)
    return plan


# --------------------------------------------------------------------------
# Choosing the roster


def _choose(
    problem: RosterProblem, greedy: GreedyRoster, result: RosterResult
) -> _Outcome:
    if result.status == RosterStatus.infeasible:
        reason = "CP-SAT proved that the hard rules contradict each other"
        if greedy.broken_rules:
            reason += f" (the greedy roster breaks {', '.join(greedy.broken_rules)})"
        return _Outcome((), PlanStatus.infeasible, reason, result.bound)
    if not result.has_roster:
        return _greedy_outcome(greedy, result, "CP-SAT found no roster in time")

    objective = result.objective or 0
    greedy_objective = sum(roster_terms(problem.data, greedy.chosen).values())
    if result.status == RosterStatus.optimal:
        return _Outcome(
            result.chosen, PlanStatus.optimal, "proved optimal", result.bound
        )
    if result.status == RosterStatus.cancelled:
        return _Outcome(
            result.chosen,
            PlanStatus.cancelled,
            "stopped on request: the best roster found so far",
            result.bound,
        )
    if greedy.valid and greedy_objective <= objective:
        return _Outcome(
            greedy.chosen,
            PlanStatus.heuristic,
            "CP-SAT found no roster better than the greedy one in time",
            result.bound,
        )
    gap = f"{100 * (result.gap or 0):.1f} %" if result.bound is not None else "unknown"
    return _Outcome(
        result.chosen,
        PlanStatus.feasible,
        f"time limit reached; gap to the bound {gap}",
        result.bound,
    )


def _greedy_outcome(greedy: GreedyRoster, result: RosterResult, why: str) -> _Outcome:
    if greedy.valid:
        status = (
            PlanStatus.cancelled
            if result.status == RosterStatus.cancelled
            else PlanStatus.heuristic
        )
        return _Outcome(
            greedy.chosen, status, f"{why}: the greedy roster", result.bound
        )
    rules = ", ".join(greedy.broken_rules)
    return _Outcome(
        (),
        PlanStatus.failed,
        f"{why}, and the greedy roster cannot satisfy the rule(s) {rules}",
        result.bound,
    )


# --------------------------------------------------------------------------
# Assembling and checking the plan


def _assemble(
    request: Request,
    problem: RosterProblem,
    outcome: _Outcome,
    result: RosterResult,
) -> Plan:
    """Build the plan of a chosen roster and check it with the validator."""
    roster = [_roster_shift(problem, o, k) for o, k in outcome.chosen]
    report = validate_roster(request, roster)
    if outcome.status not in (PlanStatus.failed, PlanStatus.infeasible):
        if not report.valid:
            rules = sorted({v.rule for v in report.violations})
            raise RosterPlanError(
                f"roster breaks {', '.join(rules)}: {report.violations[0].message}"
            )
        engine = roster_terms(problem.data, outcome.chosen)
        mismatched = {
            key: (value, report.objective.terms.get(key))
            for key, value in engine.items()
            if report.objective.terms.get(key) != value
        }
        if mismatched:
            raise RosterPlanError(
                f"objective terms differ from the validator's: {mismatched}"
            )

    objective = Objective(
        total=report.objective.total,
        terms={key: report.objective.terms.get(key, 0) for key in OBJECTIVE_KEYS},
    )
    bound = outcome.bound
    if bound is not None:
        bound = min(bound, objective.total)
    gap = (
        None
        if bound is None
        else (objective.total - bound) / max(1, abs(objective.total))
    )
    understaffed = merge_shortfalls(report.coverage)
    settings = request.settings
    plan = Plan(
        plan_id=f"roster-{uuid.uuid4().hex[:12]}",
        request=request,
        status=outcome.status,
        status_reason=outcome.reason,
        objective=objective,
        bound=bound,
        bound_reason=None if bound is not None else "no bound proven in time",
        gap=gap,
        kpis=_kpis(roster, report.coverage, result),
        roster=roster,
        coverage=report.coverage,
        understaffed=understaffed,
        explanations=_explanations(understaffed, request.site.timezone),
        provenance=Provenance(
            solver="cp-sat",
            solver_version=_ortools_version(),
            clearplan_version=_clearplan_version(),
            parameters={
                "time_limit_s": settings.time_limit_s,
                "num_workers": settings.num_workers,
                "reproducible": settings.reproducible,
                "lns": True,
            },
            seed=settings.seed,
            input_hash=input_hash(request),
        ),
    )
    return plan


def _roster_shift(
    problem: RosterProblem, option_idx: int, post_idx: int
) -> RosterShift:
    info = problem.options[option_idx]
    real = info.real
    return RosterShift(
        id=real.shift_id(info.person.id),
        person_id=info.person.id,
        date=info.day,
        template_id=info.template.id,
        post=problem.posts[post_idx],
        extension_min=info.extension_min,
        call_in=info.call_in,
        needs_approval=info.extension_min > 0,
        start=real.start,
        end=real.end,
        break_start=real.break_start,
        break_end=real.break_end,
        worked_min=real.worked_min,
        paid_min=real.paid_min,
        cost_cents=info.cost_cents,
    )


def _fixed_roster_plan(request: Request, started: float) -> Plan:
    """The request's own roster, its instants, minutes and costs filled in."""
    assert request.roster is not None
    tz = request.site.timezone
    roster = []
    for shift in request.roster:
        person = request.person(shift.person_id)
        template = request.template(shift.template_id)
        real = instance(template, shift.date, tz, shift.extension_min)
        regular = instance(template, shift.date, tz, 0)
        contract = person.contract
        cost = (
            regular.paid_min * contract.hourly_cost_cents * 100
            + shift.extension_min
            * contract.hourly_cost_cents
            * contract.overtime_rate_pct
        ) // 6000
        if shift.call_in and person.on_call is not None:
            cost += person.on_call.call_in_cost_cents
        roster.append(
            shift.model_copy(
                update={
                    "id": real.shift_id(person.id),
                    "start": real.start,
                    "end": real.end,
                    "break_start": real.break_start,
                    "break_end": real.break_end,
                    "worked_min": real.worked_min,
                    "paid_min": real.paid_min,
                    "cost_cents": cost,
                }
            )
        )
    report = validate_roster(request, roster)
    if report.valid:
        status, reason = PlanStatus.feasible, "the request fixes the roster"
    else:
        rules = sorted({v.rule for v in report.violations})
        status = PlanStatus.infeasible
        first = report.violations[0].message
        reason = f"the fixed roster breaks {', '.join(rules)}: {first}"
    understaffed = merge_shortfalls(report.coverage)
    plan = Plan(
        plan_id=f"roster-{uuid.uuid4().hex[:12]}",
        request=request,
        status=status,
        status_reason=reason,
        objective=Objective(
            total=report.objective.total,
            terms={key: report.objective.terms.get(key, 0) for key in OBJECTIVE_KEYS},
        ),
        bound=None,
        bound_reason="fixed roster: nothing was optimised",
        kpis=_kpis(roster, report.coverage, None),
        roster=roster,
        coverage=report.coverage,
        understaffed=understaffed,
        explanations=_explanations(understaffed, tz),
        provenance=Provenance(
            solver="fixed",
            solver_version=_ortools_version(),
            clearplan_version=_clearplan_version(),
            seed=request.settings.seed,
            input_hash=input_hash(request),
        ),
        timings={"build_s": 0.0, "solve_s": 0.0},
    )
    plan.timings["total_s"] = round(time.monotonic() - started, 3)
    plan.provenance.fingerprint = plan_fingerprint(plan)
    return plan


# --------------------------------------------------------------------------
# Shortfalls, KPIs, explanations


def merge_shortfalls(coverage: list[CoverageRow]) -> list[Shortfall]:
    """Understaffed intervals, contiguous ones of one skill and size merged."""
    rows = sorted(
        (row for row in coverage if row.planned < row.required),
        key=lambda row: (row.skill, row.start, row.end),
    )
    merged: list[Shortfall] = []
    for row in rows:
        missing = row.required - row.planned
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.skill == row.skill
            and last.missing == missing
            and last.end == row.start
        ):
            last.end = row.end
            continue
        merged.append(
            Shortfall(skill=row.skill, start=row.start, end=row.end, missing=missing)
        )
    return sorted(merged, key=lambda s: (s.start, s.skill))


def _kpis(
    roster: list[RosterShift], coverage: list[CoverageRow], result: RosterResult | None
) -> dict[str, object]:
    required: dict[str, int] = defaultdict(int)
    met: dict[str, int] = defaultdict(int)
    for row in coverage:
        required[row.skill] += row.required
        met[row.skill] += min(row.planned, row.required)
    return {
        "shifts": len(roster),
        "paid_hours": round(sum(s.paid_min or 0 for s in roster) / 60, 2),
        "cost_cents": sum(s.cost_cents or 0 for s in roster),
        "overtime_shifts": sum(1 for s in roster if s.extension_min > 0),
        "call_ins": sum(1 for s in roster if s.call_in),
        "cover_attainment": {
            skill: round(met[skill] / required[skill], 4) if required[skill] else 1.0
            for skill in sorted(required)
        },
        "num_solutions": result.num_solutions if result is not None else 0,
    }


def _explanations(understaffed: list[Shortfall], tz: str) -> list[Explanation]:
    """Each shortfall in a dispatcher's words: "Tue 14:00-17:00: 2 brokers short"."""
    explanations = []
    for gap in understaffed:
        span = _span_text(gap.start, gap.end, tz)
        text = f"{span}: {gap.missing} {_people(gap.skill, gap.missing)} short"
        explanations.append(
            Explanation(
                kind="shortfall",
                text=text,
                start=gap.start,
                end=gap.end,
                data={"skill": gap.skill, "missing": gap.missing},
            )
        )
    return explanations


def _span_text(start: datetime, end: datetime, tz: str) -> str:
    local_start = start.astimezone(zone(tz))
    local_end = end.astimezone(zone(tz))
    first = f"{_WEEKDAY_NAMES[local_start.weekday()]} {local_start:%H:%M}"
    if local_end.date() == local_start.date() or (
        local_end.hour == 0
        and local_end.minute == 0
        and (local_end.date() - local_start.date()).days == 1
    ):
        last = (
            "24:00" if local_end.date() != local_start.date() else f"{local_end:%H:%M}"
        )
        return f"{first}-{last}"
    return f"{first}-{_WEEKDAY_NAMES[local_end.weekday()]} {local_end:%H:%M}"


def _people(skill: str, count: int) -> str:
    if skill in ("broker", "clerk"):
        return skill if count == 1 else f"{skill}s"
    noun = "person" if count == 1 else "people"
    return f"{noun} for {skill}"


def _ortools_version() -> str:
    return str(getattr(ortools, "__version__", "unknown"))


def _clearplan_version() -> str:
    try:
        return importlib.metadata.version("clearplan")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"
