"""Tests of the simulation reports: what a reader sees, in order."""

from __future__ import annotations

from sim_fixtures import shipment, tiny_site

from simulations.des_site import compile_site
from simulations.montecarlo import run_replications, summarise
from simulations.scenario import SingleQueue
from simulations.sim_report import simulation_report_html

QUEUE = SingleQueue(
    arrival_rate_per_min=0.5,
    service_rate_per_min=1.0,
    servers=1,
    customers=2000,
    warmup_customers=200,
)


def test_single_queue_report_compares_the_wait_with_erlang_c() -> None:
    """An M/M/1 at load 0.5 (Erlang C: 1 min): the report says so with
    three decimals, not "Simulation of a peak" with an empty mix and
    waits rounded to 2.0 against 2.2."""
    result = summarise(run_replications(QUEUE, 5, seed=4), seed=4)
    result.kind = "single_queue"
    wait = result.metrics["wait_min.mean"]
    assert wait.low is not None and wait.high is not None

    page = simulation_report_html(result)

    assert "<h1>Single queue (M/M/c) against Erlang C</h1>" in page
    assert "Mix:" not in page
    assert f"Mean wait in queue {wait.mean:.3f} min over 5 replications" in page
    assert "Erlang C gives 1.000 min at load 0.500" in page
    inside = wait.low <= 1.0 <= wait.high
    assert ("lies inside" in page) is inside
    assert f"<td>{wait.mean:.3f}</td>" in page


def test_site_report_orders_lateness_bands_by_minutes_late() -> None:
    """On time, 0-30, ..., 240+, unreleased: not 0-30, 120-240, 240+, 30-60
    as the names sort."""
    site = compile_site(tiny_site([shipment(f"S{i}", 60) for i in range(20)]))
    result = summarise(run_replications(site, 2, seed=0), seed=0, site=site)

    page = simulation_report_html(result)

    bands = '"on_time","0-30","30-60","60-120","120-240","240+","unreleased"'
    assert f'"x":[{bands}]' in page
    assert "Mix: 1 brokers, 1 clerks, 1 doors." in page
