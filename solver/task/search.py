"""Improve a starting task plan: one CP-SAT model when small, LNS when large.

A single model of thousands of jobs finds nothing useful in a minute, so
above `SearchParams.full_model_max_alternatives` task alternatives the
search is a large-neighbourhood search (`solver.task.lns`) on top of the
starting plan. Small problems are solved as one model with the starting
plan as the hint, which can prove optimality.

Bounds: the chain bound (`solver.task.bound`) is always valid. CP-SAT's
own bound of a full model is valid too, except when tasks may pause over
breaks: the model never pauses (see `solver.task.builder`), so it solves a
restriction and its bound says nothing about plans that pause.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from solver.task.bound import chain_bound
from solver.task.builder import TaskModelBuilder
from solver.task.cpsat import RunLimits, read_solution, run_model
from solver.task.data import TaskProblem
from solver.task.lns import (
    MAX_ALTERNATIVES,
    STEP_DETERMINISTIC_TIME,
    STEP_TIME_LIMIT_S,
    NeighbourhoodSearch,
)
from solver.task.result import SearchParams, TaskResult, TaskStatus, gap_of
from solver.task.solution import TaskSolution, evaluate

logger = logging.getLogger(__name__)

CHAIN_BOUND_REASON = (
    "lower bound from each shipment planned alone (contention between "
    "shipments ignored); the decomposed search proves no tighter bound"
)
# Units of deterministic work a reproducible search may spend per second
# of its time limit. On the 2-core development machine, busy with other
# jobs, CP-SAT's interleaved search advanced well under 0.6 units a
# wall-clock second; a quarter keeps the wall clock (the safety net that
# would make two runs differ) from ending it.
WORK_PER_SECOND = 0.25


def count_alternatives(problem: TaskProblem) -> int:
    """Task alternatives of the full model: resources (or pairs) per task."""
    total = 0
    for task in problem.tasks:
        count = len(problem.groups[task.group])
        if task.second_group >= 0:
            count *= len(problem.groups[task.second_group])
        total += count
    return total


def improve(
    problem: TaskProblem,
    start: TaskSolution,
    params: SearchParams,
    lower_bound: int | None = None,
) -> TaskResult:
    """Search for a cheaper solution than `start` within the limits.

    Parameters
    ----------
    problem
        The index data.
    start
        A complete, valid solution (the greedy plan); it is the hint and
        the answer when nothing better is found.
    params
        Limits, seed, determinism, stop flag and progress callback.
    lower_bound
        The chain bound of `problem` when already computed.

    Returns
    -------
    TaskResult
        Never empty: at worst `start` with status ``unimproved``.
    """
    started = time.perf_counter()
    bound = chain_bound(problem).total if lower_bound is None else lower_bound
    start_objective = evaluate(problem, start).total
    logger.info(
        "task search: %d jobs, %d tasks, start objective %d, chain bound %d",
        problem.num_jobs,
        problem.num_tasks,
        start_objective,
        bound,
    )

    if start_objective <= bound:
        return _result(
            TaskStatus.optimal, start, start_objective, bound, started, "none"
        )
    if params.stopped():
        return _result(
            TaskStatus.cancelled, start, start_objective, bound, started, "none"
        )
    if params.time_limit_s <= 0:
        return _result(
            TaskStatus.unimproved, start, start_objective, bound, started, "none"
        )

    if count_alternatives(problem) <= params.full_model_max_alternatives:
        return _solve_full_model(
            problem, start, start_objective, bound, params, started
        )
    return _search_neighbourhoods(
        problem, start, start_objective, bound, params, started
    )


def _work_budget(params: SearchParams) -> float | None:
    if not params.reproducible:
        return None
    if params.work_budget is not None:
        return params.work_budget
    return params.time_limit_s * WORK_PER_SECOND


def _solve_full_model(
    problem: TaskProblem,
    start: TaskSolution,
    start_objective: int,
    chain: int,
    params: SearchParams,
    started: float,
) -> TaskResult:
    """One CP-SAT model of every job, hinted with the starting solution."""
    task_model = TaskModelBuilder(problem, list(range(problem.num_jobs)), start).build()
    remaining_s = params.time_limit_s - (time.perf_counter() - started)
    limits = RunLimits(
        time_limit_s=max(0.05, remaining_s),
        deterministic_time=_work_budget(params),
        seed=params.seed,
        num_workers=params.num_workers,
        interleave=params.reproducible,
    )

    reported = [start_objective]

    def on_solution(objective: int, cp_bound: int) -> None:
        if params.on_progress is not None and objective < reported[-1]:
            valid = cp_bound if not problem.pause_over_breaks else chain
            reported.append(objective)
            params.on_progress(
                objective, max(chain, valid), time.perf_counter() - started
            )

    outcome, solver = run_model(task_model, limits, params.stop, on_solution)
    bound = chain
    if outcome.has_solution and not problem.pause_over_breaks:
        bound = max(bound, outcome.bound)
    cancelled = params.stopped()
    logger.info(
        "task search: full model (%d alternatives) %s, objective %s, bound %d",
        task_model.num_alternatives,
        outcome.status_name,
        outcome.objective if outcome.has_solution else "-",
        bound,
    )

    solution, objective, improved = start, start_objective, False
    if outcome.has_solution and outcome.objective < start_objective:
        solution = read_solution(problem, task_model, solver, start)
        objective = evaluate(problem, solution).total
        improved = objective < start_objective
        # A search stopped by its limit may leave slack in lateness
        # variables (they are only bounded below), so the solution can be
        # better than the model says; the evaluated figure is the real one.
        if params.on_progress is not None and improved and objective < reported[-1]:
            reported.append(objective)
            params.on_progress(
                objective, max(chain, bound), time.perf_counter() - started
            )
        if not improved:
            solution, objective = start, start_objective

    if objective <= bound:
        status = TaskStatus.optimal
    elif cancelled:
        status = TaskStatus.cancelled
    elif improved:
        status = TaskStatus.feasible
    else:
        status = TaskStatus.unimproved
    result = _result(status, solution, objective, bound, started, "full_model")
    return _with(
        result,
        iterations=1,
        improvements=outcome.num_solutions if improved else 0,
        work=outcome.deterministic_time,
        parameters={"method": "full_model", **limits.parameters()},
        bound_reason=(
            "CP-SAT bound of the whole model"
            if bound > chain
            else "lower bound from each shipment planned alone"
        ),
    )


def _search_neighbourhoods(
    problem: TaskProblem,
    start: TaskSolution,
    start_objective: int,
    chain: int,
    params: SearchParams,
    started: float,
) -> TaskResult:
    search = NeighbourhoodSearch(problem, start, params, lower_bound=chain)
    work_budget = _work_budget(params)
    outcome = search.run(started, started + params.time_limit_s, work_budget)

    improved = outcome.objective < start_objective
    if outcome.objective <= chain:
        status = TaskStatus.optimal
    elif outcome.cancelled:
        status = TaskStatus.cancelled
    elif improved:
        status = TaskStatus.feasible
    else:
        status = TaskStatus.unimproved
    solution = outcome.solution if improved else start
    objective = outcome.objective if improved else start_objective
    result = _result(status, solution, objective, chain, started, "lns")
    parameters: dict[str, object] = {
        "method": "lns",
        "seed": params.seed,
        "num_workers": params.num_workers,
        "interleave_search": params.reproducible,
        "step_time_limit_s": STEP_TIME_LIMIT_S,
        "step_deterministic_time": STEP_DETERMINISTIC_TIME,
        "max_alternatives": MAX_ALTERNATIVES,
    }
    if work_budget is not None:
        parameters["work_budget"] = round(work_budget, 6)
    return _with(
        result,
        iterations=outcome.iterations,
        improvements=outcome.improvements,
        work=outcome.work,
        hit_wall_clock=outcome.hit_wall_clock,
        parameters=parameters,
    )


def _result(
    status: TaskStatus,
    solution: TaskSolution,
    objective: int,
    bound: int,
    started: float,
    method: str,
) -> TaskResult:
    return TaskResult(
        status=status,
        solution=solution,
        objective=objective,
        bound=bound,
        bound_reason=CHAIN_BOUND_REASON,
        gap=gap_of(objective, bound),
        runtime_s=time.perf_counter() - started,
        method=method,
    )


def _with(result: TaskResult, **changes: Any) -> TaskResult:
    return replace(result, **changes)
