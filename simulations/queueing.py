"""The single-queue scenario: an M/M/c queue, simulated and in closed form.

Customers arrive as a Poisson process of rate lambda, each needs an
exponential service of rate mu, and c identical servers serve them first
come, first served. The simulation runs on the same dispatch core as the
site (`simulations.des_core`), so matching theory here checks the code
that gives work to brokers and doors.

Theory (Erlang C): with offered load ``a = lambda / mu`` and ``rho = a /
c < 1``, the probability that a customer waits is ``C(c, a) = c B / (c -
a (1 - B))`` with ``B`` the Erlang-B blocking probability, computed by the
stable recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``; the
mean wait in queue is ``Wq = C(c, a) / (c mu - lambda)``.
"""

from __future__ import annotations

import logging

import numpy as np
import simpy

from simulations.des import RunResult
from simulations.des_core import DispatchCore
from simulations.scenario import SingleQueue

logger = logging.getLogger(__name__)


def erlang_c_wait_min(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean wait in queue of an M/M/c queue (same time unit as the rates).

    Raises
    ------
    ValueError
        When a rate is not positive, there is no server, or the load
        lambda / (c mu) is 1 or more (no steady state).
    """
    if arrival_rate <= 0 or service_rate <= 0 or servers < 1:
        raise ValueError("arrival_rate and service_rate must be above 0, servers >= 1")
    offered = arrival_rate / service_rate
    if offered >= servers:
        raise ValueError(
            f"the load lambda / (c * mu) is {offered / servers:.3f}; it must be below 1"
        )
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    waiting_probability = servers * blocking / (servers - offered * (1 - blocking))
    return waiting_probability / (servers * service_rate - arrival_rate)


class QueueRun(DispatchCore):
    """One replication of the M/M/c queue on the dispatch core."""

    def __init__(
        self, arrivals: np.ndarray, services: np.ndarray, servers: int
    ) -> None:
        super().__init__([[0]], [[0]], [0] * servers, [0], 1)
        self.arrivals = arrivals.tolist()
        self.services = services.tolist()
        self.wait = [0.0] * len(self.arrivals)
        self.num_servers = servers

    def run(self) -> None:
        for server in range(self.num_servers):
            self.available[server] = True
            self.window_end[server] = float("inf")
            self.free[0][server] = None
        self._next_arrival(0)
        self.env.run()

    def _next_arrival(self, customer: int) -> None:
        if customer < len(self.arrivals):
            event = self.env.timeout(self.arrivals[customer] - self.env.now, customer)
            event.callbacks.append(self._arrives)

    def _arrives(self, event: simpy.Event) -> None:
        customer = event._value
        task = self.new_task(0, self.env.now)
        # First come, first served: the key is the arrival time.
        self.submit(task, self.env.now)
        self._next_arrival(customer + 1)

    def start(self, task: int, server: int) -> None:
        self.wait[task] = self.env.now - self.task_ready[task]
        self.occupy(task, server, self.services[task])

    def on_end(self, event: simpy.Event) -> None:
        _, server = event._value
        self.release(server)


def simulate_queue(queue: SingleQueue, rng: np.random.Generator) -> RunResult:
    """One replication: its customers' mean wait after the warm-up."""
    n = queue.customers
    gaps = rng.exponential(1 / queue.arrival_rate_per_min, n)
    services = rng.exponential(1 / queue.service_rate_per_min, n)
    run = QueueRun(np.cumsum(gaps), services, queue.servers)
    run.run()
    measured = run.wait[queue.warmup_customers :]
    waited = sum(1 for w in measured if w > 0)
    theory = erlang_c_wait_min(
        queue.arrival_rate_per_min, queue.service_rate_per_min, queue.servers
    )
    return RunResult(
        metrics={
            "wait_min.mean": sum(measured) / len(measured),
            "wait_share": waited / len(measured),
            "erlang_c_wait_min": theory,
            "load": queue.arrival_rate_per_min
            / (queue.servers * queue.service_rate_per_min),
        }
    )
