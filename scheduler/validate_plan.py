"""The independent plan validator: a second reading of the task-plan rules.

Every hard rule of ``docs/task-rules.md`` is re-derived here from the plan
alone, one function per rule, in the order of that page; the roster's rules
and terms come from the roster validator. Nothing comes from ``solver/``,
from the task engine or from ``scheduler.release``: release, SLA deadline
and lateness are recomputed below, from the rules page. Only the formats
and the time arithmetic (``scheduler.sitetime``, ``scheduler.shifts``) are
shared.

Instants are read once as whole seconds since the epoch, so comparisons are
in real time (zoneinfo instants of one zone compare by wall clock, which is
wrong in the repeated hour of a fall-back night) and cheap for 8,000
shipments.

A malformed plan never raises: unknown person, door, load or shipment ids
are violations, and a check that trips over something unforeseen reports
``validator_error`` instead of stopping the others.

Readings this module makes where the rules page leaves a choice:

- a done predecessor (``done_tasks``) lets its successor start at the start
  of the horizon, customs response included ("their successors may start at
  H0"); for release and the exam appointment wait a done declare ends at
  the start of the horizon;
- ``unload`` in a shipment's ``done_tasks`` means its goods are in: its
  load's unload is not needed for it, and its SLA clock starts no earlier
  than the start of the horizon;
- opening hours of the local date before a task count too, since a
  22:00-06:00 opening runs into the next date;
- a plan checked against a given request matches it when only the
  settings steering the search differ (time limit, seed, reproducible,
  workers): the command line may override those when it plans;
- the ``stability`` term of a re-plan needs the parent plan, which a plan
  does not carry: for a plan with a parent revision the reported figure is
  taken as it is.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from math import ceil
from typing import Any

from scheduler.fingerprint import input_hash
from scheduler.models import (
    WEEKDAYS,
    CoverageRow,
    Door,
    DoorCapability,
    Lane,
    Load,
    Objective,
    Person,
    Plan,
    Request,
    Role,
    Shipment,
    Task,
    TaskKind,
    TaskStandard,
)
from scheduler.shifts import instance
from scheduler.sitetime import local_instant, local_midnight, parse_hhmm, zone
from scheduler.validate_roster import RosterReport, Violation, validate_roster

logger = logging.getLogger(__name__)

MINUTE_S = 60
_PERSON_KINDS = frozenset(
    {TaskKind.review, TaskKind.compliance, TaskKind.declare, TaskKind.respond}
)
_BROKER_KINDS = frozenset({TaskKind.declare, TaskKind.respond, TaskKind.exam})
_DOOR_KINDS = frozenset({TaskKind.unload, TaskKind.exam})
_SEARCH_SETTINGS = ("time_limit_s", "seed", "reproducible", "num_workers")


@dataclass(frozen=True)
class PlanReport:
    """What the validator found about a plan.

    Parameters
    ----------
    valid
        True exactly when ``violations`` is empty.
    violations
        The roster's violations, then the task rules in the order of the
        rules page, then mismatches of the plan's own figures.
    objective
        The recomputed objective; ``terms`` holds every term key.
    """

    valid: bool
    violations: list[Violation]
    objective: Objective


@dataclass(frozen=True)
class _Shift:
    """A rostered shift in epoch seconds, extension included."""

    shift_id: str
    day: date
    start: int
    end: int
    break_start: int | None
    break_end: int | None


@dataclass
class _Task:
    """A plan task read once: its seconds and what its id refers to."""

    task: Task
    start: int
    end: int
    owner: str
    shipment: Shipment | None = None
    load: Load | None = None
    person: Person | None = None
    door: Door | None = None
    shift: _Shift | None = None


@dataclass
class _Context:
    """The plan read once."""

    plan: Plan
    request: Request
    tz: str
    horizon_start: int
    horizon_end: int
    people: dict[str, Person]
    doors: dict[str, Door]
    loads: dict[str, Load]
    shipments: dict[str, Shipment]
    tasks: list[_Task] = field(default_factory=list)
    by_id: dict[str, _Task] = field(default_factory=dict)
    shifts: dict[str, list[_Shift]] = field(default_factory=dict)
    unscheduled: set[str] = field(default_factory=set)
    shipments_of_load: dict[str, list[Shipment]] = field(default_factory=dict)

    @property
    def policy(self) -> str:
        return self.request.settings.policies.breaks

    def local(self, seconds: int) -> str:
        """Epoch seconds as site-local wall-clock text."""
        instant = datetime.fromtimestamp(seconds, tz=zone(self.tz))
        return instant.strftime("%Y-%m-%d %H:%M")

    def end_of(self, shipment: Shipment, kind: TaskKind) -> int | None:
        """End of a shipment's task; the horizon start when done before it."""
        if kind in shipment.done_tasks:
            return self.horizon_start
        item = self.by_id.get(f"{shipment.id}:{kind.value}")
        return item.end if item is not None else None


