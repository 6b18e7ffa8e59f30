"""Shortfalls and bottlenecks of a plan, in the dispatcher's words.

Each finding is an `Explanation` with a kind, one short sentence, the local
window it is about and its numbers in `data`. Findings are sorted by
impact, measured in objective units (`data["impact"]`), so the first lines
are the ones that cost the most SLA:

- ``unscheduled``: shipments the plan cannot serve, grouped by what is
  missing ("3 shipments unscheduled: no broker licensed for dangerous goods
  on shift");
- ``shortfall``: fewer persons of a skill than the cover asks, over a
  contiguous local window, with the late shipments it explains ("14:00-17:00:
  2 pharma-licensed brokers short; 37 shipments late because of it");
- ``late_queue``: late shipments whose longest wait falls in no shortfall
  (the cover was met, the work was more than it planned for);
- ``door_busy``: a dock door busy at least 90 % of a window of two hours or
  more while trucks waited for it or shipments were late because of it.

A late shipment is put down to one queue: its task that waited longest
between becoming ready (the earliest start the task rules allow) and
starting, and what that task needs (clerk, compliance, the most specific
broker licence with a shortfall, or a dock door).
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.models import (
    CoverageRow,
    Door,
    DoorCapability,
    Explanation,
    Lane,
    Request,
    RosterShift,
    Shipment,
    Shortfall,
    Task,
    TaskKind,
    Unscheduled,
)
from scheduler.release import ShipmentTimes, needs_unload, shipment_times
from scheduler.sitetime import (
    add_minutes,
    local_midnight,
    minutes_between,
    to_utc,
    zone,
)

logger = logging.getLogger(__name__)

MAX_EXPLANATIONS = 30
BUSY_SHARE = 0.9  # a door this busy makes trucks queue
MIN_BUSY_WINDOW_MIN = 120  # shorter bursts are normal and not worth a line

_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class _Window:
    """A contiguous stretch short of a skill, and the late shipments it explains."""

    skill: str
    start: datetime
    end: datetime
    missing: int  # the most missing at any time in the window
    least_missing: int = 0
    person_min: int = 0  # persons missing x minutes, summed over the rows
    late_shipments: int = 0
    lateness: int = 0
    shipment_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Blocker:
    """The queue a late shipment waited in longest."""

    shipment_id: str
    need: str  # a skill, or "door:<door_id>"
    ready: datetime
    start: datetime
    lateness: int  # objective units: weight x priority weight x late_min

    @property
    def wait_min(self) -> int:
        return minutes_between(self.ready, self.start)


# --------------------------------------------------------------------------
# Roster-only plans


def explain_roster(
    request: Request,
    coverage: Sequence[CoverageRow],
    understaffed: Sequence[Shortfall],
) -> list[Explanation]:
    """Shortfalls of a shift plan, one line per skill and contiguous window.

    Parameters
    ----------
    request
        The request the roster was made for (site zone, horizon, weights).
    coverage
        The plan's coverage rows; a row planned below required is short.
    understaffed
        The plan's shortfalls, merged with those read from `coverage`.

    Returns
    -------
    list[Explanation]
        Kind ``shortfall``, most person-minutes short first, e.g.
        "Tue 14:00-17:00: 2 brokers short".
    """
    windows = _shortfall_windows(coverage, understaffed)
    multi_day = request.horizon.days > 1
    explanations = []
    for window in windows:
        explanations.append(
            _shortfall_explanation(request, window, multi_day, impact=window.person_min)
        )
    return _ranked(explanations)


# --------------------------------------------------------------------------
# Task plans


def explain_tasks(
    request: Request,
    roster: Sequence[RosterShift],
    tasks: Sequence[Task],
    unscheduled: Sequence[Unscheduled],
    coverage: Sequence[CoverageRow],
) -> list[Explanation]:
    """Why shipments are late or unscheduled, and where the plan is short.

    Parameters
    ----------
    request
        The request the plan was made for.
    roster
        The plan's roster, to say who is on shift.
    tasks
        The plan's tasks.
    unscheduled
        The shipments the plan does not serve, with their reasons.
    coverage
        The plan's coverage rows (required against planned per skill).

    Returns
    -------
    list[Explanation]
        At most `MAX_EXPLANATIONS` findings, largest impact first.
    """
    multi_day = request.horizon.days > 1
    weights = request.settings.weights
    times = shipment_times(request, tasks)
    unscheduled_ids = {item.shipment_id for item in unscheduled}
    windows = _shortfall_windows(coverage, [])

    # Put each late shipment down to the queue it waited in longest.
    blockers = _blockers(request, tasks, times, unscheduled_ids)
    unexplained: dict[str, list[_Blocker]] = defaultdict(list)
    door_blockers: list[_Blocker] = []
    for blocker in blockers:
        if blocker.wait_min <= 0:
            # No queue at all: the work itself takes longer than the SLA.
            unexplained[""].append(blocker)
            continue
        if blocker.need.startswith("door:"):
            door_blockers.append(blocker)
            continue
        window = _window_for(windows, blocker)
        if window is None:
            unexplained[_broad_need(blocker.need)].append(blocker)
        else:
            window.late_shipments += 1
            window.lateness += blocker.lateness
            window.shipment_ids.append(blocker.shipment_id)

    explanations = _unscheduled_explanations(request, roster, unscheduled)
    for window in windows:
        impact = window.lateness + weights.undercover * window.missing
        explanations.append(
            _shortfall_explanation(request, window, multi_day, impact=impact)
        )
    for need, group in unexplained.items():
        explanations.append(_queue_explanation(request, need, group, multi_day))
    explanations.extend(_door_explanations(request, tasks, door_blockers, multi_day))

    ranked = _ranked(explanations)
    if len(ranked) > MAX_EXPLANATIONS:
        logger.debug(
            "explain: keeping %d of %d findings", MAX_EXPLANATIONS, len(ranked)
        )
    return ranked[:MAX_EXPLANATIONS]


# --------------------------------------------------------------------------
# Shortfall windows


def _shortfall_windows(
    coverage: Sequence[CoverageRow], understaffed: Sequence[Shortfall]
) -> list[_Window]:
    """Short rows merged per skill into contiguous windows.

    A row joins the window it touches while the window's shortfall stays
    within a factor of two (2 to 4 short, say), so a long stretch of
    shortage reads as its plateaus ("09:00-13:00: up to 30 brokers short",
    "13:00-17:00: 6 brokers short") rather than one line for the day.
    """
    pieces: dict[str, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    # In UTC: instants of one zoneinfo zone compare by wall clock, which is
    # wrong in the repeated hour of a fall-back night.
    for row in coverage:
        if row.planned < row.required:
            missing = row.required - row.planned
            pieces[row.skill].append((to_utc(row.start), to_utc(row.end), missing))
    for short in understaffed:
        if short.missing > 0:
            span = (to_utc(short.start), to_utc(short.end), short.missing)
            pieces[short.skill].append(span)

    windows: list[_Window] = []
    for skill, spans in sorted(pieces.items()):
        current: _Window | None = None
        for start, end, missing in sorted(spans):
            person_min = missing * minutes_between(start, end)
            if (
                current is not None
                and start <= current.end
                and max(current.missing, missing)
                <= 2 * min(current.least_missing, missing)
            ):
                current.person_min += person_min
                current.end = max(current.end, end)
                current.missing = max(current.missing, missing)
                current.least_missing = min(current.least_missing, missing)
                continue
            current = _Window(skill, start, end, missing, missing, person_min)
            windows.append(current)
    return windows


def _window_for(windows: list[_Window], blocker: _Blocker) -> _Window | None:
    """The shortfall window of the blocker's skill its wait overlaps most.

    A broker task names its most specific licence first; a broader skill
    with a shortfall is tried when the specific one has none.
    """
    candidates = _need_chain(blocker.need)
    for skill in candidates:
        best: _Window | None = None
        best_overlap = -1
        for window in windows:
            if window.skill != skill:
                continue
            overlap = _overlap_min(
                window.start, window.end, blocker.ready, blocker.start
            )
            if overlap > 0 and overlap > best_overlap:
                best, best_overlap = window, overlap
        if best is not None:
            return best
    return None


def _need_chain(need: str) -> list[str]:
    """A need and the broader skills that also serve it."""
    if need.startswith("commodity:") or need.startswith("regime:"):
        return need.split("|") + ["broker"]
    return [need]


def _broad_need(need: str) -> str:
    """The need as one skill: a commodity licence, or else any broker."""
    first = need.split("|")[0]
    return "broker" if first.startswith("regime:") else first


# --------------------------------------------------------------------------
# Late shipments and their queues


def _blockers(
    request: Request,
    tasks: Sequence[Task],
    times: dict[str, ShipmentTimes],
    unscheduled_ids: set[str],
) -> list[_Blocker]:
    """For each late shipment, its task that waited longest to start."""
    weights = request.settings.weights
    horizon_start = to_utc(
        local_midnight(request.horizon.start_date, request.site.timezone)
    )
    by_id = {task.id: task for task in tasks}
    loads = {load.id: load for load in request.loads}
    response_min = request.labour_standards.customs_response_min

    blockers = []
    for shipment in request.shipments:
        shipment_time = times.get(shipment.id)
        if shipment.id in unscheduled_ids or shipment_time is None:
            continue
        if shipment_time.late_min == 0:
            continue

        def end_of(kind: TaskKind, s: Shipment = shipment) -> datetime:
            if kind in s.done_tasks:
                return horizon_start
            task = by_id.get(f"{s.id}:{kind.value}")
            return to_utc(task.end) if task is not None else horizon_start

        # When each task of the shipment could have started at the earliest.
        ready: dict[str, datetime] = {}
        if needs_unload(shipment) and shipment.load_id is not None:
            ready[f"{shipment.load_id}:unload"] = max(
                to_utc(loads[shipment.load_id].eta), horizon_start
            )
        ready[f"{shipment.id}:review"] = max(
            to_utc(shipment.documents_ready_at), horizon_start
        )
        ready[f"{shipment.id}:compliance"] = end_of(TaskKind.review)
        ready[f"{shipment.id}:declare"] = max(
            end_of(TaskKind.review), end_of(TaskKind.compliance)
        )
        after_customs = add_minutes(end_of(TaskKind.declare), response_min)
        ready[f"{shipment.id}:respond"] = after_customs
        exam_ready = max(after_customs, shipment_time.goods_in)
        if shipment.exam_window is not None:
            exam_ready = max(exam_ready, to_utc(shipment.exam_window.start))
        ready[f"{shipment.id}:exam"] = exam_ready

        longest: tuple[int, Task] | None = None
        for task_id, ready_at in ready.items():
            task = by_id.get(task_id)
            if task is None:
                continue
            wait_min = minutes_between(ready_at, task.start)
            if longest is None or wait_min > longest[0]:
                longest = (wait_min, task)
        if longest is None:
            continue
        task = longest[1]
        blockers.append(
            _Blocker(
                shipment_id=shipment.id,
                need=_need_of(task, shipment),
                ready=ready[task.id],
                start=to_utc(task.start),
                lateness=weights.lateness
                * weights.priority(shipment.priority)
                * shipment_time.late_min,
            )
        )
    return blockers


def _need_of(task: Task, shipment: Shipment) -> str:
    """What a task waits for: a door, a clerk, compliance or a broker licence."""
    if task.kind in (TaskKind.unload, TaskKind.exam):
        return f"door:{task.door_id}"
    if task.kind == TaskKind.review:
        return "clerk"
    if task.kind == TaskKind.compliance:
        return "compliance"
    # Broker work: the commodity licence is the rarest, then the regime.
    chain = []
    if shipment.commodity != "general":
        chain.append(f"commodity:{shipment.commodity}")
    chain.append(f"regime:{shipment.regime.value}")
    return "|".join(chain)


def _queue_explanation(
    request: Request, need: str, group: list[_Blocker], multi_day: bool
) -> Explanation:
    """Late shipments that waited for a skill whose cover was met."""
    start: datetime | None = min(blocker.ready for blocker in group)
    end: datetime | None = max(blocker.start for blocker in group)
    longest_wait = max(blocker.wait_min for blocker in group)
    count = len(group)
    shipments = f"{count} {_plural(count, 'shipment')}"
    if need and start is not None and end is not None:
        label = _window_label(request, start, end, multi_day)
        who = _skill_phrase(need, plural=True)
        text = (
            f"{label}: {shipments} late waiting for {who} "
            f"(cover met); longest wait {longest_wait} min"
        )
    else:
        # Nothing queued: the tasks and customs time outlast the SLA.
        start = end = None
        text = f"{shipments} late without waiting: the work outlasts the SLA"

    return Explanation(
        kind="late_queue",
        text=text,
        start=start,
        end=end,
        data={
            "skill": need or None,
            "late_shipments": count,
            "longest_wait_min": longest_wait,
            "impact": sum(blocker.lateness for blocker in group),
        },
    )


# --------------------------------------------------------------------------
# Unscheduled shipments


def _unscheduled_explanations(
    request: Request, roster: Sequence[RosterShift], unscheduled: Sequence[Unscheduled]
) -> list[Explanation]:
    """One line per reason and what is missing."""
    weights = request.settings.weights
    shipments = {shipment.id: shipment for shipment in request.shipments}
    rostered_roles = _rostered(request, roster)

    groups: dict[tuple[str, str], list[Shipment]] = defaultdict(list)
    for item in unscheduled:
        shipment = shipments.get(item.shipment_id)
        if shipment is None:
            continue
        cause = _missing_phrase(request, item.reason, shipment, rostered_roles)
        groups[(item.reason, cause)].append(shipment)

    explanations = []
    for (reason, cause), group in groups.items():
        count = len(group)
        by_priority = Counter(shipment.priority.value for shipment in group)
        impact = weights.unscheduled * sum(
            weights.priority(shipment.priority) for shipment in group
        )
        explanations.append(
            Explanation(
                kind="unscheduled",
                text=f"{count} {_plural(count, 'shipment')} unscheduled: {cause}",
                data={
                    "reason": reason,
                    "shipments": count,
                    "by_priority": dict(sorted(by_priority.items())),
                    "impact": impact,
                },
            )
        )
    return explanations


def _rostered(request: Request, roster: Sequence[RosterShift]) -> set[str]:
    """Roles and skills of the people with a shift in the roster."""
    people = {person.id: person for person in request.staff}
    held: set[str] = set()
    for shift in roster:
        person = people.get(shift.person_id)
        if person is not None:
            held.add(person.role.value)
            held.update(person.skills)
    return held


def _missing_phrase(
    request: Request, reason: str, shipment: Shipment, rostered: set[str]
) -> str:
    """What an unscheduled shipment lacks, as the dispatcher would say it."""
    if reason == "no_licensed_broker":
        what = shipment.commodity
        if what == "general":
            what = shipment.regime.value
        return f"no broker licensed for {what.replace('_', ' ')} on shift"
    if reason == "no_clerk":
        if shipment.compliance_required and "compliance" not in rostered:
            return "no one with the compliance skill on shift"
        if shipment.language is not None and "clerk" in rostered:
            return f"no clerk reading {shipment.language} on shift"
        return "no clerk on shift"
    if reason == "no_capable_door":
        return _door_phrase(request, shipment)
    if reason == "no_time_left":
        return "no time left in the horizon"
    return "cancelled"


def _door_phrase(request: Request, shipment: Shipment) -> str:
    """The door a shipment could not get: one for its truck, or an exam door."""
    loads = {load.id: load for load in request.loads}
    has_exam_door = any(DoorCapability.exam in d.capabilities for d in request.doors)
    if shipment.lane == Lane.physical and not has_exam_door:
        return "no door able to host an exam"
    load = loads.get(shipment.load_id or "")
    if load is not None and load.requirements:
        needs = ", ".join(cap.value.replace("_", " ") for cap in load.requirements)
        return f"no dock door for its truck ({needs})"
    return "no dock door for its truck"


# --------------------------------------------------------------------------
# Busy doors


def _door_explanations(
    request: Request,
    tasks: Sequence[Task],
    door_blockers: list[_Blocker],
    multi_day: bool,
) -> list[Explanation]:
    """Doors busy at least `BUSY_SHARE` over `MIN_BUSY_WINDOW_MIN` or more."""
    tz = request.site.timezone
    slot_min = request.settings.interval_min
    horizon_start = to_utc(local_midnight(request.horizon.start_date, tz))
    num_slots = request.horizon.days * 24 * 60 // slot_min
    eta = {load.id: load.eta for load in request.loads}

    busy: dict[str, list[int]] = defaultdict(lambda: [0] * num_slots)
    door_tasks: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        if task.door_id is None:
            continue
        door_tasks[task.door_id].append(task)
        _add_busy(busy[task.door_id], horizon_start, slot_min, task)

    explanations = []
    doors = {door.id: door for door in request.doors}
    for door_id, slots in sorted(busy.items()):
        for first, last in _busy_runs(slots, slot_min):
            start = add_minutes(horizon_start, first * slot_min)
            end = add_minutes(horizon_start, (last + 1) * slot_min)
            share = sum(slots[first : last + 1]) / ((last - first + 1) * slot_min)
            waits = [
                minutes_between(eta[_load_of(task)], task.start)
                for task in door_tasks[door_id]
                if task.kind == TaskKind.unload
                and _load_of(task) in eta
                and start <= to_utc(task.start) < end
            ]
            late = [
                b
                for b in door_blockers
                if b.need == f"door:{door_id}" and start <= b.start < end
            ]
            if not any(waits) and not late:
                continue  # busy without a queue is a door well used
            explanations.append(
                _door_explanation(
                    request,
                    doors.get(door_id),
                    door_id,
                    (start, end),
                    share,
                    waits,
                    late,
                    multi_day,
                )
            )
    return explanations


def _load_of(task: Task) -> str:
    return task.load_id or task.id.rsplit(":", 1)[0]


def _add_busy(
    slots: list[int], horizon_start: datetime, slot_min: int, task: Task
) -> None:
    """Add a door task's minutes to the slots it covers."""
    begin = max(0, minutes_between(horizon_start, task.start))
    finish = min(len(slots) * slot_min, minutes_between(horizon_start, task.end))
    minute = begin
    while minute < finish:
        slot = minute // slot_min
        slot_end = min(finish, (slot + 1) * slot_min)
        slots[slot] += slot_end - minute
        minute = slot_end


