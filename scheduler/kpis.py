"""Key figures of a task plan, as plain JSON values for the plan and report.

Release, SLA deadline and lateness come from `scheduler.release`, the one
definition the engine and the report share.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from scheduler.dock import door_open_intervals
from scheduler.models import (
    Priority,
    Request,
    RosterShift,
    Task,
    TaskKind,
    Unscheduled,
)
from scheduler.release import ShipmentTimes, shipment_times
from scheduler.shifts import instance
from scheduler.sitetime import local_midnight, minutes_between

logger = logging.getLogger(__name__)

PERCENTILES = (50, 90, 99)


def compute_kpis(
    request: Request,
    roster: Sequence[RosterShift],
    tasks: Sequence[Task],
    unscheduled: Sequence[Unscheduled],
) -> dict[str, Any]:
    """The plan's key figures.

    Parameters
    ----------
    request
        The request the plan was made for.
    roster
        The plan's roster; its shifts give the rostered minutes.
    tasks
        The plan's tasks.
    unscheduled
        The shipments the plan does not serve.

    Returns
    -------
    dict
        Plain JSON values:

        - ``shipments``: ``total``, ``scheduled``, ``unscheduled`` and
          ``released`` (scheduled shipments released by the end of the
          horizon).
        - ``sla``: per priority and ``all``: ``shipments``, ``met``
          (scheduled with ``late_min == 0``), ``missed`` (late or
          unscheduled), ``unscheduled`` and ``attainment`` = met /
          shipments (``None`` when there are none).
        - ``lateness_min``: per priority and ``all``, over scheduled
          shipments: ``count``, ``p50``, ``p90``, ``p99`` and ``max`` of
          ``late_min``. A percentile is the nearest rank: the
          ``ceil(p / 100 * count)``-th smallest value (``None`` when empty).
        - ``utilisation``: ``roles``: per role, ``task_min`` (sum of
          ``work_min`` of the tasks its people do), ``rostered_min``
          (worked minutes of its shifts, breaks out) and ``utilisation`` =
          task_min / rostered_min; ``doors``: per door, ``busy_min``
          (minutes of its tasks), ``open_min`` (open minutes in the
          horizon, outages out) and ``utilisation`` = busy_min / open_min.
        - ``door_waiting_min``: over unloads, ``start - load.eta`` in
          minutes: ``trucks``, ``mean``, ``p90``, ``max``.
        - ``unscheduled_by_reason``: shipments per reason.
    """
    unscheduled_ids = {item.shipment_id for item in unscheduled}
    times = shipment_times(request, tasks)
    horizon_end = local_midnight(
        request.horizon.start_date + timedelta(days=request.horizon.days),
        request.site.timezone,
    )
    scheduled = [s for s in request.shipments if s.id not in unscheduled_ids]
    released = sum(
        1 for s in scheduled if s.id in times and times[s.id].release <= horizon_end
    )

    kpis: dict[str, Any] = {
        "shipments": {
            "total": len(request.shipments),
            "scheduled": len(scheduled),
            "unscheduled": len(request.shipments) - len(scheduled),
            "released": released,
        },
        "sla": _sla(request, unscheduled_ids, times),
        "lateness_min": _lateness(request, unscheduled_ids, times),
        "utilisation": {
            "roles": _role_utilisation(request, roster, tasks),
            "doors": _door_utilisation(request, tasks),
        },
        "door_waiting_min": _door_waiting(request, tasks),
        "unscheduled_by_reason": dict(
            sorted(Counter(item.reason for item in unscheduled).items())
        ),
    }
    logger.debug("kpis: %d shipments, %d tasks", len(request.shipments), len(tasks))
    return kpis


def percentile(values: Sequence[int], pct: int) -> int | None:
    """Nearest-rank percentile of integer values, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator > 0 else None


def _groups() -> list[str]:
    return [p.value for p in Priority] + ["all"]