# --------------------------------------------------------------------------
# Entry point


def validate_plan(plan: Plan, request: Request | None = None) -> PlanReport:
    """Check a plan against every hard rule and recompute its objective.

    Parameters
    ----------
    plan
        The plan to check, against the request it embeds.
    request
        When given, the request the plan must have been made for: a plan
        embedding another request is flagged ``request_mismatch``.

    Returns
    -------
    PlanReport
        Violations, and the objective recomputed from the plan alone.
    """
    violations: list[Violation] = []
    if request is not None:
        violations.extend(_request_mismatch(plan.request, request))

    roster_report = _roster_report(plan)
    if roster_report is not None:
        violations.extend(roster_report.violations)
        violations.extend(_coverage_mismatches(plan.coverage, roster_report.coverage))
    else:
        violations.append(
            Violation(
                "validator_error",
                "roster",
                "the roster could not be checked; see the log for the cause.",
            )
        )

    context = _read(plan)
    for check in _TASK_RULES:
        violations.extend(_guarded(check, context))

    objective = _objective(context, roster_report)
    violations.extend(_objective_mismatches(plan.objective, objective))

    logger.debug(
        "plan validator: plan %s rev %d, %d tasks, %d violations, objective %d",
        plan.plan_id,
        plan.revision,
        len(plan.tasks),
        len(violations),
        objective.total,
    )
    return PlanReport(valid=not violations, violations=violations, objective=objective)


def _request_mismatch(embedded: Request, given: Request) -> list[Violation]:
    """A violation when the plan was made for another request.

    Settings that only say how long and how to search (time limit, seed,
    reproducible, workers) are left out: `clearplan plan --time-limit 60`
    plans the same request as the file it read.
    """
    if input_hash(embedded) == input_hash(given):
        return []
    plan_side, given_side = _what_to_plan(embedded), _what_to_plan(given)
    if plan_side == given_side:
        return []
    differing = sorted(
        key
        for key in set(plan_side) | set(given_side)
        if plan_side.get(key) != given_side.get(key)
    )
    return [
        Violation(
            "request_mismatch",
            "request",
            "the plan was made for another request: "
            f"{', '.join(differing)} differ from the request given.",
        )
    ]


def _what_to_plan(request: Request) -> dict[str, Any]:
    """The request as JSON, less the settings that only steer the search."""
    data = request.model_dump(mode="json")
    settings = data.get("settings") or {}
    for key in _SEARCH_SETTINGS:
        settings.pop(key, None)
    return dict(data)


def _roster_report(plan: Plan) -> RosterReport | None:
    try:
        return validate_roster(plan.request, plan.roster)
    except Exception:
        logger.error(
            "plan validator: plan %s: roster validator failed",
            plan.plan_id,
            exc_info=True,
        )
        return None


def _guarded(
    check: Callable[[_Context], list[Violation]], context: _Context
) -> list[Violation]:
    """Run one rule; a crash becomes a violation, never an exception."""
    try:
        return check(context)
    except Exception:
        logger.error(
            "plan validator: plan %s: check %s failed",
            context.plan.plan_id,
            check.__name__,
            exc_info=True,
        )
        return [
            Violation(
                "validator_error",
                check.__name__.removeprefix("_check_"),
                "this rule could not be checked on this plan; see the log.",
            )
        ]


# --------------------------------------------------------------------------
# Reading the plan


def _seconds(instant: datetime) -> int:
    return int(instant.timestamp())


def _read(plan: Plan) -> _Context:
    """Index the request and place every task and shift in real time."""
    request = plan.request
    tz = request.site.timezone
    last = request.horizon.start_date + timedelta(days=request.horizon.days)
    context = _Context(
        plan=plan,
        request=request,
        tz=tz,
        horizon_start=_seconds(local_midnight(request.horizon.start_date, tz)),
        horizon_end=_seconds(local_midnight(last, tz)),
        people={person.id: person for person in request.staff},
        doors={door.id: door for door in request.doors},
        loads={load.id: load for load in request.loads},
        shipments={shipment.id: shipment for shipment in request.shipments},
        unscheduled={item.shipment_id for item in plan.unscheduled},
    )
    of_load: dict[str, list[Shipment]] = defaultdict(list)
    for shipment in request.shipments:
        if shipment.load_id is not None:
            of_load[shipment.load_id].append(shipment)
    context.shipments_of_load = dict(of_load)
    context.shifts = _place_shifts(plan, tz)

    for task in plan.tasks:
        owner = task.id.rpartition(":")[0]
        item = _Task(task, _seconds(task.start), _seconds(task.end), owner)
        if task.kind == TaskKind.unload:
            item.load = context.loads.get(owner)
        else:
            item.shipment = context.shipments.get(owner)
        item.person = context.people.get(task.person_id or "")
        item.door = context.doors.get(task.door_id or "")
        if task.person_id is not None:
            item.shift = _containing_shift(
                context.shifts.get(task.person_id, []), item.start, item.end
            )
        context.tasks.append(item)
        context.by_id.setdefault(task.id, item)
    return context


