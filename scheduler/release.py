"""Release, SLA deadline and lateness of each shipment of a task plan.

One definition, read from `docs/task-rules.md` ("Release and SLA"), shared
by the task engine's plan assembly, the KPIs and the report. The plan
validator does not use it: it recomputes the same values on its own.

A shipment's goods are in when its load's unload ends, or at the start of
the horizon when no unload is needed (no load, already in the warehouse, or
`unload` listed in `done_tasks`). A task listed in `done_tasks` "ends" at
the start of the horizon.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from scheduler.models import Lane, Load, Request, Shipment, Task, TaskKind
from scheduler.sitetime import add_minutes, local_midnight, minutes_between, to_utc

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShipmentTimes:
    """The release and SLA figures of one scheduled shipment.

    Parameters
    ----------
    actionable
        When the SLA clock starts: documents ready and goods at the door
        (or the start of the horizon when the goods are already in).
    deadline
        The shipment's `sla_deadline`, or `actionable` plus the SLA of its
        priority.
    goods_in
        End of the load's unload, or the start of the horizon.
    release
        The later of `goods_in` and the end of the last customs decision.
    customs_wait_min
        Minutes spent waiting on customs, not counted as lateness.
    late_min
        Minutes released after the deadline, less `customs_wait_min`,
        never negative.
    """

    actionable: datetime
    deadline: datetime
    goods_in: datetime
    release: datetime
    customs_wait_min: int
    late_min: int


def needs_unload(shipment: Shipment) -> bool:
    """Whether the shipment's goods wait on its load's unload."""
    return (
        shipment.load_id is not None
        and not shipment.in_warehouse
        and TaskKind.unload not in shipment.done_tasks
    )


def shipment_times(request: Request, tasks: Iterable[Task]) -> dict[str, ShipmentTimes]:
    """Release, deadline and lateness of every shipment the tasks complete.

    Parameters
    ----------
    request
        The request the tasks were planned for.
    tasks
        The plan's tasks; only their ids and end instants are read.

    Returns
    -------
    dict[str, ShipmentTimes]
        Keyed by shipment id, instants in UTC. A shipment missing a task it needs (an
        unscheduled one) is left out.
    """
    # In UTC: two instants in one zoneinfo zone compare by wall clock, which
    # is wrong in the repeated hour of a fall-back night.
    ends = {task.id: to_utc(task.end) for task in tasks}
    horizon_start = to_utc(
        local_midnight(request.horizon.start_date, request.site.timezone)
    )
    loads = {load.id: load for load in request.loads}

    result: dict[str, ShipmentTimes] = {}
    for shipment in request.shipments:
        times = _times_of(request, shipment, ends, horizon_start, loads)
        if times is not None:
            result[shipment.id] = times
    logger.debug("release: computed times of %d shipments", len(result))
    return result


def _times_of(
    request: Request,
    shipment: Shipment,
    ends: dict[str, datetime],
    horizon_start: datetime,
    loads: dict[str, Load],
) -> ShipmentTimes | None:
    """The figures of one shipment, or None when a task it needs is missing."""
    response_min = request.labour_standards.customs_response_min

    def end_of(kind: TaskKind) -> datetime | None:
        if kind in shipment.done_tasks:
            return horizon_start
        return ends.get(f"{shipment.id}:{kind.value}")

    # Goods in: the unload of its load, unless nothing needs unloading.
    goods_in: datetime | None = horizon_start
    if needs_unload(shipment):
        goods_in = ends.get(f"{shipment.load_id}:unload")
    declare_end = end_of(TaskKind.declare)
    lane = shipment.lane or Lane.green
    last_kind = {
        Lane.green: TaskKind.declare,
        Lane.documentary: TaskKind.respond,
        Lane.physical: TaskKind.exam,
    }[lane]
    last_end = end_of(last_kind)
    if goods_in is None or declare_end is None or last_end is None:
        return None

    customs_done = add_minutes(last_end, response_min)
    release = max(goods_in, customs_done)

    # The SLA clock starts when both the papers and the goods are there.
    goods_at_door = horizon_start
    if needs_unload(shipment) and shipment.load_id is not None:
        goods_at_door = to_utc(loads[shipment.load_id].eta)
    actionable = max(to_utc(shipment.documents_ready_at), goods_at_door)
    if shipment.sla_deadline is not None:
        deadline = to_utc(shipment.sla_deadline)
    else:
        deadline = add_minutes(actionable, request.settings.sla.of(shipment.priority))

    # Customs time is not the site's fault: one response per decision, and
    # the wait for an exam appointment customs set later than we could go.
    decisions = 1 if lane == Lane.green else 2
    customs_wait_min = response_min * decisions
    if lane == Lane.physical and shipment.exam_window is not None:
        earliest_exam = add_minutes(declare_end, response_min)
        appointment_wait = minutes_between(earliest_exam, shipment.exam_window.start)
        customs_wait_min += max(0, appointment_wait)

    late_min = max(0, minutes_between(deadline, release) - customs_wait_min)
    return ShipmentTimes(
        actionable=actionable,
        deadline=deadline,
        goods_in=goods_in,
        release=release,
        customs_wait_min=customs_wait_min,
        late_min=late_min,
    )
