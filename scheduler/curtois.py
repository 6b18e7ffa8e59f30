"""The Curtois & Qu staff-rostering instances as clearplan requests.

An instance file (format in ``benchmarks/curtois/PROVENANCE.md``) becomes
one request, so the benchmark runs through the same roster engine and the
same validator as a customs site:

- one site in UTC (no DST), day 0 on Monday 2024-01-01;
- each shift type a template starting at 00:00 and lasting its length, so
  shifts on consecutive days never overlap; ``min_rest_min`` is 0 and the
  instance's forbidden successions carry all the sequencing;
- each employee a clerk with its per-shift maxima, min/max total minutes,
  consecutive rules and maximum weekends; no weekly minute limits;
- days off as one-day leave, on/off requests as shift requests with their
  weights, cover as slot requirements (date, template) with their under-
  and over-cover weights;
- cost, fairness and unavailability weights 0, requests weight 1.

Horizon ends. The format leaves open how the minimum-consecutive rules
treat the first and last days. The reading that reproduces the published
best-known values is: a run of working days or of days off that touches
either end of the horizon is exempt from its minimum, since it may have
begun before the horizon or may go on after it. Through the request this
is simply no staff history: rules 10 and 11 of ``docs/roster-rules.md``
exempt a first run without history and always exempt a last run. We
measured the other readings against the published values (60 s or less,
2 cores):

- a long rest before the horizon (history with ``consecutive_days_off``
  14, so only a first run of working days must reach its minimum):
  Instance2 is proved optimal at 831, above the published 828, and the
  bound on Instance3 reaches 1002, above the published 1001;
- a day off (and a working day) just before the horizon (history with
  both counts 0): Instance1 is proved optimal at 708, above its 607;
- both ends exempt: Instances 1, 2 and 3 are proved optimal at exactly
  their published values (607, 828, 1001), and no run has scored below a
  best-known value.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from scheduler.models import (
    Contract,
    CoverRequirement,
    DateRange,
    Horizon,
    Person,
    Request,
    Role,
    Settings,
    ShiftRequest,
    ShiftTemplate,
    Site,
    Weights,
)
from scheduler.validate_roster import validate_roster

logger = logging.getLogger(__name__)

FIRST_DAY = date(2024, 1, 1)  # a Monday, as the format's day 0
_MAX_WEEK_MIN = 60 * 24 * 62  # no weekly limit: the largest allowed value


@dataclass
class _Instance:
    days: int = 0
    shifts: list[tuple[str, int, list[str]]] = field(default_factory=list)
    staff: list[list[str]] = field(default_factory=list)
    days_off: list[list[str]] = field(default_factory=list)
    on_requests: list[list[str]] = field(default_factory=list)
    off_requests: list[list[str]] = field(default_factory=list)
    cover: list[list[str]] = field(default_factory=list)


def read_sections(text: str) -> dict[str, list[list[str]]]:
    """Rows of comma-separated fields per ``SECTION_*`` heading."""
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("SECTION_"):
            current = sections.setdefault(line, [])
            continue
        if current is None:
            raise ValueError(f"line '{line}' comes before any SECTION_ heading")
        current.append([part.strip() for part in line.split(",")])
    return sections


def parse_instance(text: str, *, name: str = "curtois") -> Request:
    """Turn the text of a Curtois & Qu instance into a clearplan request.

    Parameters
    ----------
    text
        The instance file's content.
    name
        The request id (the instance name).
    """
    sections = read_sections(text)
    num_days = int(sections["SECTION_HORIZON"][0][0])
    day = [FIRST_DAY + timedelta(days=i) for i in range(num_days)]

    templates = [_template(row) for row in sections["SECTION_SHIFTS"]]
    staff = [_person(row) for row in sections["SECTION_STAFF"]]
    people = {person.id: person for person in staff}

    for row in sections.get("SECTION_DAYS_OFF", []):
        leave = [
            DateRange(first_date=day[int(d)], last_date=day[int(d)]) for d in row[1:]
        ]
        people[row[0]].leave.extend(leave)
    for kind, key in (
        ("on", "SECTION_SHIFT_ON_REQUESTS"),
        ("off", "SECTION_SHIFT_OFF_REQUESTS"),
    ):
        for person_id, day_idx, shift_id, weight in sections.get(key, []):
            people[person_id].shift_requests.append(
                ShiftRequest(
                    date=day[int(day_idx)],
                    template_id=shift_id,
                    kind="on" if kind == "on" else "off",
                    weight=int(weight),
                )
            )

    cover = [
        CoverRequirement(
            skill=str(Role.clerk),
            persons=int(persons),
            date=day[int(day_idx)],
            template_id=shift_id,
            weight_under=int(under),
            weight_over=int(over),
        )
        for day_idx, shift_id, persons, under, over in sections.get("SECTION_COVER", [])
    ]
    return Request(
        request_id=name,
        site=Site(id="curtois", timezone="UTC"),
        horizon=Horizon(start_date=FIRST_DAY, days=num_days),
        staff=staff,
        shift_templates=templates,
        cover_requirements=cover,
        settings=Settings(
            weights=Weights(cost=0, fairness=0, unavailability=0, requests=1),
        ),
    )


def _template(row: list[str]) -> ShiftTemplate:
    shift_id, length = row[0], int(row[1])
    if not 0 < length <= 24 * 60:
        raise ValueError(f"shift {shift_id}: length {length} must be 1 to 1440 minutes")
    end = length % (24 * 60)
    successors = [s for s in row[2].split("|") if s] if len(row) > 2 else []
    return ShiftTemplate(
        id=shift_id,
        roles=[Role.clerk],
        start_local="00:00",
        end_local=f"{end // 60:02d}:{end % 60:02d}",
        forbidden_successors=successors,
    )


def _person(row: list[str]) -> Person:
    person_id, max_shifts, max_total, min_total, max_run, min_run, min_off, weekends = (
        row
    )
    limits = {}
    for item in max_shifts.split("|"):
        if item:
            shift_id, _, limit = item.partition("=")
            limits[shift_id] = int(limit)
    return Person(
        id=person_id,
        role=Role.clerk,
        contract=Contract(
            max_minutes_per_week=_MAX_WEEK_MIN,
            min_minutes_total=int(min_total),
            max_minutes_total=int(max_total),
            max_consecutive_days=int(max_run),
            min_consecutive_days=int(min_run),
            min_consecutive_days_off=int(min_off),
            min_rest_min=0,
            max_working_weekends=int(weekends),
            max_shifts_per_template=limits,
        ),
    )


def load_instance(path: str | Path) -> Request:
    """Read and parse an instance file."""
    file = Path(path)
    return parse_instance(file.read_text(encoding="utf-8"), name=file.stem)


def best_known(path: str | Path) -> int | None:
    """The best-known value of an instance, from ``best_known.csv`` near it."""
    file = Path(path)
    for folder in (file.parent, file.parent.parent):
        table = folder / "best_known.csv"
        if table.exists():
            with table.open(encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    if row.get("instance") == file.stem:
                        return int(row["best_known_ub"])
    return None


def bench_roster(
    path: str | Path, time_limit_s: float, seed: int = 0
) -> dict[str, Any]:
    """Roster one instance and score it with the independent validator.

    Parameters
    ----------
    path
        The instance file.
    time_limit_s
        Time limit of the solve, seconds.
    seed
        Seed of the solve.

    Returns
    -------
    dict
        ``instance``, ``objective`` (the validator's), ``status``,
        ``runtime_s``, ``valid``, ``solver_objective``, ``bound``, ``gap``,
        ``shifts`` and ``best_known`` when it is known.
    """
    from scheduler.roster import plan_roster  # the engine, only when benchmarking

    request = load_instance(path)
    request.settings.time_limit_s = time_limit_s
    request.settings.seed = seed
    plan = plan_roster(request)
    report = validate_roster(request, plan.roster)
    result: dict[str, Any] = {
        "instance": Path(path).stem,
        "objective": report.objective.total,
        "status": str(plan.status),
        "runtime_s": plan.timings.get("total_s"),
        "valid": report.valid,
        "solver_objective": plan.objective.total,
        "bound": plan.bound,
        "gap": plan.gap,
        "shifts": len(plan.roster),
    }
    known = best_known(path)
    if known is not None:
        result["best_known"] = known
    if not report.valid:
        result["violations"] = [
            f"[{v.rule}] {v.message}" for v in report.violations[:10]
        ]
    logger.info(
        "bench roster: %s objective %d (%s) in %.1fs",
        result["instance"],
        result["objective"],
        result["status"],
        result["runtime_s"] or 0.0,
    )
    return result
