"""Run CP-SAT on a built task model and read the solution back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from solver.task.builder import TaskModel
from solver.task.data import TaskProblem
from solver.task.solution import TaskSolution

logger = logging.getLogger(__name__)

# How often a cancelled search is told again to stop: CP-SAT ignores a
# stop request that arrives before its search starts (during presolve).
_STOP_POLL_S = 0.05


@dataclass(frozen=True)
class RunLimits:
    """Limits and determinism of one CP-SAT run.

    Parameters
    ----------
    time_limit_s
        Wall-clock limit (always set: it is the safety net).
    deterministic_time
        CP-SAT deterministic-time limit, or None.
    seed, num_workers
        CP-SAT's random seed and search workers.
    interleave
        Interleaved search: deterministic whatever the number of workers.
    light_presolve
        Skip probing and symmetry detection: on the small models of a
        neighbourhood search they cost more than they save (probing alone
        took most of a 1 s limit on 140-task neighbourhoods).
    """

    time_limit_s: float
    deterministic_time: float | None
    seed: int
    num_workers: int
    interleave: bool = False
    light_presolve: bool = False

    def parameters(self) -> dict[str, object]:
        """The CP-SAT parameters these limits set, for provenance."""
        params: dict[str, object] = {
            "random_seed": self.seed,
            "num_workers": self.num_workers,
        }
        if self.deterministic_time is not None:
            params["max_deterministic_time"] = round(self.deterministic_time, 6)
        if self.interleave:
            params["interleave_search"] = True
        if self.light_presolve:
            params["cp_model_probing_level"] = 0
            params["symmetry_level"] = 0
        return params


@dataclass(frozen=True)
class RunOutcome:
    """What one CP-SAT run returned.

    Parameters
    ----------
    status_name
        CP-SAT's status (``OPTIMAL``, ``FEASIBLE``, ``UNKNOWN``, ...).
    has_solution
        Whether a solution was found.
    objective, bound
        Objective and best bound of the model (over its free jobs).
    deterministic_time, wall_time_s
        Work spent.
    num_solutions
        Improving solutions seen by the callback.
    """

    status_name: str
    has_solution: bool
    objective: int
    bound: int
    deterministic_time: float
    wall_time_s: float
    num_solutions: int

    @property
    def optimal(self) -> bool:
        return self.status_name == "OPTIMAL"


class _Progress(cp_model.CpSolverSolutionCallback):
    """Counts improving solutions and passes each on."""

    def __init__(self, on_solution: Callable[[int, int], None] | None) -> None:
        super().__init__()
        self._on_solution = on_solution
        self.count = 0

    def on_solution_callback(self) -> None:
        self.count += 1
        if self._on_solution is not None:
            self._on_solution(
                int(round(self.objective_value)), int(round(self.best_objective_bound))
            )


def run_model(
    task_model: TaskModel,
    limits: RunLimits,
    stop: threading.Event | None = None,
    on_solution: Callable[[int, int], None] | None = None,
) -> tuple[RunOutcome, cp_model.CpSolver]:
    """Solve a built model under the limits; `stop` ends it early."""
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(0.01, limits.time_limit_s)
    params.random_seed = limits.seed
    params.num_workers = limits.num_workers
    if limits.deterministic_time is not None:
        params.max_deterministic_time = max(0.001, limits.deterministic_time)
    if limits.interleave:
        params.interleave_search = True
    if limits.light_presolve:
        params.cp_model_probing_level = 0
        params.symmetry_level = 0

    callback = _Progress(on_solution)
    finished = threading.Event()
    watcher = None
    if stop is not None:
        watcher = threading.Thread(
            target=_stop_when_asked, args=(solver, stop, finished), daemon=True
        )
        watcher.start()
    started = time.perf_counter()
    try:
        status = solver.solve(task_model.model, callback)
    finally:
        finished.set()
        if watcher is not None:
            watcher.join()
    wall = time.perf_counter() - started

    has_solution = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    outcome = RunOutcome(
        status_name=solver.status_name(status),
        has_solution=has_solution,
        objective=int(round(solver.objective_value)) if has_solution else 0,
        bound=int(round(solver.best_objective_bound)) if has_solution else 0,
        deterministic_time=solver.deterministic_time,
        wall_time_s=wall,
        num_solutions=callback.count,
    )
    return outcome, solver


def _stop_when_asked(
    solver: cp_model.CpSolver, stop: threading.Event, finished: threading.Event
) -> None:
    """Tell the solver to stop, again and again, once `stop` is set."""
    while not finished.is_set():
        if stop.wait(_STOP_POLL_S):
            solver.stop_search()
            while not finished.wait(_STOP_POLL_S):
                solver.stop_search()
            return


def read_solution(
    problem: TaskProblem,
    task_model: TaskModel,
    solver: cp_model.CpSolver,
    base: TaskSolution,
) -> TaskSolution:
    """The base solution with the model's free jobs and tasks replaced."""
    solution = base.copy()
    for job_idx, presence in task_model.job_presence.items():
        solution.scheduled[job_idx] = bool(solver.boolean_value(presence))
    for task_idx in task_model.free_tasks:
        solution.start[task_idx] = solution.end[task_idx] = -1
        solution.resource[task_idx] = solution.second_resource[task_idx] = -1
        for alt, literal in task_model.task_alternatives[task_idx]:
            if solver.boolean_value(literal):
                start = int(solver.value(task_model.task_start[task_idx]))
                solution.start[task_idx] = start
                solution.end[task_idx] = start + problem.tasks[task_idx].duration_min
                solution.resource[task_idx] = alt.resource
                solution.second_resource[task_idx] = alt.second_resource
                break
    return solution
