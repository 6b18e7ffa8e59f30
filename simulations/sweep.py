"""Capacity sweeps: a grid of brokers, clerks and doors x volume factors.

Each grid point is the scenario with another mix (`des_site.with_staffing`:
brokers and clerks on the busiest shift, every shift scaled alike; doors
shared out over the door kinds) at a volume factor, simulated with the
same root seed: replication ``i`` of every point draws from the same
stream, so points are compared on the same random days (common random
numbers) and their differences are not drowned in day-to-day noise.

The staffing answer: among the points of a volume whose target priority
is within SLA for at least the target share, the cheapest. A point
qualifies on the *lower* bound of its confidence interval, not its mean,
so a mix that only reaches the target on average across the runs made is
not recommended. Cost is the mix's cost over the horizon: each rostered
shift's paid hours at its role's hourly cost plus each door's open hours
at its hourly cost (`Scenario.role_hourly_cost_cents`,
`Door.hourly_cost_cents`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from itertools import product
from typing import Any

from pydantic import BaseModel, Field

from scheduler.models import Priority
from simulations.des import RunResult
from simulations.des_site import SiteModel, staffing_levels, with_staffing
from simulations.montecarlo import (
    CONFIDENCE,
    MetricSummary,
    replication_rng,
    simulate_one,
    summarise,
)

logger = logging.getLogger(__name__)

MAX_POINTS = 10_000
# Measures kept per grid point in the sweep table.
TABLE_METRICS = (
    "sla.express",
    "sla.standard",
    "sla.deferred",
    "sla.all",
    "late_min.all.p90",
    "door_wait_min.mean",
    "utilisation.broker",
    "utilisation.clerk",
    "utilisation.door",
    "unreleased",
)


class SweepPoint(BaseModel):
    """One mix at one volume: its cost and its measures' summaries."""

    brokers: int
    clerks: int
    doors: int
    volume: float
    cost_cents: int
    metrics: dict[str, MetricSummary]


class SweepAnswer(BaseModel):
    """The cheapest mix reaching the target at one volume (None if none)."""

    volume: float
    feasible: bool
    point: SweepPoint | None = None
    reason: str = ""


class SweepResult(BaseModel):
    """What `clearplan sweep` writes."""

    site_id: str
    replications: int
    seed: int
    confidence: float = CONFIDENCE
    target_priority: Priority
    target: float
    criterion: str = "lower confidence bound"
    base_mix: dict[str, int] = Field(default_factory=dict)
    points: list[SweepPoint]
    answers: list[SweepAnswer]


Mix = tuple[int, int, int, float]


def grid(
    brokers: Sequence[int],
    clerks: Sequence[int],
    doors: Sequence[int],
    volumes: Sequence[float],
) -> list[Mix]:
    """Every (brokers, clerks, doors, volume), volume slowest.

    Raises
    ------
    ValueError
        When a list is empty or the grid has more than `MAX_POINTS` points.
    """
    for name, values in (
        ("brokers", brokers),
        ("clerks", clerks),
        ("doors", doors),
        ("volumes", volumes),
    ):
        if not values:
            raise ValueError(f"{name}: give at least one value")
    points = [(b, c, d, v) for v, b, c, d in product(volumes, brokers, clerks, doors)]
    if len(points) > MAX_POINTS:
        raise ValueError(f"the grid has {len(points)} points; at most {MAX_POINTS}")
    return points


def site_at(site: SiteModel, mix: Mix) -> SiteModel:
    """The site with a mix of people and doors at a volume factor."""
    brokers, clerks, doors, volume = mix
    scaled = with_staffing(site, brokers=brokers, clerks=clerks, doors=doors)
    scenario = scaled.scenario.model_copy(update={"volume": volume})
    return replace(scaled, scenario=scenario)