def _place_shifts(plan: Plan, tz: str) -> dict[str, list[_Shift]]:
    """Each person's shifts, sorted by start; unreadable ones left out."""
    templates = {template.id: template for template in plan.request.shift_templates}
    shifts: dict[str, list[_Shift]] = defaultdict(list)
    for shift in plan.roster:
        template = templates.get(shift.template_id)
        if template is None:
            continue  # the roster validator reports it
        try:
            real = instance(template, shift.date, tz, shift.extension_min)
        except (ValueError, OverflowError):
            continue
        shifts[shift.person_id].append(
            _Shift(
                shift_id=f"{shift.person_id}:{shift.date}:{shift.template_id}",
                day=shift.date,
                start=_seconds(real.start),
                end=_seconds(real.end),
                break_start=_seconds(real.break_start) if real.break_start else None,
                break_end=_seconds(real.break_end) if real.break_end else None,
            )
        )
    for person_shifts in shifts.values():
        person_shifts.sort(key=lambda s: (s.start, s.end))
    return dict(shifts)


def _containing_shift(shifts: list[_Shift], start: int, end: int) -> _Shift | None:
    """The shift whose [start, end) holds [start, end), if any."""
    position = bisect_right([s.start for s in shifts], start)
    for shift in reversed(shifts[:position]):
        if end <= shift.end:
            return shift
    return None


# --------------------------------------------------------------------------
# Hard rules, in the order of docs/task-rules.md


def _required_kinds(shipment: Shipment) -> set[TaskKind]:
    """The kinds a scheduled shipment must have, less those done before."""
    kinds = {TaskKind.review, TaskKind.declare}
    if shipment.compliance_required:
        kinds.add(TaskKind.compliance)
    if shipment.lane == Lane.documentary:
        kinds.add(TaskKind.respond)
    if shipment.lane == Lane.physical:
        kinds.add(TaskKind.exam)
    return kinds - set(shipment.done_tasks)


def _unload_needed(shipment: Shipment) -> bool:
    return (
        shipment.load_id is not None
        and not shipment.in_warehouse
        and TaskKind.unload not in shipment.done_tasks
    )


def _check_task_set(context: _Context) -> list[Violation]:
    """[task_set] ids, kinds and the tasks each shipment must have."""
    violations = []

    def add(subject: str, message: str) -> None:
        violations.append(Violation("task_set", subject, message))

    # Every task's id names its kind and something the request knows.
    for task_id, count in Counter(item.task.id for item in context.tasks).items():
        if count > 1:
            add(task_id, f"task id {task_id} appears {count} times.")
    for item in context.tasks:
        task = item.task
        if not task.id.endswith(f":{task.kind.value}"):
            add(
                task.id,
                f"task {task.id} is of kind {task.kind.value}; "
                f"its id must end in ':{task.kind.value}'.",
            )
        elif task.kind == TaskKind.unload:
            if item.load is None:
                add(task.id, f"task {task.id} unloads unknown load {item.owner}.")
            elif task.load_id not in (None, item.owner):
                add(
                    task.id,
                    f"task {task.id} names load {task.load_id}, "
                    f"its id load {item.owner}.",
                )
        elif item.shipment is None:
            add(task.id, f"task {task.id} belongs to unknown shipment {item.owner}.")
        elif task.shipment_id not in (None, item.owner):
            add(
                task.id,
                f"task {task.id} names shipment {task.shipment_id}, "
                f"its id shipment {item.owner}.",
            )

    # Unscheduled entries name known shipments, once each.
    listed = Counter(item.shipment_id for item in context.plan.unscheduled)
    for shipment_id, count in listed.items():
        if shipment_id not in context.shipments:
            add(shipment_id, f"unscheduled lists unknown shipment {shipment_id}.")
        elif count > 1:
            add(shipment_id, f"unscheduled lists shipment {shipment_id} {count} times.")

    # Each shipment has exactly its tasks, or none when unscheduled.
    own: dict[str, set[TaskKind]] = defaultdict(set)
    for item in context.tasks:
        if item.shipment is not None and item.task.kind != TaskKind.unload:
            own[item.shipment.id].add(item.task.kind)
    for shipment in context.request.shipments:
        kinds = own.get(shipment.id, set())
        if shipment.id in context.unscheduled:
            if kinds:
                add(
                    shipment.id,
                    f"shipment {shipment.id} is unscheduled but has "
                    f"tasks {_kinds(kinds)}.",
                )
            continue
        missing = _required_kinds(shipment) - kinds
        extra = kinds - _required_kinds(shipment)
        if missing:
            add(
                shipment.id,
                f"shipment {shipment.id} is scheduled without its "
                f"{_kinds(missing)} task(s).",
            )
        if extra:
            add(
                shipment.id,
                f"shipment {shipment.id} has tasks {_kinds(extra)} it does not need.",
            )
        if (
            _unload_needed(shipment)
            and f"{shipment.load_id}:unload" not in context.by_id
        ):
            add(
                shipment.id,
                f"shipment {shipment.id} is scheduled but its load "
                f"{shipment.load_id} is never unloaded.",
            )
    return violations


