"""Tests of the task-plan benchmark set."""

from __future__ import annotations

import pytest

from simulations.benchmark_set import benchmark_names, benchmark_set


def test_benchmark_names_cover_the_days_volumes_and_sizes():
    """Six real-day instances then five generated sizes, in order."""
    assert benchmark_names() == [
        "hkia-2025-11-11-x1.0",
        "hkia-2025-11-11-x1.5",
        "hkia-2025-11-11-x1.8",
        "hkia-2025-11-28-x1.0",
        "hkia-2025-11-28-x1.5",
        "hkia-2025-11-28-x1.8",
        "generated-500",
        "generated-1000",
        "generated-2000",
        "generated-4000",
        "generated-8000",
    ]


@pytest.mark.slow
def test_benchmark_set_sizes_and_ids():
    """Real days grow with volume; generated days have exactly their size."""
    instances = dict(benchmark_set())
    assert list(instances) == benchmark_names()
    assert len(instances["hkia-2025-11-11-x1.0"].shipments) == 2_219
    for day in ("2025-11-11", "2025-11-28"):
        sizes = [
            len(instances[f"hkia-{day}-x{v}"].shipments) for v in ("1.0", "1.5", "1.8")
        ]
        assert sizes[0] >= 2_000
        assert 1.4 <= sizes[1] / sizes[0] <= 1.6
        assert 1.7 <= sizes[2] / sizes[0] <= 1.9
    for size in (500, 1_000, 2_000, 4_000, 8_000):
        request = instances[f"generated-{size}"]
        assert len(request.shipments) == size
        assert request.request_id == f"generated-{size}-seed0-2025-11-11"
