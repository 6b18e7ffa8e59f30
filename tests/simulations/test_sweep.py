"""Tests of capacity sweeps: the grid, the staffing answer, a hand-checked sweep."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_fixtures import shipment, tiny_site

from scheduler.models import Priority
from simulations.des_site import compile_site, staffing_levels, with_staffing
from simulations.montecarlo import (
    MetricSummary,
    run_replications,
    summarise,
)
from simulations.scenario import load_scenario
from simulations.sweep import SweepPoint, cheapest_feasible, grid, run_sweep


def _point(brokers: int, cost: int, low: float, volume: float = 1.0) -> SweepPoint:
    return SweepPoint(
        brokers=brokers,
        clerks=1,
        doors=1,
        volume=volume,
        cost_cents=cost,
        metrics={
            "sla.express": MetricSummary(
                n=10, mean=low + 0.01, sd=0.01, low=low, high=low + 0.02
            )
        },
    )


def test_grid_lists_every_point_volume_slowest() -> None:
    """2 x 1 x 1 x 2 points, the volumes outermost."""
    assert grid([1, 2], [3], [4], [1.0, 1.5]) == [
        (1, 3, 4, 1.0),
        (2, 3, 4, 1.0),
        (1, 3, 4, 1.5),
        (2, 3, 4, 1.5),
    ]


def test_cheapest_feasible_uses_the_lower_bound() -> None:
    """A mix whose mean passes but lower bound does not is not chosen."""
    points = [
        _point(1, 100, 0.94),  # mean 0.95 but lower bound 0.94
        _point(2, 200, 0.96),
        _point(3, 300, 0.99),
        _point(1, 100, 0.50, volume=1.8),
    ]
    answers = cheapest_feasible(points, Priority.express, 0.95)

    assert answers[0].point is not None and answers[0].point.brokers == 2
    assert answers[1].feasible is False
    assert "best lower bound is 50.0%" in answers[1].reason


def test_run_sweep_picks_cheapest_feasible_mix_on_hand_checked_grid() -> None:
    """20 express shipments at 01:00, deadline 05:00 (customs 20 min excused).

    Reviews take 14 min and declarations 13. With 1 clerk the k-th review
    ends at 60 + 14k, declared 13 min later: 16 of 20 by 300 (80 %). With
    2 clerks and 1 broker the broker is the bottleneck from 74: 74 + 13k
    <= 300 for 17 (85 %). With 2 and 2 all 20 are on time. Brokers cost
    100 an hour, clerks 50, 24 h shifts: (2, 2) costs 24 x 300 = 7,200.
    """
    scenario = tiny_site(
        [shipment(f"S{i:02d}", 60) for i in range(20)],
        role_hourly_cost_cents={"broker": 10_000, "clerk": 5_000},
    )
    site = compile_site(scenario)
    mixes = grid([1, 2, 3], [1, 2, 3], [1], [1.0])

    result = run_sweep(
        site, mixes, 2, seed=0, target_priority=Priority.express, target=0.95
    )

    attainment = {
        (p.brokers, p.clerks): p.metrics["sla.express"].mean for p in result.points
    }
    assert attainment[(1, 1)] == pytest.approx(0.80)
    assert attainment[(2, 1)] == pytest.approx(0.80)
    assert attainment[(1, 2)] == pytest.approx(0.85)
    assert attainment[(2, 2)] == pytest.approx(1.0)
    choice = result.answers[0].point
    assert choice is not None
    assert (choice.brokers, choice.clerks, choice.doors) == (2, 2, 1)
    assert choice.cost_cents == pytest.approx(24 * 30_000)


def test_run_sweep_refuses_a_target_above_one() -> None:
    """The target is a share; 95 is refused with its rule."""
    site = compile_site(tiny_site([shipment("A", 60)]))
    with pytest.raises(ValueError, match="target must be a share"):
        run_sweep(site, grid([1], [1], [1], [1.0]), 1, 0,
                  target_priority=Priority.express, target=95)  # fmt: skip


def test_run_sweep_at_the_site_mix_gives_the_simulate_result() -> None:
    """The peak example's own mix (26 brokers, 29 clerks, 17 doors) as a
    sweep point keeps every server in the site's order, so it simulates
    exactly as `clearplan simulate` (reordered, the express share moved
    from 90.60 % to 90.53 % over 10 runs); its cost is whole cents."""
    path = Path(__file__).resolve().parents[2] / "examples" / "peak-2025-11-11.json"
    scenario = load_scenario(path.read_text(encoding="utf-8"))
    # Without lateness, so the test need not read the flight records.
    scenario.lateness.source = "none"
    site = compile_site(scenario)
    base = staffing_levels(site)
    assert with_staffing(site, **base).servers == site.servers

    mix = (base["brokers"], base["clerks"], base["doors"], 1.0)
    result = run_sweep(
        site, [mix], 2, seed=1, target_priority=Priority.express, target=0.95
    )
    alone = summarise(run_replications(site, 2, seed=1), seed=1, site=site)
    point = result.points[0]
    for name, summary in point.metrics.items():
        assert summary == alone.metrics[name], name
    assert point.cost_cents == 38_988_000
    assert isinstance(point.cost_cents, int)


def test_run_sweep_refuses_a_scenario_that_follows_a_plan() -> None:
    """A plan is made for one roster: a sweep of plan dispatch would have
    simulated greedy dispatch without a word (90.7 % instead of 74.7 % of
    express shipments within SLA on the peak example); it is refused."""
    site = compile_site(tiny_site([shipment("A", 60)], dispatch="plan", plan_tasks=[]))
    with pytest.raises(ValueError, match="dispatch: a sweep simulates greedy"):
        run_sweep(site, grid([1], [1], [1], [1.0]), 1, 0,
                  target_priority=Priority.express, target=0.95)  # fmt: skip
