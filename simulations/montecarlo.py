"""Monte Carlo: many replications of a scenario, and their means with intervals.

Seeds: one root seed; replication ``i`` draws from the ``i``-th child of
``numpy.random.SeedSequence(root)`` (built directly as
``SeedSequence(root, spawn_key=(i,))``), whichever process runs it and
however many there are. Results are gathered by replication index and
summarised in that order, so 1 and 2 worker processes give identical
numbers, bit for bit.

Intervals: for each measure, over the replications where it is defined,
the mean plus or minus ``t(1 - alpha/2, n - 1) * s / sqrt(n)`` with ``s``
the sample standard deviation: the Student-t interval of a mean, which
holds for independent replications whose means are close to normal
(they are averages over thousands of shipments). `CONFIDENCE` is 95 %.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from simulations.des import RunResult, simulate
from simulations.des_site import SiteModel
from simulations.scenario import SingleQueue

logger = logging.getLogger(__name__)

CONFIDENCE = 0.95
MAX_REPLICATIONS = 100_000
Progress = Callable[[int, int], None]


class MetricSummary(BaseModel):
    """Mean of a measure over replications, with its t interval."""

    n: int
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None


class SimulationResult(BaseModel):
    """What `clearplan simulate` writes: summaries, series and every run."""

    scenario_id: str | None = None
    site_id: str = ""
    kind: str = "site"
    replications: int
    seed: int
    confidence: float = CONFIDENCE
    mix: dict[str, int] = Field(default_factory=dict)
    metrics: dict[str, MetricSummary] = Field(default_factory=dict)
    series: dict[str, list[float | None]] = Field(default_factory=dict)
    series_step_min: dict[str, float] = Field(default_factory=dict)
    runs: list[dict[str, float | None]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class SiteFacts(BaseModel):
    """What a result says of its site besides the runs.

    Read from the compiled site; the service keeps it next to the batches
    of a simulation, whose web process never compiles the site.
    """

    scenario_id: str | None = None
    site_id: str = ""
    mix: dict[str, int] = Field(default_factory=dict)
    sample_interval_min: float = 30.0
    notes: list[str] = Field(default_factory=list)


# ------------------------------------------------------------- intervals


def t_quantile(p: float, df: int) -> float:
    """The `p` quantile of Student's t with `df` degrees of freedom (p > 0.5).

    Bisection on the exact distribution function for whole degrees of
    freedom (Abramowitz and Stegun 26.7.3 and 26.7.4, finite sums in
    cos(theta) with theta = atan(t / sqrt(df))).
    """
    if df < 1:
        raise ValueError(f"df must be at least 1, not {df}")
    if not 0.5 < p < 1:
        raise ValueError(f"p must lie in (0.5, 1), not {p}")
    target = 2 * p - 1  # P(|T| < t)
    low, high = 0.0, 1.0
    while _abs_t_cdf(high, df) < target:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        if _abs_t_cdf(mid, df) < target:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * high:
            break
    return (low + high) / 2


def _abs_t_cdf(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with whole `df`."""
    theta = math.atan(t / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df % 2 == 1:
        total, term = 0.0, c
        if df > 1:
            total = term
            for k in range(3, df - 1, 2):
                term *= c * c * (k - 1) / k
                total += term
        return 2 / math.pi * (theta + s * total)
    total, term = 1.0, 1.0
    for k in range(2, df - 1, 2):
        term *= c * c * (k - 1) / k
        total += term
    return s * total


def summarise_values(
    values: Iterable[float], confidence: float = CONFIDENCE
) -> MetricSummary:
    """Mean, standard deviation and t interval of the defined values."""
    data = [v for v in values if v is not None and not math.isnan(v)]
    n = len(data)
    if n == 0:
        return MetricSummary(n=0, mean=None, sd=None, low=None, high=None)
    mean = math.fsum(data) / n
    if n == 1:
        return MetricSummary(n=1, mean=mean, sd=None, low=None, high=None)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (n - 1))
    half = t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return MetricSummary(n=n, mean=mean, sd=sd, low=mean - half, high=mean + half)


def summarise(
    runs: Sequence[RunResult], *, seed: int, site: SiteModel | None = None
) -> SimulationResult:
    """Summarise replications given in replication order."""
    names = sorted({name for run in runs for name in run.metrics})
    metrics = {
        name: summarise_values(run.metrics.get(name, math.nan) for run in runs)
        for name in names
    }
    series: dict[str, list[float | None]] = {}
    for name in sorted({name for run in runs for name in run.series}):
        rows = [run.series.get(name, []) for run in runs]
        length = max(len(row) for row in rows)
        series[name] = [
            _mean_defined(row[k] for row in rows if k < len(row)) for k in range(length)
        ]
    result = SimulationResult(
        replications=len(runs),
        seed=seed,
        metrics=metrics,
        series=series,
        runs=[
            {k: (None if math.isnan(v) else v) for k, v in sorted(run.metrics.items())}
            for run in runs
        ],
    )
    if site is not None:
        describe(result, site_facts(site))
    return result