def _busy_runs(slots: list[int], slot_min: int) -> list[tuple[int, int]]:
    """Runs of slots at least `BUSY_SHARE` busy lasting the minimum window."""
    runs = []
    first: int | None = None
    for index, minutes in enumerate([*slots, 0]):
        if minutes >= BUSY_SHARE * slot_min:
            first = index if first is None else first
            continue
        if first is not None and (index - first) * slot_min >= MIN_BUSY_WINDOW_MIN:
            runs.append((first, index - 1))
        first = None
    return runs


def _door_explanation(
    request: Request,
    door: Door | None,
    door_id: str,
    window: tuple[datetime, datetime],
    share: float,
    waits: list[int],
    late: list[_Blocker],
    multi_day: bool,
) -> Explanation:
    """One busy window of one door, with truck waiting and late shipments."""
    start, end = window
    special = [
        cap.value.replace("_", " ")
        for cap in (door.capabilities if door else [])
        if cap != DoorCapability.standard
    ]
    name = f"door {door_id}" + (f" ({', '.join(special)})" if special else "")
    percent = math.floor(share * 100)
    text = f"{name} busy {percent} % {_window_label(request, start, end, multi_day)}"
    mean_wait = round(sum(waits) / len(waits)) if waits else 0
    if waits:
        text += f"; trucks waited {mean_wait} min on average"
    if late:
        text += f"; {len(late)} {_plural(len(late), 'shipment')} late because of it"
    return Explanation(
        kind="door_busy",
        text=text,
        start=start,
        end=end,
        data={
            "door_id": door_id,
            "busy_share": round(share, 4),
            "trucks": len(waits),
            "mean_wait_min": mean_wait,
            "late_shipments": len(late),
            "impact": sum(b.lateness for b in late) + sum(waits),
        },
    )


