"""Large-neighbourhood search on top of a starting task plan.

Each step frees a few related jobs (a costly job and the jobs whose tasks
sit near it on the resources it can use, or share a task with it), keeps
every other task where it is as a blockage, re-solves the freed jobs with
CP-SAT under a small limit starting from their current placement, and
keeps the result when it is strictly cheaper. The neighbourhood grows
while sub-solves are proven optimal and shrinks while they time out.

Everything random comes from one `random.Random(seed)`, and in
reproducible mode every limit is counted in deterministic work, so the
same data and seed give the same steps and the same plan.
"""

from __future__ import annotations

import logging
import math
import random
import time
from bisect import bisect_left, insort
from dataclasses import dataclass

from solver.task.builder import TaskModelBuilder
from solver.task.cpsat import RunLimits, read_solution, run_model
from solver.task.data import TaskProblem
from solver.task.result import SearchParams
from solver.task.solution import TaskSolution, evaluate, job_late_min

logger = logging.getLogger(__name__)

# Neighbourhood size, in free tasks, and how it adapts.
INITIAL_FREE_TASKS = 40
MIN_FREE_TASKS = 8
MAX_FREE_TASKS = 400
GROW, SHRINK = 1.15, 0.8
# Alternatives kept per free task: the ones allowing the earliest start.
MAX_ALTERNATIVES = 8
# Limits of one sub-solve.
STEP_TIME_LIMIT_S = 1.5
MIN_STEP_SEARCH_S = 0.2
STEP_DETERMINISTIC_TIME = 0.3
# Tasks within this many minutes of a costly job's window are related.
RELATED_MARGIN_MIN = 90
# Deterministic charge for building a sub-model, per alternative: a
# count-based stand-in for Python's build time, about 25 us each when
# measured on the 2-core development machine.
BUILD_WORK_PER_ALTERNATIVE = 2.5e-5


@dataclass
class LnsOutcome:
    """What the neighbourhood search did."""

    solution: TaskSolution
    objective: int
    iterations: int
    improvements: int
    work: float
    hit_wall_clock: bool
    cancelled: bool