def _kinds(kinds: set[TaskKind]) -> str:
    return ", ".join(sorted(kind.value for kind in kinds))


def _earliest_starts(context: _Context, item: _Task) -> list[tuple[int, str]]:
    """The times the table says a task may not start before (H0 aside)."""
    task = item.task
    response_s = context.request.labour_standards.customs_response_min * MINUTE_S
    if task.kind == TaskKind.unload:
        return [(_seconds(item.load.eta), "the truck's ETA")] if item.load else []
    shipment = item.shipment
    if shipment is None:
        return []

    def after(kind: TaskKind, delay_s: int = 0) -> list[tuple[int, str]]:
        if kind in shipment.done_tasks:
            return []  # done before the horizon: may start at H0
        end = context.end_of(shipment, kind)
        label = f"the end of its {kind.value}" + (
            " + customs response" if delay_s else ""
        )
        return [] if end is None else [(end + delay_s, label)]

    if task.kind == TaskKind.review:
        return [(_seconds(shipment.documents_ready_at), "its documents are ready")]
    if task.kind == TaskKind.compliance:
        return after(TaskKind.review)
    if task.kind == TaskKind.declare:
        return after(TaskKind.review) + after(TaskKind.compliance)
    if task.kind == TaskKind.respond:
        return after(TaskKind.declare, response_s)
    # An exam: customs must have answered and the goods must be in.
    starts = after(TaskKind.declare, response_s)
    if _unload_needed(shipment):
        unload = context.by_id.get(f"{shipment.load_id}:unload")
        if unload is not None:
            starts.append((unload.end, "its goods are unloaded"))
    return starts


def _check_precedence(context: _Context) -> list[Violation]:
    """[precedence] no task starts before the times of the table."""
    violations = []
    for item in context.tasks:
        for earliest, what in _earliest_starts(context, item):
            if item.start < earliest:
                violations.append(
                    Violation(
                        "precedence",
                        item.task.id,
                        f"task {item.task.id} starts at {context.local(item.start)}, "
                        f"before {what} at {context.local(earliest)}.",
                    )
                )
    return violations


def _standard_min(
    standard: TaskStandard, pallets: int, documents: int, lines: int
) -> int:
    """Minutes of a labour standard, rounded up, at least one."""
    rates = (
        standard.base_min,
        standard.per_pallet_min,
        standard.per_document_min,
        standard.per_line_min,
    )
    return _rounded_minutes(rates, pallets, documents, lines)


@lru_cache(maxsize=65536)
def _rounded_minutes(
    rates: tuple[int, float, float, float], pallets: int, documents: int, lines: int
) -> int:
    """The standard's minutes, rates read as the decimals they are written as.

    So 0.1 x 30 lines is 3 minutes, not the 3.0000000000000004 of binary
    floating point. Cached: counts repeat across thousands of shipments.
    """
    base, per_pallet, per_document, per_line = rates
    total = (
        Fraction(base)
        + Fraction(str(per_pallet)) * pallets
        + Fraction(str(per_document)) * documents
        + Fraction(str(per_line)) * lines
    )
    return max(1, ceil(total))


def _expected_duration(context: _Context, item: _Task) -> int | None:
    """The labour-standard minutes of a task, None when its owner is unknown."""
    standards = context.request.labour_standards
    kind = item.task.kind
    if kind == TaskKind.unload:
        if item.load is None:
            return None
        pallets = item.load.pallets
        if pallets is None:
            shipments = context.shipments_of_load.get(item.load.id, [])
            pallets = sum(shipment.pallets for shipment in shipments)
        return _standard_min(standards.unload, pallets, 0, 0)
    shipment = item.shipment
    if shipment is None:
        return None
    documents, lines = shipment.documents, shipment.declaration_lines
    if kind == TaskKind.review:
        return _standard_min(standards.review, 0, documents, lines)
    if kind == TaskKind.compliance:
        return _standard_min(standards.compliance, 0, documents, lines)
    if kind == TaskKind.declare:
        return _standard_min(standards.declare, 0, 0, lines)
    if kind == TaskKind.respond:
        return _standard_min(standards.respond, 0, documents, lines)
    return _standard_min(standards.exam, shipment.pallets, 0, 0)


