"""Tests of forecast arrivals: a non-homogeneous Poisson process from the rates."""

from __future__ import annotations

import numpy as np
import pytest
from sim_fixtures import instant, tiny_site

from simulations.des import draw_day
from simulations.des_site import compile_site


def _forecast_site(volume: float):  # type: ignore[no-untyped-def]
    items = [
        {"start": instant(60), "end": instant(120), "shipments": 40.0,
         "priority": "express", "pallets_per_shipment": 1.5},
        {"start": instant(600), "end": instant(720), "shipments": 20.0,
         "commodity": "food"},
    ]  # fmt: skip
    scenario = tiny_site(
        [],
        arrivals="forecast",
        forecast=items,
        volume=volume,
        doors=[{"id": "D1"}, {"id": "C1", "capabilities": ["cold_chain"]}],
    )
    return compile_site(scenario)


def test_forecast_arrivals_follow_item_windows_and_rates() -> None:
    """Counts average rate x volume; each shipment lies in its item's window."""
    site = _forecast_site(volume=1.5)
    counts = []
    for seed in range(200):
        day = draw_day(site, np.random.default_rng(seed))
        arrivals = np.array(day.load_arrival)
        counts.append(len(arrivals))
        early = arrivals[arrivals < 300]
        assert ((early >= 60) & (early < 120)).all()
        assert (
            (arrivals[arrivals >= 300] >= 600) & (arrivals[arrivals >= 300] < 720)
        ).all()
        assert day.documents_ready == day.load_arrival
    # Poisson(1.5 x 60 = 90): the mean of 200 draws is within 4 standard
    # errors (4 x sqrt(90 / 200) = 2.7) of 90.
    assert np.mean(counts) == pytest.approx(90, abs=2.7)


def test_forecast_food_needs_a_cold_chain_door() -> None:
    """Food from the forecast queues for cold-chain doors, as the HKIA trucks do."""
    site = _forecast_site(volume=1.0)
    day = draw_day(site, np.random.default_rng(3))
    queues = {
        site.queues[q]
        for q, t in zip(day.load_queue, day.load_arrival, strict=True)
        if t >= 600
    }
    assert queues == {"door:cold_chain"}


def test_forecast_sizes_keep_the_item_mean() -> None:
    """1.5 pallets a shipment: half have 1, half 2 (unload 10 + 2 x pallets min)."""
    site = _forecast_site(volume=1.0)
    minutes = []
    for seed in range(50):
        day = draw_day(site, np.random.default_rng(seed))
        minutes += [
            d
            for d, t in zip(day.load_duration, day.load_arrival, strict=True)
            if t < 300
        ]
    assert set(minutes) == {12.0, 14.0}
    assert np.mean(minutes) == pytest.approx(13.0, abs=0.2)