def _sla(
    request: Request, unscheduled_ids: set[str], times: dict[str, ShipmentTimes]
) -> dict[str, Any]:
    """Met, missed and attainment per priority; unscheduled counts as missed."""
    counts = {group: Counter[str]() for group in _groups()}
    for shipment in request.shipments:
        if shipment.id in unscheduled_ids:
            outcome = "unscheduled"
        elif shipment.id in times and times[shipment.id].late_min == 0:
            outcome = "met"
        else:
            outcome = "late"
        for group in (shipment.priority.value, "all"):
            counts[group]["shipments"] += 1
            counts[group][outcome] += 1

    return {
        group: {
            "shipments": c["shipments"],
            "met": c["met"],
            "missed": c["late"] + c["unscheduled"],
            "unscheduled": c["unscheduled"],
            "attainment": _ratio(c["met"], c["shipments"]),
        }
        for group, c in counts.items()
    }


def _lateness(
    request: Request, unscheduled_ids: set[str], times: dict[str, ShipmentTimes]
) -> dict[str, Any]:
    """Percentiles of late_min over scheduled shipments, per priority."""
    late: dict[str, list[int]] = {group: [] for group in _groups()}
    for shipment in request.shipments:
        if shipment.id in unscheduled_ids or shipment.id not in times:
            continue
        minutes = times[shipment.id].late_min
        late[shipment.priority.value].append(minutes)
        late["all"].append(minutes)

    result: dict[str, Any] = {}
    for group, values in late.items():
        summary: dict[str, Any] = {"count": len(values)}
        for pct in PERCENTILES:
            summary[f"p{pct}"] = percentile(values, pct)
        summary["max"] = max(values) if values else None
        result[group] = summary
    return result


def _role_utilisation(
    request: Request, roster: Sequence[RosterShift], tasks: Sequence[Task]
) -> dict[str, Any]:
    """Task minutes over worked rostered minutes, per role."""
    tz = request.site.timezone
    role_of = {person.id: person.role.value for person in request.staff}
    templates = {template.id: template for template in request.shift_templates}
    task_min: Counter[str] = Counter()
    rostered_min: Counter[str] = Counter()
    for task in tasks:
        if task.person_id in role_of:
            task_min[role_of[task.person_id]] += task.work_min
    for shift in roster:
        template = templates.get(shift.template_id)
        if shift.person_id not in role_of or template is None:
            continue
        worked = instance(template, shift.date, tz, shift.extension_min).worked_min
        rostered_min[role_of[shift.person_id]] += worked

    return {
        role: {
            "task_min": task_min[role],
            "rostered_min": rostered_min[role],
            "utilisation": _ratio(task_min[role], rostered_min[role]),
        }
        for role in sorted(set(role_of.values()))
    }


def _door_utilisation(request: Request, tasks: Sequence[Task]) -> dict[str, Any]:
    """Busy minutes over open minutes in the horizon, per door."""
    busy_min: Counter[str] = Counter()
    for task in tasks:
        if task.door_id is not None:
            busy_min[task.door_id] += minutes_between(task.start, task.end)

    result: dict[str, Any] = {}
    for door in request.doors:
        open_min = sum(
            minutes_between(start, end)
            for start, end in door_open_intervals(request, door)
        )
        result[door.id] = {
            "busy_min": busy_min[door.id],
            "open_min": open_min,
            "utilisation": _ratio(busy_min[door.id], open_min),
        }
    return result


def _door_waiting(request: Request, tasks: Sequence[Task]) -> dict[str, Any]:
    """Minutes from each truck's ETA to the start of its unload."""
    eta = {load.id: load.eta for load in request.loads}
    waits = []
    for task in tasks:
        load_id = task.load_id or task.id.rsplit(":", 1)[0]
        if task.kind == TaskKind.unload and load_id in eta:
            waits.append(minutes_between(eta[load_id], task.start))
    return {
        "trucks": len(waits),
        "mean": round(sum(waits) / len(waits), 1) if waits else None,
        "p90": percentile(waits, 90),
        "max": max(waits) if waits else None,
    }
