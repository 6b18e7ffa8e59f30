"""The dock schedule: the door bookings a warehouse system polls.

Every door task of a task plan (an unload, or an exam held at a door) is
listed under each local date at the site that its half-open interval
`[start, end)` touches, so a truck unloading 23:30-00:30 shows on both
dates and one ending exactly at midnight shows on the first only. A slot
carries door, time window, load, shipments and pallets; never a person.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from scheduler.models import WEEKDAYS, DockSlot, Door, Request, Task, TaskKind
from scheduler.sitetime import (
    local_date_of,
    local_instant,
    local_midnight,
    parse_hhmm,
    to_utc,
)

logger = logging.getLogger(__name__)

_DOOR_KINDS = (TaskKind.unload, TaskKind.exam)


def dock_schedule(request: Request, tasks: Iterable[Task]) -> dict[str, list[DockSlot]]:
    """Door bookings of a task plan, keyed by local date (`YYYY-MM-DD`).

    Parameters
    ----------
    request
        The request the tasks were planned for; it supplies the shipments
        and pallets of each slot.
    tasks
        The plan's tasks; those without a door are left out.

    Returns
    -------
    dict[str, list[DockSlot]]
        Dates in order; each date's slots sorted by start, then door.
    """
    tz = request.site.timezone
    shipments_of_load: dict[str, list[str]] = defaultdict(list)
    pallets_of_load: dict[str, int] = defaultdict(int)
    for shipment in request.shipments:
        if shipment.load_id is not None:
            shipments_of_load[shipment.load_id].append(shipment.id)
            pallets_of_load[shipment.load_id] += shipment.pallets
    load_pallets = {load.id: load.pallets for load in request.loads}
    shipments = {shipment.id: shipment for shipment in request.shipments}

    by_date: dict[date, list[DockSlot]] = defaultdict(list)
    for task in tasks:
        if task.kind not in _DOOR_KINDS or task.door_id is None:
            continue
        if task.kind == TaskKind.unload:
            load_id = task.load_id or task.id.rsplit(":", 1)[0]
            own_pallets = load_pallets.get(load_id)
            slot = DockSlot(
                door_id=task.door_id,
                load_id=load_id,
                kind=task.kind,
                start=task.start,
                end=task.end,
                shipment_ids=sorted(shipments_of_load.get(load_id, [])),
                pallets=(
                    own_pallets
                    if own_pallets is not None
                    else pallets_of_load.get(load_id, 0)
                ),
            )
        else:
            examined = shipments.get(task.shipment_id or "")
            slot = DockSlot(
                door_id=task.door_id,
                load_id=examined.load_id if examined else None,
                kind=task.kind,
                start=task.start,
                end=task.end,
                shipment_ids=[examined.id] if examined else [],
                pallets=examined.pallets if examined else 0,
            )
        for day in dates_touched(task.start, task.end, tz):
            by_date[day].append(slot)

    schedule = {
        day.isoformat(): sorted(
            slots, key=lambda s: (s.start.timestamp(), s.door_id, s.kind.value)
        )
        for day, slots in sorted(by_date.items())
    }
    logger.debug("dock schedule: %d dates", len(schedule))
    return schedule


def dates_touched(start: datetime, end: datetime, tz: str) -> list[date]:
    """Local dates the half-open interval `[start, end)` has a minute on."""
    first = local_date_of(start, tz)
    last = local_date_of(end, tz)
    # An end exactly at local midnight does not touch that date.
    if last > first and to_utc(end) <= to_utc(local_midnight(last, tz)):
        last -= timedelta(days=1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def door_open_intervals(
    request: Request, door: Door
) -> list[tuple[datetime, datetime]]:
    """When a door is open inside the horizon: merged, outages taken out.

    Opening hours closing at or before they open run into the next local
    date, so the day before the horizon is read too. A door without
    opening hours is open around the clock. Instants are in UTC, so that
    they compare right in the repeated hour of a fall-back night.
    """
    tz = request.site.timezone
    horizon_start = to_utc(local_midnight(request.horizon.start_date, tz))
    horizon_end = to_utc(
        local_midnight(
            request.horizon.start_date + timedelta(days=request.horizon.days), tz
        )
    )
    if not door.opening_hours:
        spans = [(horizon_start, horizon_end)]
    else:
        spans = []
        first = request.horizon.start_date - timedelta(days=1)
        for offset in range(request.horizon.days + 1):
            day = first + timedelta(days=offset)
            for hours in door.opening_hours:
                if WEEKDAYS[day.weekday()] not in hours.weekdays:
                    continue
                open_clock = parse_hhmm(hours.open_local)
                close_clock = parse_hhmm(hours.close_local)
                close_day = day if close_clock > open_clock else day + timedelta(1)
                spans.append(
                    (
                        to_utc(local_instant(day, open_clock, tz)),
                        to_utc(local_instant(close_day, close_clock, tz)),
                    )
                )

    clipped = [
        (max(start, horizon_start), min(end, horizon_end))
        for start, end in spans
        if end > horizon_start and start < horizon_end
    ]
    merged = _merge(clipped)
    for outage in door.outages:
        merged = _cut(merged, to_utc(outage.start), to_utc(outage.end))
    return merged


def _merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Union of intervals, sorted, touching ones joined."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _cut(
    spans: list[tuple[datetime, datetime]], cut_start: datetime, cut_end: datetime
) -> list[tuple[datetime, datetime]]:
    """The intervals less `[cut_start, cut_end)`."""
    result = []
    for start, end in spans:
        if end <= cut_start or start >= cut_end:
            result.append((start, end))
            continue
        if start < cut_start:
            result.append((start, cut_start))
        if end > cut_end:
            result.append((cut_end, end))
    return result
