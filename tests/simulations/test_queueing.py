"""Tests of the single-queue scenario against Erlang C."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulations.montecarlo import run_replications, summarise
from simulations.queueing import erlang_c_wait_min
from simulations.scenario import Scenario, SingleQueue

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "single-queue.json"


def test_erlang_c_wait_min_matches_hand_values() -> None:
    """M/M/1 at 0.5: rho / (mu - lambda) = 1; M/M/2 at a = 1: C = 1/3, Wq = 1/3."""
    assert erlang_c_wait_min(0.5, 1.0, 1) == pytest.approx(1.0)
    assert erlang_c_wait_min(1.0, 1.0, 2) == pytest.approx(1 / 3)


def test_erlang_c_wait_min_refuses_an_unstable_queue() -> None:
    """A load of 1 or more has no steady state and is refused."""
    with pytest.raises(ValueError, match="must be below 1"):
        erlang_c_wait_min(2.0, 1.0, 2)


def test_single_queue_scenario_refuses_unstable_load() -> None:
    """The scenario names the load and the rule."""
    with pytest.raises(ValueError, match="must stay below 1"):
        SingleQueue(arrival_rate_per_min=2.0, service_rate_per_min=1.0, servers=2)


def _check_against_erlang_c(
    lam: float, mu: float, c: int, replications: int, customers: int
) -> None:
    queue = SingleQueue(
        arrival_rate_per_min=lam,
        service_rate_per_min=mu,
        servers=c,
        customers=customers,
        warmup_customers=customers // 10,
    )
    result = summarise(run_replications(queue, replications, seed=2025), seed=2025)
    wait = result.metrics["wait_min.mean"]
    theory = erlang_c_wait_min(lam, mu, c)
    assert wait.low is not None and wait.high is not None
    assert wait.low <= theory <= wait.high, (wait, theory)
    # The interval must also be tight enough to mean something: its half
    # width below the value itself.
    assert wait.high - wait.low < 2 * theory


@pytest.mark.parametrize(
    ("lam", "mu", "c", "customers"),
    [
        (0.5, 1.0, 1, 5_000),  # load 0.5
        (1.4, 0.5, 4, 5_000),  # load 0.7
        (3.6, 1.0, 4, 10_000),  # load 0.9
        (9.5, 1.0, 10, 20_000),  # load 0.95: slow to settle, so longer runs
    ],
)
def test_single_queue_mean_wait_matches_erlang_c(
    lam: float, mu: float, c: int, customers: int
) -> None:
    """The simulated mean wait's 95 % interval holds the Erlang-C value."""
    _check_against_erlang_c(lam, mu, c, replications=10, customers=customers)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lam", "mu", "c"),
    [
        (0.5, 1.0, 1),
        (0.8, 1.0, 1),
        (0.95, 1.0, 1),
        (1.4, 0.5, 3),
        (3.6, 1.0, 4),
        (9.5, 1.0, 10),
        (19.0, 1.0, 20),
    ],
)
def test_single_queue_mean_wait_matches_erlang_c_full_size(
    lam: float, mu: float, c: int
) -> None:
    """At full size (30 runs of 50,000 customers) the interval holds Erlang C."""
    _check_against_erlang_c(lam, mu, c, replications=30, customers=50_000)


def test_single_queue_example_file_is_a_valid_scenario() -> None:
    """The bundled example reads as a single-queue scenario one can edit."""
    scenario = Scenario.model_validate(json.loads(EXAMPLE.read_text()))

    assert scenario.kind == "single_queue"
    assert scenario.single_queue is not None
    assert scenario.single_queue.servers == 4
