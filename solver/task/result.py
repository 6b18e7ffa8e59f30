"""The result of improving a task plan, and the parameters of the search."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from solver.task.solution import TaskSolution

ProgressCallback = Callable[[int, int | None, float], None]


class TaskStatus(StrEnum):
    """How the search ended.

    ``optimal`` only when a proven bound equals the objective; ``feasible``
    when the search beat its starting solution and a limit stopped it;
    ``unimproved`` when nothing beat the starting solution; ``cancelled``
    when the stop flag ended it (the best solution so far is kept).
    """

    optimal = "optimal"
    feasible = "feasible"
    unimproved = "unimproved"
    cancelled = "cancelled"


@dataclass(frozen=True)
class SearchParams:
    """How to search.

    Parameters
    ----------
    time_limit_s
        Wall-clock limit of the search (model building included).
    seed
        Seed of CP-SAT and of the neighbourhood choice.
    num_workers
        CP-SAT search workers.
    reproducible
        Same data, same result: CP-SAT runs interleaved (deterministic)
        search under a deterministic time limit, and the neighbourhood
        search stops on a deterministic work budget instead of the clock.
        The wall-clock limit still ends the search as a safety net; a run
        that hits it is no longer reproducible, and says so in the result.
    work_budget
        Reproducible mode only: the deterministic work budget (CP-SAT
        deterministic time plus a count-based charge for model building,
        both about a second per unit on a 2-core machine). None derives it
        from `time_limit_s`.
    full_model_max_alternatives
        Solve the whole problem as one CP-SAT model when it has at most
        this many task alternatives; else use neighbourhood search.
    stop
        When set, the search ends early with status ``cancelled``.
    on_progress
        Called with (objective, bound, elapsed_s) on each improvement.
    """

    time_limit_s: float = 10.0
    seed: int = 0
    num_workers: int = 2
    reproducible: bool = False
    work_budget: float | None = None
    full_model_max_alternatives: int = 6_000
    stop: threading.Event | None = None
    on_progress: ProgressCallback | None = None

    def __post_init__(self) -> None:
        if self.time_limit_s < 0:
            raise ValueError("time_limit_s must be >= 0")
        if self.num_workers < 1:
            raise ValueError("num_workers must be >= 1")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()


@dataclass(frozen=True)
class TaskResult:
    """What the search found.

    Parameters
    ----------
    status
        See `TaskStatus`.
    solution
        The best solution (the starting one when nothing beat it).
    objective
        Its objective over the index data.
    bound
        A proven lower bound on the objective, or None.
    bound_reason
        Where the bound comes from, or why there is none.
    gap
        ``(objective - bound) / max(1, objective)`` when a bound is known.
    runtime_s
        Wall-clock time of the search.
    method
        ``"full_model"`` or ``"lns"`` (or ``"none"`` when no search ran).
    iterations, improvements
        Sub-solves run and solutions accepted.
    work
        Deterministic work spent (see `SearchParams.work_budget`).
    hit_wall_clock
        Whether the wall-clock limit, not the work budget, ended a
        reproducible search.
    parameters
        The CP-SAT and search parameters used, for provenance.
    """

    status: TaskStatus
    solution: TaskSolution
    objective: int
    bound: int | None
    bound_reason: str
    gap: float | None
    runtime_s: float
    method: str
    iterations: int = 0
    improvements: int = 0
    work: float = 0.0
    hit_wall_clock: bool = False
    parameters: dict[str, object] = field(default_factory=dict)


def gap_of(objective: int, bound: int | None) -> float | None:
    """Relative gap between an objective and a lower bound."""
    if bound is None:
        return None
    return max(0.0, (objective - bound) / max(1, abs(objective)))