class NeighbourhoodSearch:
    """Improve a solution by re-solving neighbourhoods of related jobs.

    Parameters
    ----------
    problem
        The index data.
    start
        A complete, valid solution to improve (the greedy plan).
    params
        Limits, seed, determinism, stop flag and progress callback.
    lower_bound
        A proven lower bound: reaching it ends the search.
    """

    def __init__(
        self,
        problem: TaskProblem,
        start: TaskSolution,
        params: SearchParams,
        lower_bound: int = 0,
    ) -> None:
        self._problem = problem
        self._params = params
        self._lower_bound = lower_bound
        self._current = start.copy()
        costs = evaluate(problem, start)
        self._cost = list(costs.cost)
        self._objective = costs.total
        self._rng = random.Random(params.seed)
        self._fails = [0] * problem.num_jobs
        self._free_task_budget = float(INITIAL_FREE_TASKS)
        self._last_build_s = 0.0
        # Per resource: (start, task) of the tasks placed on it, sorted.
        self._usage: list[list[tuple[int, int]]] = [[] for _ in problem.resources]
        for task_idx in range(problem.num_tasks):
            self._add_usage(task_idx)

    # ------------------------------------------------------------------
    # The loop

    def run(
        self, started: float, wall_deadline: float, work_budget: float | None
    ) -> LnsOutcome:
        """Search until the limit, the budget, the bound or a stop request."""
        iterations = improvements = 0
        work = 0.0
        hit_wall = cancelled = False
        while self._objective > self._lower_bound:
            if self._params.stopped():
                cancelled = True
                break
            remaining_s = wall_deadline - time.perf_counter()
            # A step is worth starting only if it can build its model and
            # still search a little before the deadline.
            if remaining_s < 2 * self._last_build_s + MIN_STEP_SEARCH_S:
                hit_wall = work_budget is not None
                break
            if work_budget is not None and work >= work_budget:
                break
            free_jobs = self._choose_jobs()
            if not free_jobs:
                break
            step_work, improved = self._step(
                free_jobs, iterations, remaining_s, work_budget, work
            )
            work += step_work
            iterations += 1
            if improved:
                improvements += 1
                self._report(started)
        logger.info(
            "lns: %d steps, %d improvements, objective %d, work %.2f",
            iterations,
            improvements,
            self._objective,
            work,
        )
        return LnsOutcome(
            solution=self._current,
            objective=self._objective,
            iterations=iterations,
            improvements=improvements,
            work=work,
            hit_wall_clock=hit_wall,
            cancelled=cancelled,
        )

    def _step(
        self,
        free_jobs: list[int],
        iteration: int,
        remaining_s: float,
        work_budget: float | None,
        work_so_far: float,
    ) -> tuple[float, bool]:
        """Re-solve one neighbourhood; returns (work spent, improved)."""
        problem, params = self._problem, self._params
        build_started = time.perf_counter()
        builder = TaskModelBuilder(
            problem, free_jobs, self._current, MAX_ALTERNATIVES, self._usage
        )
        task_model = builder.build()
        self._last_build_s = time.perf_counter() - build_started
        remaining_s -= self._last_build_s
        build_work = BUILD_WORK_PER_ALTERNATIVE * task_model.num_alternatives

        deterministic_time = None
        if work_budget is not None:
            deterministic_time = min(
                STEP_DETERMINISTIC_TIME,
                max(0.01, work_budget - work_so_far - build_work),
            )
        # In reproducible mode only the deterministic limit may end a step;
        # the wall clock is left to the whole search's deadline.
        step_wall_s = remaining_s if work_budget is not None else STEP_TIME_LIMIT_S
        limits = RunLimits(
            time_limit_s=max(0.05, min(step_wall_s, remaining_s)),
            deterministic_time=deterministic_time,
            seed=(params.seed + iteration) % (2**31 - 1),
            num_workers=params.num_workers,
            interleave=params.reproducible,
            light_presolve=True,
        )
        outcome, solver = run_model(task_model, limits, params.stop)
        # Charge the step's cap, not the measured time, so the budget is
        # spent the same way on every run.
        step_work = build_work + (
            deterministic_time
            if deterministic_time is not None
            else outcome.deterministic_time
        )
        self._adapt_size(outcome.optimal)

        current_cost = sum(self._cost[j] for j in task_model.free_jobs)
        logger.debug(
            "lns step %d: %d jobs, %d tasks, %d alternatives: %s %s (was %d) "
            "in %.2fs, dtime %.3f",
            iteration,
            len(task_model.free_jobs),
            len(task_model.free_tasks),
            task_model.num_alternatives,
            outcome.status_name,
            outcome.objective if outcome.has_solution else "-",
            current_cost,
            outcome.wall_time_s,
            outcome.deterministic_time,
        )
        if not outcome.has_solution or outcome.objective >= current_cost:
            for job_idx in free_jobs:
                self._fails[job_idx] += 1
            return step_work, False

        candidate = read_solution(problem, task_model, solver, self._current)
        self._apply(candidate, task_model.free_jobs, task_model.free_tasks)
        return step_work, True

    def _adapt_size(self, proven: bool) -> None:
        factor = GROW if proven else SHRINK
        self._free_task_budget = min(
            MAX_FREE_TASKS, max(MIN_FREE_TASKS, self._free_task_budget * factor)
        )

    def _apply(
        self, candidate: TaskSolution, free_jobs: list[int], free_tasks: list[int]
    ) -> None:
        for task_idx in free_tasks:
            self._remove_usage(task_idx)
        self._current = candidate
        for task_idx in free_tasks:
            self._add_usage(task_idx)
        for job_idx in free_jobs:
            job = self._problem.jobs[job_idx]
            if candidate.scheduled[job_idx]:
                late = job_late_min(self._problem, job_idx, candidate.end)
                self._cost[job_idx] = job.lateness_weight * late
            else:
                self._cost[job_idx] = job.unscheduled_cost
            self._fails[job_idx] = 0
        self._objective = sum(self._cost)

    def _report(self, started: float) -> None:
        if self._params.on_progress is not None:
            self._params.on_progress(
                self._objective, self._lower_bound, time.perf_counter() - started
            )

    # ------------------------------------------------------------------
    # Neighbourhoods

    def _choose_jobs(self) -> list[int]:
        """A costly job and the jobs related to it, up to the task budget."""
        current = self._current
        late = [j for j, c in enumerate(self._cost) if c > 0 and current.scheduled[j]]
        missing = [
            j for j, c in enumerate(self._cost) if c > 0 and not current.scheduled[j]
        ]
        if not late and not missing:
            return []
        # Late and unscheduled jobs take turns as the seed: on a short day
        # most unscheduled jobs cannot be helped, and their costs would
        # otherwise crowd out the late ones.
        costly = late if late and (not missing or self._rng.random() < 0.5) else missing
        # Half the time by cost, half uniformly; jobs that failed to improve
        # lately are picked less, so the search moves on.
        if self._rng.random() < 0.5:
            weights = [math.log1p(self._cost[j]) / (1 + self._fails[j]) for j in costly]
        else:
            weights = [1.0 / (1 + self._fails[j]) for j in costly]
        seed_job = self._rng.choices(costly, weights=weights)[0]

        budget = int(self._free_task_budget)
        with_sharers = self._rng.random() < 0.25
        chosen: list[int] = []
        chosen_set: set[int] = set()
        num_tasks = 0
        for job_idx in [seed_job, *self._related_jobs(seed_job)]:
            if job_idx in chosen_set:
                continue
            # Freeing a load's other shipments lets its unload move too, at
            # the cost of room for other jobs: done for a quarter of steps.
            group = self._with_sharers(job_idx) if with_sharers else [job_idx]
            extra = sum(
                len(self._problem.job_tasks(j)) for j in group if j not in chosen_set
            )
            if chosen and num_tasks + extra > budget:
                continue
            for member in group:
                if member not in chosen_set:
                    chosen.append(member)
                    chosen_set.add(member)
            num_tasks += extra
            if num_tasks >= budget:
                break
        return chosen

    def _with_sharers(self, job_idx: int) -> list[int]:
        """A job and the jobs sharing one of its tasks (a load's unload)."""
        group = [job_idx]
        for task_idx in self._problem.job_tasks(job_idx):
            for other in self._problem.tasks[task_idx].jobs:
                if other not in group:
                    group.append(other)
        return group

    def _related_jobs(self, seed_job: int) -> list[int]:
        """Jobs with a task near the seed job's tasks on resources they share."""
        problem, current = self._problem, self._current
        scored: dict[int, float] = {}
        for task_idx in problem.job_tasks(seed_job):
            task = problem.tasks[task_idx]
            if current.done(task_idx):
                centre = current.start[task_idx]
                lo = min(task.release_min, centre) - RELATED_MARGIN_MIN
                hi = centre + RELATED_MARGIN_MIN
            else:
                centre = task.release_min
                lo = task.release_min - RELATED_MARGIN_MIN
                hi = task.release_min + 4 * RELATED_MARGIN_MIN
            groups = [task.group] + (
                [task.second_group] if task.second_group >= 0 else []
            )
            for group_idx in groups:
                for resource in problem.groups[group_idx]:
                    usage = self._usage[resource]
                    idx = bisect_left(usage, (lo, -1))
                    while idx < len(usage) and usage[idx][0] <= hi:
                        other_start, other_task = usage[idx]
                        distance = abs(other_start - centre) + self._rng.random()
                        for job_idx in problem.tasks[other_task].jobs:
                            if job_idx != seed_job:
                                scored[job_idx] = min(
                                    scored.get(job_idx, math.inf), distance
                                )
                        idx += 1
        return sorted(scored, key=lambda j: (scored[j], j))

    # ------------------------------------------------------------------
    # Resource usage index

    def _add_usage(self, task_idx: int) -> None:
        current = self._current
        if not current.done(task_idx):
            return
        entry = (current.start[task_idx], task_idx)
        for resource in (current.resource[task_idx], current.second_resource[task_idx]):
            if resource >= 0:
                insort(self._usage[resource], entry)

    def _remove_usage(self, task_idx: int) -> None:
        current = self._current
        if not current.done(task_idx):
            return
        entry = (current.start[task_idx], task_idx)
        for resource in (current.resource[task_idx], current.second_resource[task_idx]):
            if resource >= 0:
                usage = self._usage[resource]
                idx = bisect_left(usage, entry)
                if idx < len(usage) and usage[idx] == entry:
                    usage.pop(idx)