def _break_inside(item: _Task) -> tuple[int, int] | None:
    """The part of the person's shift break inside the task, if any."""
    shift = item.shift
    if shift is None or shift.break_start is None or shift.break_end is None:
        return None
    start, end = max(item.start, shift.break_start), min(item.end, shift.break_end)
    return (start, end) if start < end else None


def _check_duration(context: _Context) -> list[Violation]:
    """[duration] work minutes as the standard, length as the break policy."""
    violations = []
    for item in context.tasks:
        task = item.task
        expected = _expected_duration(context, item)
        if expected is not None and task.work_min != expected:
            violations.append(
                Violation(
                    "duration",
                    task.id,
                    f"task {task.id} has work_min {task.work_min}; its labour "
                    f"standard gives {expected}.",
                )
            )

        # The length is the work, plus the break it pauses over (policy pause).
        paused = None
        if context.policy == "pause" and task.kind != TaskKind.unload:
            paused = _break_inside(item)
        pause_s = paused[1] - paused[0] if paused else 0
        length_s = item.end - item.start
        if length_s != task.work_min * MINUTE_S + pause_s:
            violations.append(
                Violation(
                    "duration",
                    task.id,
                    f"task {task.id} lasts {length_s / MINUTE_S:g} min for "
                    f"{task.work_min} min of work and {pause_s // MINUTE_S} min "
                    "of break.",
                )
            )
        listed = sorted((_seconds(p.start), _seconds(p.end)) for p in task.pauses)
        if listed != ([paused] if paused else []):
            violations.append(
                Violation(
                    "duration",
                    task.id,
                    f"task {task.id} lists {len(listed)} pause(s); it pauses over "
                    f"{1 if paused else 0} break.",
                )
            )
    return violations


def _check_qualification(context: _Context) -> list[Violation]:
    """[qualification] the person and the door the table asks for."""
    violations = []
    for item in context.tasks:
        for problem in _person_problems(context, item) + _door_problems(item):
            violations.append(
                Violation(
                    "qualification", item.task.id, f"task {item.task.id} {problem}."
                )
            )
    return violations


def _person_problems(context: _Context, item: _Task) -> list[str]:
    """Why the task's person does not qualify (or should not be there)."""
    task = item.task
    needs_person = task.kind in _PERSON_KINDS or task.kind == TaskKind.exam
    if not needs_person:
        return (
            [f"has person {task.person_id}; an unload takes none"]
            if task.person_id
            else []
        )
    if task.person_id is None:
        return [f"has no person; {_a(task.kind)} needs one"]
    person = item.person
    if person is None:
        return [f"names unknown person {task.person_id}"]
    shipment = item.shipment
    if task.kind == TaskKind.review:
        if person.role != Role.clerk:
            return [
                f"is done by {person.role.value} {person.id}; a review needs a clerk"
            ]
        if shipment and shipment.language and shipment.language not in person.languages:
            return [f"needs a clerk reading {shipment.language}; {person.id} does not"]
        return []
    if task.kind == TaskKind.compliance:
        if "compliance" not in person.skills:
            return [f"needs the compliance skill; {person.id} does not hold it"]
        return []
    if person.role != Role.broker:
        return [f"is done by {person.role.value} {person.id}; it needs a broker"]
    if shipment is None:
        return []
    day = item.shift.day if item.shift else _local_date(context, item.start)
    if not _licensed(context, person, shipment, day):
        return [
            f"needs a broker licensed in {context.request.site.jurisdiction} on "
            f"{day} for {shipment.regime.value} {shipment.commodity}; "
            f"{person.id} is not"
        ]
    return []


def _local_date(context: _Context, seconds: int) -> date:
    return datetime.fromtimestamp(seconds, tz=zone(context.tz)).date()


def _licensed(context: _Context, person: Person, shipment: Shipment, day: date) -> bool:
    """A licence in the site's jurisdiction valid that day covers both."""
    for licence in person.licences:
        if licence.jurisdiction != context.request.site.jurisdiction:
            continue
        if not licence.valid_on(day):
            continue
        regime_ok = not licence.regimes or shipment.regime in licence.regimes
        commodity_ok = (
            not licence.commodities or shipment.commodity in licence.commodities
        )
        if regime_ok and commodity_ok:
            return True
    return False


