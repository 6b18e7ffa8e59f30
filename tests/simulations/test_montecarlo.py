"""Tests of the Monte Carlo runner: seeds, intervals, and worker independence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sim_fixtures import instant, shipment, tiny_site

from simulations.des_site import compile_site
from simulations.montecarlo import (
    replication_rng,
    run_replications,
    summarise,
    summarise_values,
    t_quantile,
)


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.706),  # two-sided 95 %, Student's table
        (0.975, 2, 4.303),
        (0.975, 9, 2.262),
        (0.975, 30, 2.042),
        (0.995, 4, 4.604),  # two-sided 99 %
    ],
)
def test_t_quantile_matches_student_table(p: float, df: int, expected: float) -> None:
    """The t quantile agrees with printed tables to three decimals."""
    assert t_quantile(p, df) == pytest.approx(expected, abs=5e-4)


def test_summarise_values_gives_hand_computed_interval() -> None:
    """1, 2, 3, 4: mean 2.5, s = sqrt(5/3), half width t(0.975, 3) s / 2."""
    summary = summarise_values([1.0, 2.0, 3.0, math.nan, 4.0])

    half = 3.182446 * math.sqrt(5 / 3) / 2
    assert summary.n == 4
    assert summary.mean == pytest.approx(2.5)
    assert summary.sd == pytest.approx(math.sqrt(5 / 3))
    assert summary.low == pytest.approx(2.5 - half, abs=1e-5)
    assert summary.high == pytest.approx(2.5 + half, abs=1e-5)


def test_replication_rng_is_the_spawned_child() -> None:
    """Replication i draws from child i of the root SeedSequence."""
    child = np.random.SeedSequence(7).spawn(3)[2]
    expected = np.random.default_rng(child).random(4)

    assert np.array_equal(replication_rng(7, 2).random(4), expected)


def _random_site():  # type: ignore[no-untyped-def]
    """A tiny site with spread task times, drawn lanes and trucks."""
    shipments = [
        shipment(f"S{i}", 30 + 7 * i, ("express", "standard")[i % 2],
                 in_warehouse=False, load_id=f"L{i % 4}", lane=None)
        for i in range(24)
    ]  # fmt: skip
    loads = [{"id": f"L{k}", "eta": instant(60 + 40 * k)} for k in range(4)]
    scenario = tiny_site(
        shipments,
        loads,
        brokers=2,
        clerks=2,
        doors=[{"id": "D1"}, {"id": "X1", "capabilities": ["exam"]}],
        lanes="drawn",
        volume=1.5,
        task_time_cv={},
    )
    return compile_site(scenario)


def test_run_replications_same_with_one_and_two_workers() -> None:
    """Replication i's numbers do not depend on how many processes ran it."""
    site = _random_site()
    one = summarise(run_replications(site, 6, seed=11, workers=1), seed=11)
    two = summarise(run_replications(site, 6, seed=11, workers=2), seed=11)

    assert one.model_dump() == two.model_dump()
    # And the runs differ from each other: the seeds are really split.
    assert len({run["shipments"] for run in one.runs}) > 1


def test_run_replications_refuses_zero_replications() -> None:
    """The count is checked with a sentence naming it."""
    with pytest.raises(ValueError, match="replications must be between"):
        run_replications(_random_site(), 0, seed=1)


def test_summarise_of_tiny_site_has_every_priority_and_series() -> None:
    """The summary carries the SLA of each priority and queue curves."""
    site = _random_site()
    result = summarise(run_replications(site, 3, seed=5), seed=5, site=site)

    assert result.mix == {"brokers": 2, "clerks": 2, "doors": 2}
    assert result.metrics["sla.express"].n == 3
    assert len(result.series["queue.clerk"]) == 24 * 60 // 30
    assert result.series_step_min["door_wait_min.by_hour"] == 60.0