# --------------------------------------------------------------------------
# Wording


def _shortfall_explanation(
    request: Request, window: _Window, multi_day: bool, impact: int
) -> Explanation:
    label = _window_label(request, window.start, window.end, multi_day)
    who = _skill_phrase(window.skill, plural=window.missing != 1)
    # A window whose shortfall varies says so rather than overstate it.
    up_to = "up to " if window.least_missing < window.missing else ""
    text = f"{label}: {up_to}{window.missing} {who} short"
    if window.late_shipments:
        count = window.late_shipments
        text += f"; {count} {_plural(count, 'shipment')} late because of it"
    return Explanation(
        kind="shortfall",
        text=text,
        start=window.start,
        end=window.end,
        data={
            "skill": window.skill,
            "missing": window.missing,
            "late_shipments": window.late_shipments,
            "impact": impact,
        },
    )


def _skill_phrase(skill: str, plural: bool) -> str:
    """A skill as people: `commodity:pharma` -> pharma-licensed brokers."""
    if skill in ("broker", "clerk"):
        return skill + ("s" if plural else "")
    if skill.startswith(("commodity:", "regime:")):
        what = skill.split(":", 1)[1].replace("_", "-")
        return f"{what}-licensed broker" + ("s" if plural else "")
    if skill == "compliance":
        return "compliance reviewer" + ("s" if plural else "")
    return ("people" if plural else "person") + f" with skill {skill}"


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def _window_label(
    request: Request, start: datetime, end: datetime, multi_day: bool
) -> str:
    """`14:00-17:00`, with the weekday on a horizon of several days.

    A window ending at local midnight ends at `24:00`; one lasting a day or
    more names the weekday of its end too.
    """
    tz = zone(request.site.timezone)
    local_start = start.astimezone(tz)
    local_end = end.astimezone(tz)
    end_clock = local_end.strftime("%H:%M")
    if end_clock == "00:00" and local_end.date() == local_start.date() + timedelta(1):
        end_clock = "24:00"
    label = f"{local_start:%H:%M}-{end_clock}"
    if end - start >= timedelta(days=1):
        end_day = _WEEKDAY_NAMES[local_end.weekday()]
        label = f"{local_start:%H:%M}-{end_day} {local_end:%H:%M}"
    if multi_day or end - start >= timedelta(days=1):
        label = f"{_WEEKDAY_NAMES[local_start.weekday()]} {label}"
    return label


def _overlap_min(
    a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime
) -> int:
    start, end = max(a_start, b_start), min(a_end, b_end)
    return minutes_between(start, end) if end > start else 0


def _ranked(explanations: list[Explanation]) -> list[Explanation]:
    """Largest impact first; then earlier windows; then by text."""

    def key(item: Explanation) -> tuple[int, float, str]:
        when = item.start.timestamp() if item.start is not None else 0.0
        return (-int(item.data.get("impact", 0)), when, item.text)

    return sorted(explanations, key=key)
