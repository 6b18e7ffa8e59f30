"""Events applied to a plan's request at a re-planning time T.

`apply_events` reads the events of a re-plan against the previous plan:
which previous tasks an event says did not start as planned (a late
truck, a door outage, an absence, late documents, a customs decision),
which were reported started or finished, which are pinned, and the
effective request of the revision (the parent's request with the events
applied) with its roster (the parent's plus call-ins).

Absences are not written into the request: the roster rules read a
person's unavailability as a reason the shift should never have been
planned, and the shift did start. They are kept in `Applied.absences`
and the revision carries its events.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from scheduler.events import (
    Cancelled,
    CustomsDocumentary,
    CustomsExam,
    CustomsReleased,
    DocumentsLate,
    DoorOutage,
    EtaChanged,
    LoadAdded,
    PersonAbsent,
    PersonCalledIn,
    ShipmentAdded,
    TaskFinished,
    TaskPinned,
    TaskStarted,
    TaskUnpinned,
    TypedEvent,
)
from scheduler.models import Interval, Lane, Plan, Request, RosterShift, Task

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass
class Applied:
    """What the events mean for the re-plan.

    Parameters
    ----------
    request
        The effective request.
    roster
        The roster to plan on: the parent's shifts plus call-ins.
    causes
        Per task id: the events that changed what it may do (it did not
        start as planned, or its shipment changed).
    started, finished
        Reports per task id.
    pinned
        Task ids pinned after the events.
    absences
        Per person id: absent intervals ``(start, end or None)``.
    reply_deadlines
        Per shipment id: the latest end of its response to customs.
    cancelled
        Ids of shipments and loads cancelled, with their event.
    """

    request: Request
    roster: list[RosterShift]
    causes: dict[str, list[TypedEvent]] = field(default_factory=dict)
    started: dict[str, TaskStarted] = field(default_factory=dict)
    finished: dict[str, TaskFinished] = field(default_factory=dict)
    pinned: set[str] = field(default_factory=set)
    absences: dict[str, list[tuple[datetime, datetime | None]]] = field(
        default_factory=dict
    )
    reply_deadlines: dict[str, datetime] = field(default_factory=dict)
    cancelled: dict[str, TypedEvent] = field(default_factory=dict)
    subject_events: dict[str, list[TypedEvent]] = field(default_factory=dict)


def apply_events(plan: Plan, events: list[TypedEvent], at: datetime) -> Applied:
    """The effective request, roster and readings of the events.

    Raises
    ------
    ValueError
        When an event names something the plan does not know, or comes
        after the re-planning time.
    """
    request = plan.request.model_copy(deep=True)
    applied = Applied(
        request=request, roster=list(plan.roster), pinned=set(plan.pinned_task_ids)
    )
    tasks = {task.id: task for task in plan.tasks}
    started_before = _reported_started(events, tasks)
    by_shipment: dict[str, list[Task]] = defaultdict(list)
    for task in plan.tasks:
        if task.shipment_id is not None:
            by_shipment[task.shipment_id].append(task)

    for item in events:
        if item.event.at > at:
            raise ValueError(
                f"events[{item.position}].at: must be at or before the re-planning "
                f"time {at.isoformat()}"
            )
        applied.subject_events.setdefault(item.subject_id, []).append(item)
        _apply_one(applied, item, tasks, by_shipment, started_before, at)
    return applied


def _reported_started(events: list[TypedEvent], tasks: dict[str, Task]) -> set[str]:
    return {
        item.subject_id
        for item in events
        if isinstance(item.payload, TaskStarted | TaskFinished)
    }


def _cause(applied: Applied, task_id: str, item: TypedEvent) -> None:
    applied.causes.setdefault(task_id, []).append(item)


def _apply_one(
    applied: Applied,
    item: TypedEvent,
    tasks: dict[str, Task],
    by_shipment: dict[str, list[Task]],
    reported: set[str],
    at: datetime,
) -> None:
    """Apply one event to the request and record whom it concerns."""
    request, payload, subject = applied.request, item.payload, item.subject_id
    field_name = f"events[{item.position}].subject_id"
    shipments = {s.id: s for s in request.shipments}
    loads = {ld.id: ld for ld in request.loads}

    if isinstance(payload, LoadAdded):
        if subject in loads or payload.load.id != subject:
            raise ValueError(
                f"{field_name}: '{subject}' must be a new load id, as in the payload"
            )
        request.loads.append(payload.load)
        request.shipments.extend(payload.shipments)
    elif isinstance(payload, ShipmentAdded):
        if subject in shipments or payload.shipment.id != subject:
            raise ValueError(
                f"{field_name}: '{subject}' must be the new shipment id of the payload"
            )
        if (
            payload.shipment.load_id is not None
            and payload.shipment.load_id not in loads
        ):
            raise ValueError(
                f"events[{item.position}].payload.shipment.load_id: unknown load"
            )
        request.shipments.append(payload.shipment)
    elif isinstance(payload, Cancelled):
        _cancel(applied, item, shipments, loads)
    elif isinstance(payload, EtaChanged):
        load = _known(loads, subject, field_name, "load")
        unload = f"{subject}:unload"
        exams = {f"{s.id}:exam" for s in shipments.values() if s.load_id == subject}
        if unload in reported or exams & reported:
            logger.info(
                "replan: %s ignored: the unload was reported started", item.label()
            )
            return
        load.eta = payload.eta
        planned = tasks.get(unload)
        if planned is not None:
            _cause(applied, unload, item)
    elif isinstance(payload, DocumentsLate):
        shipment = _known(shipments, subject, field_name, "shipment")
        if any(task_id.startswith(f"{subject}:") for task_id in reported):
            # Work after the review was reported: the documents were there.
            logger.info(
                "replan: %s ignored: the review was reported started", item.label()
            )
            return
        shipment.documents_ready_at = payload.documents_ready_at
        _cause(applied, f"{subject}:review", item)
    elif isinstance(payload, CustomsReleased | CustomsDocumentary | CustomsExam):
        shipment = _known(shipments, subject, field_name, "shipment")
        if {f"{subject}:respond", f"{subject}:exam"} & reported:
            logger.info(
                "replan: %s ignored: customs work was reported started", item.label()
            )
            return
        if isinstance(payload, CustomsReleased):
            shipment.lane, shipment.exam_window = Lane.green, None
        elif isinstance(payload, CustomsDocumentary):
            shipment.lane, shipment.exam_window = Lane.documentary, None
            if payload.reply_deadline is not None:
                applied.reply_deadlines[subject] = payload.reply_deadline
        else:
            shipment.lane, shipment.exam_window = Lane.physical, payload.window
        for kind in ("respond", "exam"):
            _cause(applied, f"{subject}:{kind}", item)
    elif isinstance(payload, PersonAbsent):
        _known({p.id: p for p in request.staff}, subject, field_name, "person")
        applied.absences.setdefault(subject, []).append((payload.start, payload.end))
        for task in tasks.values():
            if (
                task.person_id == subject
                and task.start >= payload.start
                and (payload.end is None or task.start < payload.end)
            ):
                _cause(applied, task.id, item)
    elif isinstance(payload, PersonCalledIn):
        _call_in(applied, item, payload)
    elif isinstance(payload, DoorOutage):
        _outage(applied, item, payload, tasks, reported, at)
    elif isinstance(payload, TaskStarted):
        _known(tasks, subject, field_name, "task of the plan")
        applied.started[subject] = payload
    elif isinstance(payload, TaskFinished):
        _known(tasks, subject, field_name, "task of the plan")
        applied.finished[subject] = payload
    elif isinstance(payload, TaskPinned):
        _known(tasks, subject, field_name, "task of the plan")
        applied.pinned.add(subject)
    elif isinstance(payload, TaskUnpinned):
        applied.pinned.discard(subject)


def _known(items: Mapping[str, _T], key: str, field_name: str, what: str) -> _T:
    if key not in items:
        raise ValueError(f"{field_name}: '{key}' is not a {what} of this plan")
    return items[key]


def _cancel(
    applied: Applied,
    item: TypedEvent,
    shipments: Mapping[str, object],
    loads: Mapping[str, object],
) -> None:
    request, subject = applied.request, item.subject_id
    field_name = f"events[{item.position}].subject_id"
    if item.type == "load.cancelled":
        _known(loads, subject, field_name, "load")
        gone = {s.id for s in request.shipments if s.load_id == subject}
        request.loads = [ld for ld in request.loads if ld.id != subject]
        applied.cancelled[subject] = item
    else:
        _known(shipments, subject, field_name, "shipment")
        gone = {subject}
    request.shipments = [s for s in request.shipments if s.id not in gone]
    for shipment_id in gone:
        applied.cancelled[shipment_id] = item


def _call_in(applied: Applied, item: TypedEvent, payload: PersonCalledIn) -> None:
    request, subject = applied.request, item.subject_id
    people = {p.id: p for p in request.staff}
    person = people.get(subject)
    if person is None or person.on_call is None:
        raise ValueError(
            f"events[{item.position}].subject_id: '{subject}' is not in the "
            "request's on-call or agency pool"
        )
    if payload.template_id not in {t.id for t in request.shift_templates}:
        raise ValueError(
            f"events[{item.position}].payload.template_id: unknown template "
            f"'{payload.template_id}'"
        )
    applied.roster.append(
        RosterShift(
            person_id=subject,
            date=payload.date,
            template_id=payload.template_id,
            post=payload.post,
            call_in=True,
        )
    )


def _outage(
    applied: Applied,
    item: TypedEvent,
    payload: DoorOutage,
    tasks: dict[str, Task],
    reported: set[str],
    at: datetime,
) -> None:
    """Take a door out of service, after the work reported started on it."""
    doors = {d.id: d for d in applied.request.doors}
    door = _known(doors, item.subject_id, f"events[{item.position}].subject_id", "door")
    start = payload.start
    for task in tasks.values():
        if task.door_id != item.subject_id:
            continue
        overlaps = task.start < payload.end and payload.start < task.end
        if not overlaps:
            continue
        if task.id in reported or task.start < min(payload.start, at):
            # Work that began before the outage finishes; the outage follows.
            start = max(start, task.end)
        else:
            _cause(applied, task.id, item)
    if start < payload.end:
        door.outages.append(
            Interval(start=start, end=payload.end, reason="out of service")
        )