def _door_problems(item: _Task) -> list[str]:
    """Why the task's door does not qualify (or should not be there)."""
    task = item.task
    if task.kind not in _DOOR_KINDS:
        return (
            [f"holds door {task.door_id}; {_a(task.kind)} takes none"]
            if task.door_id
            else []
        )
    if task.door_id is None:
        return [f"has no door; {_a(task.kind)} needs one"]
    door = item.door
    if door is None:
        return [f"names unknown door {task.door_id}"]
    capabilities = set(door.capabilities)
    if task.kind == TaskKind.exam:
        if DoorCapability.exam not in capabilities:
            return [f"is held at door {door.id}, which cannot host an exam"]
        return []
    if item.load is None:
        return []
    needed = set(item.load.requirements)
    if needed and not needed <= capabilities:
        lacking = ", ".join(sorted(cap.value for cap in needed - capabilities))
        return [f"unloads at door {door.id}, which lacks {lacking}"]
    if not needed and not capabilities - {DoorCapability.exam}:
        return [f"unloads at door {door.id}, an exam-only door"]
    return []


def _check_on_shift(context: _Context) -> list[Violation]:
    """[on_shift] a person's task lies inside one of their rostered shifts."""
    violations = []
    for item in context.tasks:
        if item.person is None or item.shift is not None:
            continue
        violations.append(
            Violation(
                "on_shift",
                item.task.id,
                f"task {item.task.id} ({context.local(item.start)} to "
                f"{context.local(item.end)}) lies in no rostered shift of "
                f"{item.person.id}.",
            )
        )
    return violations


def _check_break(context: _Context) -> list[Violation]:
    """[break] with no_straddle, no task overlaps its shift's break."""
    if context.policy != "no_straddle":
        return []  # with pause, rule [duration] keeps the break out
    violations = []
    for item in context.tasks:
        inside = _break_inside(item)
        if inside is None or item.shift is None:
            continue
        violations.append(
            Violation(
                "break",
                item.task.id,
                f"task {item.task.id} runs into the break of shift "
                f"{item.shift.shift_id} at {context.local(inside[0])}.",
            )
        )
    return violations


def _overlaps(
    context: _Context, rule: str, key: Callable[[Task], str | None], what: str
) -> list[Violation]:
    """One violation per task starting before an earlier one ends."""
    groups: dict[str, list[_Task]] = defaultdict(list)
    for item in context.tasks:
        owner = key(item.task)
        if owner is not None:
            groups[owner].append(item)
    violations = []
    for owner, items in groups.items():
        items.sort(key=lambda i: (i.start, i.end))
        busiest: _Task | None = None
        for item in items:
            if busiest is not None and item.start < busiest.end:
                violations.append(
                    Violation(
                        rule,
                        item.task.id,
                        f"task {item.task.id} overlaps task {busiest.task.id} "
                        f"of {what} {owner} at {context.local(item.start)}.",
                    )
                )
            if busiest is None or item.end > busiest.end:
                busiest = item
    return violations


def _check_person_overlap(context: _Context) -> list[Violation]:
    """[person_overlap] one task at a time per person."""
    return _overlaps(context, "person_overlap", lambda t: t.person_id, "person")


def _check_door_overlap(context: _Context) -> list[Violation]:
    """[door_overlap] one task at a time per door."""
    return _overlaps(context, "door_overlap", lambda t: t.door_id, "door")


def _check_door_open(context: _Context) -> list[Violation]:
    """[door_open] door tasks inside opening hours, clear of outages."""
    violations = []
    opening: dict[str, list[tuple[int, int]]] = {}
    for item in context.tasks:
        door = item.door
        if door is None:
            continue
        if door.id not in opening:
            opening[door.id] = _opening_spans(context, door)
        spans = opening[door.id]
        if not any(start <= item.start and item.end <= end for start, end in spans):
            violations.append(
                Violation(
                    "door_open",
                    item.task.id,
                    f"task {item.task.id} at door {door.id} "
                    f"({context.local(item.start)} to {context.local(item.end)}) "
                    "is outside its opening hours.",
                )
            )
        for outage in door.outages:
            if item.start < _seconds(outage.end) and _seconds(outage.start) < item.end:
                violations.append(
                    Violation(
                        "door_open",
                        item.task.id,
                        f"task {item.task.id} overlaps the outage of door {door.id} "
                        f"from {context.local(_seconds(outage.start))}.",
                    )
                )
    return violations


