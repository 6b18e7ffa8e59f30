"""Parameters of a roster solve: limits, determinism, hint and callbacks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

ProgressCallback = Callable[[int, int, float], None]


@dataclass(frozen=True)
class SolveParams:
    """How to solve a roster model.

    Parameters
    ----------
    time_limit_s
        Wall-clock limit; in reproducible mode it is a deterministic-time
        limit instead (CP-SAT's own work units, about a second each).
    seed
        Random seed of CP-SAT and of the large-neighbourhood search.
    num_workers
        CP-SAT search workers.
    reproducible
        Same data, same result: fixed workers and seed, interleaved
        (deterministic) parallel search and a deterministic time limit.
    log
        Let CP-SAT log its search (to the ``solver.roster`` logger).
    hint
        ``(option_idx, post_idx)`` pairs of a roster to start from (the
        greedy roster), in the form of `RosterResult.chosen`.
    on_progress
        Called with (objective, bound, elapsed_s) on each improving roster;
        it may be called from a solver thread, so it must be quick and
        thread-safe.
    stop
        When set, the search ends early and the result is ``cancelled``.
    use_lns
        Whether to run the large-neighbourhood search beside (or, in
        reproducible mode, after) the full CP-SAT search; without it the
        full search has the whole budget.
    """

    time_limit_s: float = 30.0
    seed: int = 0
    num_workers: int = 2
    reproducible: bool = False
    log: bool = False
    hint: tuple[tuple[int, int], ...] | None = None
    on_progress: ProgressCallback | None = None
    stop: threading.Event | None = None
    use_lns: bool = True

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            raise ValueError("time_limit_s must be > 0")
        if self.num_workers < 1:
            raise ValueError("num_workers must be >= 1")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")

    def stopped(self) -> bool:
        """Whether the caller asked the search to end."""
        return self.stop is not None and self.stop.is_set()