def run_sweep(
    site: SiteModel,
    mixes: Sequence[Mix],
    replications: int,
    seed: int,
    *,
    target_priority: Priority,
    target: float,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Simulate every mix and answer the staffing question.

    Parameters
    ----------
    site
        The compiled scenario.
    mixes
        Grid points from `grid`.
    replications, seed
        Per point, with the same root seed at every point.
    target_priority, target
        The question: at least `target` (a share, 0 to 1) of
        `target_priority` shipments within SLA.
    workers
        Local processes.
    progress
        Called with (replications done, total).

    Raises
    ------
    ValueError
        When the target is outside (0, 1], a mix cannot be built or the
        scenario does not dispatch greedily.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target must be a share above 0 and at most 1, not {target}")
    if site.scenario.dispatch != "greedy":
        # A plan to follow is made for one roster; every mix has another.
        raise ValueError(
            f"dispatch: a sweep simulates greedy dispatch only, not "
            f"'{site.scenario.dispatch}'; set dispatch to 'greedy' (each mix "
            f"changes the roster a plan was made for)"
        )
    sites = [site_at(site, mix) for mix in mixes]
    runs = _run_points(site, mixes, replications, seed, workers, progress)

    points = []
    for mix, point_site, point_runs in zip(mixes, sites, runs, strict=True):
        summary = summarise(point_runs, seed=seed)
        points.append(
            SweepPoint(
                brokers=mix[0],
                clerks=mix[1],
                doors=mix[2],
                volume=mix[3],
                cost_cents=point_site.cost_cents_per_horizon(),
                metrics={
                    k: summary.metrics[k] for k in TABLE_METRICS if k in summary.metrics
                },
            )
        )
    answers = cheapest_feasible(points, target_priority, target)
    return SweepResult(
        site_id=site.scenario.site.id,
        replications=replications,
        seed=seed,
        target_priority=target_priority,
        target=target,
        base_mix=staffing_levels(site),
        points=points,
        answers=answers,
    )


def cheapest_feasible(
    points: Sequence[SweepPoint], priority: Priority, target: float
) -> list[SweepAnswer]:
    """Per volume, the cheapest point whose lower bound reaches the target.

    Ties in cost go to the higher lower bound, then to fewer brokers,
    clerks and doors.
    """
    metric = f"sla.{Priority(priority).value}"
    answers = []
    for volume in sorted({p.volume for p in points}):
        at_volume = [p for p in points if p.volume == volume]
        feasible = [p for p in at_volume if _low(p, metric) >= target]
        if not feasible:
            best = max(at_volume, key=lambda p: _low(p, metric))
            answers.append(
                SweepAnswer(
                    volume=volume,
                    feasible=False,
                    reason=(
                        f"no mix reaches {target:.1%} of {priority} shipments within "
                        f"SLA; the best lower bound is {_low(best, metric):.1%} "
                        f"({best.brokers} brokers, {best.clerks} clerks, "
                        f"{best.doors} doors)"
                    ),
                )
            )
            continue
        choice = min(
            feasible,
            key=lambda p: (
                p.cost_cents,
                -_low(p, metric),
                p.brokers,
                p.clerks,
                p.doors,
            ),
        )
        answers.append(SweepAnswer(volume=volume, feasible=True, point=choice))
    return answers


def _low(point: SweepPoint, metric: str) -> float:
    summary = point.metrics.get(metric)
    if summary is None or summary.mean is None:
        return -math.inf
    # One replication has no interval: its value is all we know.
    return summary.low if summary.low is not None else summary.mean


# ------------------------------------------------------------- processes

_worker_site: SiteModel | None = None
_worker_cache: dict[Mix, SiteModel] = {}


def _init_worker(site: SiteModel) -> None:
    global _worker_site
    _worker_site = site
    _worker_cache.clear()


def _run_point_batch(mix: Mix, seed: int, indices: Sequence[int]) -> list[RunResult]:
    assert _worker_site is not None
    if mix not in _worker_cache:
        _worker_cache[mix] = site_at(_worker_site, mix)
    point_site = _worker_cache[mix]
    return [simulate_one(point_site, replication_rng(seed, i)) for i in indices]


def _run_points(
    site: SiteModel,
    mixes: Sequence[Mix],
    replications: int,
    seed: int,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> list[list[RunResult]]:
    """Every point's replications, in order, with one pool for the grid."""
    total = len(mixes) * replications
    done = 0
    results: list[dict[int, RunResult]] = [{} for _ in mixes]
    size = max(1, min(10, replications // max(1, workers)))
    jobs: list[tuple[int, list[int]]] = [
        (p, list(range(start, min(start + size, replications))))
        for p in range(len(mixes))
        for start in range(0, replications, size)
    ]
    if workers == 1:
        _init_worker(site)
        for p, indices in jobs:
            for i, run in zip(
                indices, _run_point_batch(mixes[p], seed, indices), strict=True
            ):
                results[p][i] = run
            done += len(indices)
            if progress is not None:
                progress(done, total)
    else:
        with ProcessPoolExecutor(
            max_workers=workers, initializer=_init_worker, initargs=(site,)
        ) as pool:
            futures: dict[Any, tuple[int, list[int]]] = {
                pool.submit(_run_point_batch, mixes[p], seed, indices): (p, indices)
                for p, indices in jobs
            }
            for future in as_completed(futures):
                p, indices = futures[future]
                for i, run in zip(indices, future.result(), strict=True):
                    results[p][i] = run
                done += len(indices)
                if progress is not None:
                    progress(done, total)
    return [[point[i] for i in range(replications)] for point in results]