def _opening_spans(context: _Context, door: Door) -> list[tuple[int, int]]:
    """A door's opening hours as merged second spans around the horizon."""
    if not door.opening_hours:
        return [(-(2**62), 2**62)]
    first = context.request.horizon.start_date - timedelta(days=1)
    spans = []
    for offset in range(context.request.horizon.days + 2):
        day = first + timedelta(days=offset)
        for hours in door.opening_hours:
            if WEEKDAYS[day.weekday()] not in hours.weekdays:
                continue
            open_at, close_at = (
                parse_hhmm(hours.open_local),
                parse_hhmm(hours.close_local),
            )
            close_day = day if close_at > open_at else day + timedelta(days=1)
            spans.append(
                (
                    _seconds(local_instant(day, open_at, context.tz)),
                    _seconds(local_instant(close_day, close_at, context.tz)),
                )
            )
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _check_horizon(context: _Context) -> list[Violation]:
    """[horizon] every task inside [H0, H1)."""
    violations = []
    for item in context.tasks:
        if item.start < context.horizon_start or item.end > context.horizon_end:
            violations.append(
                Violation(
                    "horizon",
                    item.task.id,
                    f"task {item.task.id} ({context.local(item.start)} to "
                    f"{context.local(item.end)}) runs outside the horizon.",
                )
            )
    return violations


def _check_exam_window(context: _Context) -> list[Violation]:
    """[exam_window] an exam starts inside its appointment window."""
    violations = []
    for item in context.tasks:
        shipment = item.shipment
        if item.task.kind != TaskKind.exam or shipment is None:
            continue
        window = shipment.exam_window
        if window is None:
            continue
        if not _seconds(window.start) <= item.start < _seconds(window.end):
            violations.append(
                Violation(
                    "exam_window",
                    item.task.id,
                    f"exam {item.task.id} starts at {context.local(item.start)}, "
                    f"outside its appointment {context.local(_seconds(window.start))} "
                    f"to {context.local(_seconds(window.end))}.",
                )
            )
    return violations


def _check_dock_schedule(context: _Context) -> list[Violation]:
    """[dock_schedule] every door task under each date it touches, no more."""
    expected: dict[str, Counter[tuple[str, str, int, int, str]]] = defaultdict(Counter)
    for item in context.tasks:
        task = item.task
        if task.kind not in _DOOR_KINDS or task.door_id is None:
            continue
        slot = (task.door_id, task.kind.value, item.start, item.end, item.owner)
        for day in _dates_touched(context, item.start, item.end):
            expected[day][slot] += 1

    listed: dict[str, Counter[tuple[str, str, int, int, str]]] = defaultdict(Counter)
    for day, slots in context.plan.dock_schedule.items():
        for dock_slot in slots:
            if dock_slot.kind == TaskKind.unload:
                ref = dock_slot.load_id or ""
            else:
                ref = ",".join(dock_slot.shipment_ids)
            key = (
                dock_slot.door_id,
                dock_slot.kind.value,
                _seconds(dock_slot.start),
                _seconds(dock_slot.end),
                ref,
            )
            listed[day][key] += 1

    violations = []
    for day in sorted(set(expected) | set(listed)):
        for slot, count in (expected[day] - listed[day]).items():
            violations.append(
                Violation(
                    "dock_schedule",
                    f"dock_schedule:{day}",
                    f"the dock schedule of {day} lacks the {slot[1]} of {slot[4]} "
                    f"at door {slot[0]} from {context.local(slot[2])}"
                    + (f" ({count} times)" if count > 1 else "")
                    + ".",
                )
            )
        for slot, count in (listed[day] - expected[day]).items():
            violations.append(
                Violation(
                    "dock_schedule",
                    f"dock_schedule:{day}",
                    f"the dock schedule of {day} lists a {slot[1]} of {slot[4]} "
                    f"at door {slot[0]} from {context.local(slot[2])} that no "
                    "task of that date matches"
                    + (f" ({count} times)" if count > 1 else "")
                    + ".",
                )
            )
    return violations


def _dates_touched(context: _Context, start: int, end: int) -> list[str]:
    """Local dates (YYYY-MM-DD) holding a second of [start, end)."""
    first = _local_date(context, start)
    last = _local_date(context, max(start, end - 1))
    return [
        (first + timedelta(days=offset)).isoformat()
        for offset in range((last - first).days + 1)
    ]


_TASK_RULES: tuple[Callable[[_Context], list[Violation]], ...] = (
    _check_task_set,
    _check_precedence,
    _check_duration,
    _check_qualification,
    _check_on_shift,
    _check_break,
    _check_person_overlap,
    _check_door_overlap,
    _check_door_open,
    _check_horizon,
    _check_exam_window,
    _check_dock_schedule,
)


# --------------------------------------------------------------------------
# Release, SLA and the objective


