"""The task-plan benchmark set: two real peak days and five generated days.

- 2025-11-11 (Singles' Day) and 2025-11-28 (Black Friday) from the real
  HKIA freighter arrivals, at volume x1.0, x1.5 and x1.8: 1.5 and 1.8
  bracket the ratio of an 11.11 peak day to a normal day in China's State
  Post Bureau parcel counts (1.51 in 2024, 1.8 in 2022, 1.87 in 2023;
  `data/customs-process-and-peak-figures/peak_factors.csv`). The site is
  the same at every volume, so x1.8 is a harder day, not a bigger site.
- Generated days of 500, 1,000, 2,000, 4,000 and 8,000 shipments
  (`simulations.generate`), the site scaled with the size.
"""

from __future__ import annotations

from datetime import date

from scheduler.models import Request
from simulations.generate import generated_request
from simulations.hkia import build_request

BENCHMARK_DAYS = (date(2025, 11, 11), date(2025, 11, 28))
BENCHMARK_VOLUMES = (1.0, 1.5, 1.8)
GENERATED_SIZES = (500, 1_000, 2_000, 4_000, 8_000)


def benchmark_names() -> list[str]:
    """Names of the benchmark instances, in `benchmark_set` order."""
    names = [
        f"hkia-{day.isoformat()}-x{volume:.1f}"
        for day in BENCHMARK_DAYS
        for volume in BENCHMARK_VOLUMES
    ]
    return names + [f"generated-{size}" for size in GENERATED_SIZES]


def benchmark_set(seed: int = 0) -> list[tuple[str, Request]]:
    """Every benchmark instance as `(name, request)`, real days first.

    Parameters
    ----------
    seed
        Seed of every instance; the benchmark results use 0.
    """
    requests = [
        build_request(day, volume, seed)
        for day in BENCHMARK_DAYS
        for volume in BENCHMARK_VOLUMES
    ]
    requests += [generated_request(size, seed) for size in GENERATED_SIZES]
    return list(zip(benchmark_names(), requests, strict=True))