def site_facts(site: SiteModel) -> SiteFacts:
    """The site's id, mix, sampling step and notes, for its results."""
    from simulations.des_site import staffing_levels

    scenario = site.scenario
    return SiteFacts(
        scenario_id=scenario.request_id,
        site_id=scenario.site.id,
        mix=staffing_levels(site),
        sample_interval_min=float(scenario.sample_interval_min),
        notes=_notes(site),
    )


def describe(result: SimulationResult, facts: SiteFacts) -> SimulationResult:
    """Fill a result's site fields, and the time step of each series."""
    result.scenario_id = facts.scenario_id
    result.site_id = facts.site_id
    result.mix = dict(facts.mix)
    step = facts.sample_interval_min
    result.series_step_min = {
        name: (60.0 if name.endswith("by_hour") else step) for name in result.series
    }
    result.notes = list(facts.notes)
    return result


def _notes(site: SiteModel) -> list[str]:
    """What a reader of the result should know about its inputs."""
    lateness = site.scenario.lateness
    if lateness.source == "none" or site.lateness_min is None:
        return []
    from simulations.scenario import freighter_lateness_min

    _, dropped = freighter_lateness_min(tuple(lateness.months))
    months = ", ".join(lateness.months) or "every month"
    return [
        f"freighter lateness drawn from {len(site.lateness_min)} HKIA arrivals "
        f"({months}), scaled x{lateness.scale:g}; {dropped} records of the whole "
        f"file were dropped as more than 12 h off schedule"
    ]


def _mean_defined(values: Iterable[float]) -> float | None:
    data = [v for v in values if not math.isnan(v)]
    return math.fsum(data) / len(data) if data else None


# ----------------------------------------------------------- replications


def replication_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of replication `index` under root `seed`."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


_worker_site: Model | None = None
_worker_options: dict[str, Any] = {}


def _init_worker(site: Model, options: dict[str, Any]) -> None:
    global _worker_site, _worker_options
    _worker_site, _worker_options = site, options


Model = SiteModel | SingleQueue


def simulate_one(model: Model, rng: np.random.Generator, **options: Any) -> RunResult:
    """One replication of a site or of a single queue."""
    if isinstance(model, SingleQueue):
        from simulations.queueing import simulate_queue

        return simulate_queue(model, rng)
    return simulate(model, rng, **options)


def run_batch(
    model: Model, seed: int, indices: Sequence[int], **options: Any
) -> list[RunResult]:
    """Run the replications `indices` of a root seed, in this process."""
    return [simulate_one(model, replication_rng(seed, i), **options) for i in indices]


def _run_batch_in_worker(seed: int, indices: Sequence[int]) -> list[RunResult]:
    assert _worker_site is not None
    return run_batch(_worker_site, seed, indices, **_worker_options)


def run_replications(
    site: Model,
    replications: int,
    seed: int,
    *,
    workers: int = 1,
    progress: Progress | None = None,
    **options: Any,
) -> list[RunResult]:
    """Run replications 0 .. `replications` - 1, in `workers` processes.

    Parameters
    ----------
    site
        The compiled scenario with the mix to simulate, or a single queue.
    replications
        How many, 1 to `MAX_REPLICATIONS`.
    seed
        The root seed (0 to 2**63 - 1).
    workers
        Local processes; 1 runs in this process.
    progress
        Called with (done, total) as batches finish.
    options
        Passed to `simulations.des.simulate` (a plan ``assignment``, a
        ``replanner``); they must pickle when `workers` > 1.

    Returns
    -------
    list[RunResult]
        In replication order.

    Raises
    ------
    ValueError
        When replications, seed or workers is out of range.
    """
    _check(replications, seed, workers)
    if workers == 1:
        runs = []
        for i in range(replications):
            runs.append(simulate_one(site, replication_rng(seed, i), **options))
            if progress is not None:
                progress(i + 1, replications)
        return runs

    # Batches small enough to balance the processes and show progress.
    size = max(1, min(25, replications // (workers * 4)))
    batches = [
        list(range(start, min(start + size, replications)))
        for start in range(0, replications, size)
    ]
    results: dict[int, RunResult] = {}
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(site, options)
    ) as pool:
        futures = {
            pool.submit(_run_batch_in_worker, seed, batch): batch for batch in batches
        }
        for future in as_completed(futures):
            for i, run in zip(futures[future], future.result(), strict=True):
                results[i] = run
            if progress is not None:
                progress(len(results), replications)
    return [results[i] for i in range(replications)]


def _check(replications: int, seed: int, workers: int) -> None:
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise ValueError(
            f"replications must be between 1 and {MAX_REPLICATIONS:,}, "
            f"not {replications}"
        )
    if not 0 <= seed <= 2**63 - 1:
        raise ValueError(f"seed must be between 0 and 2**63 - 1, not {seed}")
    if not 1 <= workers <= 256:
        raise ValueError(f"workers must be between 1 and 256, not {workers}")
