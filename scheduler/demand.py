"""Demand: forecast -> workload minutes -> headcount -> cover requirements.

A forecast item says that `N` similar shipments arrive over ``[s, e)``.
Labour standards turn one such shipment into minutes of work per skill
(post), and the SLA of its priority says how long that work may wait.

Work per shipment (expected values, floats):

- ``"clerk"``: review;
- ``"compliance"``: ``compliance_share x`` compliance review;
- ``"broker"`` (commodity ``general``) or ``"commodity:<commodity>"``
  (a broker licensed for it): declare ``+ documentary x`` respond
  ``+ physical x`` exam, the shares coming from ``lane_mix``;
- unloading is dock-door work (``door_min``), reported but never turned
  into staff cover.

Each task takes ``base + per_pallet x pallets + per_document x documents
+ per_line x lines`` minutes of its labour standard.

SLA slack. A shipment arriving at ``t`` need not be worked at ``t``: its
work is spread uniformly over its slack window ``[t, t + w)`` with::

    lead = staff minutes of one shipment + customs_response_min
    w    = max(interval_min, SLA(priority) - lead)

The lead keeps room after the window for the shipment's own processing and
customs' answer, so work done at the window's end still meets the SLA
deadline. A window running past the horizon's end ``H`` is cut to
``[t, H)``: that work is squeezed into what is left, never lost.

Arrivals are spread uniformly over ``[s, e)`` first, at rate ``r = N / (e -
s)``. The shipments' worth of work done by instant ``x`` is then::

    D(x) = integral over t in [s, e) of r * clip((x - t) / w_t, 0, 1) dt

and a skill with ``m`` minutes per shipment needs ``m * (D(b) - D(a))``
minutes in the interval ``[a, b)``. For windows that end inside the
horizon (``w_t = w``) the integral has the closed form::

    D(x) = r * (R(x - s) - R(x - e)),
    R(v) = 0 for v <= 0,  v**2 / (2 w) for 0 < v <= w,  v - w / 2 for v > w

and for cut windows (``w_t = H - t``, ``x <= H``) it is
``r * ((t2 - t1) - (H - x) * ln((H - t1) / (H - t2)))`` over the arrivals
``[t1, t2)`` with ``t2 <= x``. Spreading moves work in time; it never
creates or loses any inside the horizon.

Worked example (``docs/demand.md`` has it in full): 10 express shipments
over 08:00-09:00 (``r = 1/6`` per minute), SLA 240 min, lead 60 min, so
``w = 180``. By 08:30, ``D = (1/6) * 30**2 / 360 = 0.4167`` shipments are
worked; with 10 review minutes each the 08:00-08:30 interval needs 4.17
clerk minutes, and each interval from 09:00 to 11:00 needs ``(1/6) * 30 *
10 = 16.67``.

Headcount. Persons needed per interval and skill::

    persons = ceil(work_min / (interval_len_min * utilisation_target))

The utilisation target is below 1 because a person on a post is never busy
every minute: arrivals bunch inside an interval, tasks wait on systems,
handovers and walking to the dock take time, and a queue served at full
utilisation grows without bound. The default 0.85 plans for 15 % of that.

Intervals are ``settings.interval_min`` long, aligned to local midnight of
each horizon date (the last interval of a day is cut at the next midnight
when a DST change makes the day not a multiple of the interval). Arrivals
before the horizon count only with the work they leave inside it; arrivals
at or after its end count nowhere.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from scheduler.models import (
    CoverRequirement,
    ForecastItem,
    LabourStandards,
    Request,
    TaskStandard,
)
from scheduler.sitetime import (
    add_minutes,
    local_midnight,
    minutes_between,
    to_utc,
    zone,
)

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

# Items are stacked this many at a time: a block of items x interval
# boundaries stays a few megabytes even for a 31-day horizon.
_ITEMS_PER_BLOCK = 256

# Work minutes are floats; a ratio like 25.5 / 25.5 may come out as
# 1.0000000000000002 and must not round up to two persons.
_CEIL_TOLERANCE = 1e-9


@dataclass(frozen=True)
class ShipmentWork:
    """Expected minutes of one forecast shipment.

    Parameters
    ----------
    staff_min
        Minutes of staff work per skill (post).
    door_min
        Dock-door minutes to unload it.
    lead_min
        Its own staff minutes plus the customs response time: how long
        before its SLA deadline its work must be done.
    """

    staff_min: dict[str, float]
    door_min: float
    lead_min: float


@dataclass(frozen=True)
class Workload:
    """Work minutes per interval and skill, and dock-door minutes.

    Parameters
    ----------
    interval_starts, interval_ends
        The intervals, in the site's time zone, half-open.
    work_min
        Per skill, the staff minutes needed in each interval (floats).
    door_min
        Dock-door minutes of unloading in each interval, not staff cover.
    """

    interval_starts: tuple[datetime, ...]
    interval_ends: tuple[datetime, ...]
    work_min: dict[str, FloatArray]
    door_min: FloatArray

    @property
    def num_intervals(self) -> int:
        return len(self.interval_starts)

    def interval_len_min(self) -> list[int]:
        """Real length of each interval in minutes."""
        return [
            minutes_between(start, end)
            for start, end in zip(self.interval_starts, self.interval_ends, strict=True)
        ]

    def total_work_min(self) -> float:
        """Staff minutes over all intervals and skills."""
        return float(sum(minutes.sum() for minutes in self.work_min.values()))


def task_min(standard: TaskStandard, item: ForecastItem) -> float:
    """Minutes of one task for one shipment of a forecast item."""
    return (
        standard.base_min
        + standard.per_pallet_min * item.pallets_per_shipment
        + standard.per_document_min * item.documents_per_shipment
        + standard.per_line_min * item.lines_per_shipment
    )


def broker_post(commodity: str) -> str:
    """The post a declaration needs: any broker, or one licensed for it."""
    return "broker" if commodity == "general" else f"commodity:{commodity}"


def shipment_work(item: ForecastItem, standards: LabourStandards) -> ShipmentWork:
    """Expected minutes per skill of one shipment of `item`."""
    lanes = standards.lane_mix
    broker_min = (
        task_min(standards.declare, item)
        + lanes.documentary * task_min(standards.respond, item)
        + lanes.physical * task_min(standards.exam, item)
    )
    staff_min = {
        "clerk": task_min(standards.review, item),
        "compliance": item.compliance_share * task_min(standards.compliance, item),
        broker_post(item.commodity): broker_min,
    }
    staff_min = {skill: m for skill, m in staff_min.items() if m > 0}
    return ShipmentWork(
        staff_min=staff_min,
        door_min=task_min(standards.unload, item),
        lead_min=sum(staff_min.values()) + standards.customs_response_min,
    )


def horizon_intervals(request: Request) -> list[tuple[datetime, datetime]]:
    """The planning intervals, aligned to local midnight of each date."""
    tz = request.site.timezone
    step_min = request.settings.interval_min
    intervals = []
    for day in request.horizon.dates():
        start = local_midnight(day, tz)
        day_end = local_midnight(day + timedelta(days=1), tz)
        while start < day_end:
            end = min(add_minutes(start, step_min), day_end)
            intervals.append((start, end))
            start = end
    return intervals


def workload(request: Request) -> Workload:
    """Work minutes per interval and skill derived from the forecast.

    See the module docstring for the formula.
    """
    tz = zone(request.site.timezone)
    intervals = horizon_intervals(request)
    origin = intervals[0][0]
    bounds = np.array(
        [0.0] + [float(minutes_between(origin, end)) for _, end in intervals]
    )

    # Step 1: one row per forecast item: arrivals, window, minutes.
    items = request.forecast
    works = [shipment_work(item, request.labour_standards) for item in items]
    skills = sorted({skill for work in works for skill in work.staff_min})
    starts = np.array([_minutes_from(origin, item.start) for item in items])
    ends = np.array([_minutes_from(origin, item.end) for item in items])
    counts = np.array([item.shipments for item in items], dtype=float)
    windows = np.array(
        [
            max(
                float(request.settings.interval_min),
                request.settings.sla.of(item.priority) - work.lead_min,
            )
            for item, work in zip(items, works, strict=True)
        ]
    )
    per_shipment = np.array(
        [[work.staff_min.get(skill, 0.0) for skill in skills] for work in works]
    ).reshape(len(items), len(skills))
    door_per_shipment = np.array([work.door_min for work in works])

    # Step 2: stack the items' shipments-worth per interval, block by block.
    # Items sorted by arrival make each block touch only the intervals
    # from its first arrival to its last window's end; elsewhere its
    # cumulative work is flat and adds nothing.
    order = np.argsort(starts, kind="stable")
    horizon_end = float(bounds[-1])
    staff = np.zeros((len(intervals), len(skills)))
    door = np.zeros(len(intervals))
    for first in range(0, len(items), _ITEMS_PER_BLOCK):
        block = order[first : first + _ITEMS_PER_BLOCK]
        lo = max(0, int(np.searchsorted(bounds, starts[block].min(), "right")) - 1)
        reach = float((ends[block] + windows[block]).max())
        hi = min(len(bounds) - 1, int(np.searchsorted(bounds, reach, "left")))
        if hi <= lo:
            continue
        cols = bounds[lo : hi + 1]
        rates = counts[block] / (ends[block] - starts[block])
        worked = _worked_by(
            cols, starts[block], ends[block], rates, windows[block], horizon_end
        )
        staff[lo:hi] += np.diff(worked, axis=1).T @ per_shipment[block]
        arrived = _arrived_by(cols, starts[block], ends[block], rates, horizon_end)
        door[lo:hi] += np.diff(arrived, axis=1).T @ door_per_shipment[block]

    logger.debug(
        "demand: %d forecast items -> %d intervals x %d skills",
        len(items),
        len(intervals),
        len(skills),
    )
    return Workload(
        interval_starts=tuple(start.astimezone(tz) for start, _ in intervals),
        interval_ends=tuple(end.astimezone(tz) for _, end in intervals),
        work_min={skill: staff[:, k].copy() for k, skill in enumerate(skills)},
        door_min=door,
    )


def headcount(workload: Workload, utilisation_target: float) -> dict[str, list[int]]:
    """Persons needed per skill and interval.

    ``ceil(work_min / (interval_len_min * utilisation_target))``; see the
    module docstring for why the target is below 1.
    """
    if not 0 < utilisation_target <= 1:
        raise ValueError("utilisation_target must be in (0, 1]")
    capacity = np.array(workload.interval_len_min(), dtype=float) * utilisation_target
    return {
        skill: [
            max(0, math.ceil(ratio - _CEIL_TOLERANCE))
            for ratio in (minutes / capacity).tolist()
        ]
        for skill, minutes in workload.work_min.items()
    }


def cover_requirements(request: Request) -> list[CoverRequirement]:
    """The request's own cover requirements, then those of the forecast.

    Derived requirements are in interval form, one per skill and interval
    with at least one person, skills in name order and intervals in time
    order; their weights are left unset so the request's weights apply.
    """
    requirements = list(request.cover_requirements)
    if not request.forecast:
        return requirements

    load = workload(request)
    persons = headcount(load, request.settings.utilisation_target)
    for skill in sorted(persons):
        for k, needed in enumerate(persons[skill]):
            if needed > 0:
                requirements.append(
                    CoverRequirement(
                        skill=skill,
                        persons=needed,
                        start=load.interval_starts[k],
                        end=load.interval_ends[k],
                    )
                )
    logger.debug(
        "demand: %d requested + %d derived cover requirements",
        len(request.cover_requirements),
        len(requirements) - len(request.cover_requirements),
    )
    return requirements


def _minutes_from(origin: datetime, instant: datetime) -> float:
    """Real minutes from `origin` to `instant`, seconds kept as a fraction."""
    # Subtract in UTC: two instants in one zoneinfo zone subtract as wall
    # clock, an hour off across a DST change.
    return (to_utc(instant) - to_utc(origin)).total_seconds() / 60.0


def _worked_by(
    bounds: FloatArray,
    starts: FloatArray,
    ends: FloatArray,
    rates: FloatArray,
    windows: FloatArray,
    horizon_end: float,
) -> FloatArray:
    """Shipments' worth of work done by each boundary (items x bounds).

    Arrivals whose window ends inside the horizon use the closed form of
    the module docstring; those whose window is cut at the horizon's end
    use the logarithmic form.
    """
    x = bounds[np.newaxis, :]
    rate = rates[:, np.newaxis]
    window = windows[:, np.newaxis]

    # Arrivals with their full window inside the horizon: [s, e_full).
    full_end = np.minimum(ends, horizon_end - windows)[:, np.newaxis]
    full_start = starts[:, np.newaxis]
    full = np.where(
        full_end > full_start,
        _ramp_integral(x - full_start, window)
        - _ramp_integral(x - np.maximum(full_end, full_start), window),
        0.0,
    )

    # Arrivals whose window is cut at the horizon's end: [t1, t2).
    t1 = np.maximum(starts, horizon_end - windows)[:, np.newaxis]
    t2_all = np.minimum(ends, horizon_end)[:, np.newaxis]
    t2 = np.minimum(t2_all, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = (t2 - t1) - (horizon_end - x) * np.log(
            (horizon_end - t1) / (horizon_end - t2)
        )
    cut = np.where(x >= horizon_end, t2_all - t1, cut)
    cut = np.where((t2 > t1) & (t2_all > t1), cut, 0.0)

    return np.asarray(rate * (full + cut), dtype=np.float64)


def _ramp_integral(v: FloatArray, window: FloatArray) -> FloatArray:
    """R(v): integral from 0 to v of clip(u / window, 0, 1) du."""
    inside = np.clip(v, 0.0, window)
    return np.asarray(
        inside**2 / (2 * window) + np.maximum(v - window, 0.0), dtype=np.float64
    )


def _arrived_by(
    bounds: FloatArray,
    starts: FloatArray,
    ends: FloatArray,
    rates: FloatArray,
    horizon_end: float,
) -> FloatArray:
    """Shipments arrived by each boundary (items x bounds), inside the horizon."""
    last = np.minimum(ends, horizon_end)[:, np.newaxis]
    first = starts[:, np.newaxis]
    arrived = np.clip(bounds[np.newaxis, :], first, np.maximum(last, first)) - first
    return np.asarray(rates[:, np.newaxis] * arrived, dtype=np.float64)