def _late_min(context: _Context, shipment: Shipment) -> int | None:
    """Minutes a scheduled shipment is released after its SLA deadline.

    None when a task its release depends on is missing (rule [task_set]
    reports that). Customs time (one response per decision, and the wait
    for an exam appointment set later than the earliest exam) is not
    counted.
    """
    response_s = context.request.labour_standards.customs_response_min * MINUTE_S
    lane = shipment.lane or Lane.green

    goods_in: int | None = context.horizon_start
    goods_at_door = context.horizon_start
    if _unload_needed(shipment) and shipment.load_id in context.loads:
        unload = context.by_id.get(f"{shipment.load_id}:unload")
        goods_in = unload.end if unload is not None else None
        goods_at_door = _seconds(context.loads[shipment.load_id].eta)
    last_kind = {
        Lane.green: TaskKind.declare,
        Lane.documentary: TaskKind.respond,
        Lane.physical: TaskKind.exam,
    }[lane]
    last_end = context.end_of(shipment, last_kind)
    declare_end = context.end_of(shipment, TaskKind.declare)
    if goods_in is None or last_end is None or declare_end is None:
        return None
    release = max(goods_in, last_end + response_s)

    actionable = max(_seconds(shipment.documents_ready_at), goods_at_door)
    if shipment.sla_deadline is not None:
        deadline = _seconds(shipment.sla_deadline)
    else:
        deadline = actionable + context.request.settings.sla.of(shipment.priority) * 60

    customs_wait_s = response_s * (1 if lane == Lane.green else 2)
    if lane == Lane.physical and shipment.exam_window is not None:
        earliest_exam = declare_end + response_s
        customs_wait_s += max(0, _seconds(shipment.exam_window.start) - earliest_exam)
    # Whole minutes, as minutes_between counts them.
    return max(0, (release - deadline) // MINUTE_S - customs_wait_s // MINUTE_S)


def _task_terms(context: _Context) -> dict[str, int]:
    """The `unscheduled` and `lateness` terms, from the plan alone."""
    weights = context.request.settings.weights
    unscheduled = sum(
        weights.priority(context.shipments[shipment_id].priority)
        for shipment_id in context.unscheduled
        if shipment_id in context.shipments
    )
    lateness = 0
    for shipment in context.request.shipments:
        if shipment.id in context.unscheduled:
            continue
        minutes = _late_min(context, shipment)
        if minutes:
            lateness += weights.priority(shipment.priority) * minutes
    return {
        "unscheduled": weights.unscheduled * unscheduled,
        "lateness": weights.lateness * lateness,
    }


def _objective(context: _Context, roster_report: RosterReport | None) -> Objective:
    """Roster terms from the roster validator, task terms from here."""
    terms = dict(roster_report.objective.terms) if roster_report else {}
    terms.update(_task_terms(context))
    if context.plan.parent_revision is not None:
        # A re-plan's stability counts against its parent, which is not here.
        terms["stability"] = context.plan.objective.terms.get("stability", 0)
    return Objective(total=sum(terms.values()), terms=terms)


def _objective_mismatches(
    reported: Objective, recomputed: Objective
) -> list[Violation]:
    """A violation per figure of the objective the plan reports differently."""
    violations = []
    if reported.total != recomputed.total:
        violations.append(
            Violation(
                "objective_mismatch",
                "total",
                f"the plan reports an objective of {reported.total}; the "
                f"validator recomputes {recomputed.total}.",
            )
        )
    for term in sorted(set(reported.terms) | set(recomputed.terms)):
        value, expected = reported.terms.get(term), recomputed.terms.get(term)
        if value != expected:
            violations.append(
                Violation(
                    "objective_mismatch",
                    term,
                    f"the plan reports objective term {term} as {value}; the "
                    f"validator recomputes {expected}.",
                )
            )
    return violations


def _coverage_mismatches(
    reported: list[CoverageRow], recomputed: list[CoverageRow]
) -> list[Violation]:
    """A violation per coverage row the plan reports differently."""
    if [_row_key(row) for row in reported] == [_row_key(row) for row in recomputed]:
        return []
    for number, (row, expected) in enumerate(zip(reported, recomputed, strict=False)):
        if _row_key(row) != _row_key(expected):
            return [
                Violation(
                    "coverage_mismatch",
                    f"coverage[{number}]",
                    f"coverage row {number} reads {row.skill} required "
                    f"{row.required} planned {row.planned}; the validator has "
                    f"{expected.skill} required {expected.required} planned "
                    f"{expected.planned}.",
                )
            ]
    return [
        Violation(
            "coverage_mismatch",
            "coverage",
            f"the plan has {len(reported)} coverage rows; its cover requirements "
            f"give {len(recomputed)}.",
        )
    ]


def _row_key(row: CoverageRow) -> tuple[str, int, int, int, int]:
    return (
        row.skill,
        _seconds(row.start),
        _seconds(row.end),
        row.required,
        row.planned,
    )


def _a(kind: TaskKind) -> str:
    """A task kind with its article: 'a review', 'an exam'."""
    article = "an" if kind.value[0] in "aeiou" else "a"
    return f"{article} {kind.value}"
