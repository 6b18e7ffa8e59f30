"""Tests of the index-based task model: data checks, builder, bound, search.

Times are minutes from the start of the horizon. Each problem is small
enough to solve by hand; the comments give the reasoning.
"""

from __future__ import annotations

import threading

import pytest

from solver.task import (
    JobData,
    Precedence,
    ReleaseSource,
    ResourceData,
    SearchParams,
    TaskData,
    TaskModelBuilder,
    TaskProblem,
    TaskSolution,
    TaskStatus,
    chain_bound,
    evaluate,
    improve,
    job_late_min,
)
from solver.task.cpsat import RunLimits, read_solution, run_model


def _job(due: int, weight: int = 1, task: int = 0, cost: int = 1_000) -> JobData:
    return JobData(
        unscheduled_cost=cost,
        lateness_weight=weight,
        due_min=due,
        release_from=(ReleaseSource(task, 0),),
    )


def _solve(problem: TaskProblem, base: TaskSolution | None = None) -> TaskSolution:
    """Solve every job of a small problem to optimality."""
    model = TaskModelBuilder(problem, list(range(problem.num_jobs)), base).build()
    outcome, solver = run_model(model, RunLimits(10.0, None, seed=0, num_workers=1))
    assert outcome.optimal
    return read_solution(problem, model, solver, base or TaskSolution.empty(problem))


# --------------------------------------------------------------------------
# Data


def test_task_data_refuses_a_zero_duration() -> None:
    """A task of 0 minutes is refused with the field named."""
    with pytest.raises(ValueError, match="duration_min"):
        TaskData(duration_min=0, release_min=0, group=0, jobs=(0,))


def test_resource_data_refuses_overlapping_windows() -> None:
    """Windows must be sorted and disjoint."""
    with pytest.raises(ValueError, match="sorted and disjoint"):
        ResourceData(windows=((0, 60), (30, 90)))


def test_task_problem_refuses_an_unknown_group() -> None:
    """A task naming a group that does not exist is refused."""
    with pytest.raises(ValueError, match=r"tasks\[0\].group"):
        TaskProblem(
            horizon_min=100,
            resources=(ResourceData(windows=((0, 100),)),),
            groups=((0,),),
            tasks=(TaskData(duration_min=5, release_min=0, group=1, jobs=(0,)),),
            precedences=(),
            jobs=(_job(10),),
        )


# --------------------------------------------------------------------------
# Lateness and the chain bound


def test_job_late_min_credits_the_wait_for_an_appointment() -> None:
    """Release 200, due 100, appointment 150 after a task ending 90 (+20): 70 late."""
    problem = TaskProblem(
        horizon_min=400,
        resources=(ResourceData(windows=((0, 400),)),),
        groups=((0,),),
        tasks=(
            TaskData(duration_min=10, release_min=80, group=0, jobs=(0,)),
            TaskData(duration_min=30, release_min=150, group=0, jobs=(0,)),
        ),
        precedences=(Precedence(0, 1, 20),),
        jobs=(
            JobData(
                unscheduled_cost=1_000,
                lateness_weight=3,
                due_min=100,
                release_from=(ReleaseSource(1, 20),),
                credit_task=0,
                credit_offset_min=20,
                credit_until_min=150,
            ),
        ),
    )
    ends = [90, 180]
    # release 180 + 20 = 200; credit max(0, 150 - (90 + 20)) = 40.
    assert job_late_min(problem, 0, ends) == 200 - 100 - 40


def test_chain_bound_counts_unavoidable_lateness_and_unreachable_jobs() -> None:
    """Job 0 cannot end before 70 (due 50): 20 x 2; job 1 fits nowhere: its cost."""
    problem = TaskProblem(
        horizon_min=200,
        resources=(ResourceData(windows=((40, 120),)),),
        groups=((0,),),
        tasks=(
            TaskData(duration_min=30, release_min=0, group=0, jobs=(0,)),
            TaskData(duration_min=90, release_min=0, group=0, jobs=(1,)),
        ),
        precedences=(),
        jobs=(_job(50, weight=2, task=0), _job(50, task=1, cost=777)),
    )

    bound = chain_bound(problem)

    assert bound.earliest_end == [70, -1]
    assert bound.unreachable_jobs == [1]
    assert bound.job_bound == [40, 777]
    assert bound.total == 817


def test_chain_bound_prefers_unscheduling_when_lateness_costs_more() -> None:
    """A job 100 min late at weight 10 costs 1,000; leaving it out costs 300."""
    problem = TaskProblem(
        horizon_min=400,
        resources=(ResourceData(windows=((100, 400),)),),
        groups=((0,),),
        tasks=(TaskData(duration_min=10, release_min=0, group=0, jobs=(0,)),),
        precedences=(),
        jobs=(_job(10, weight=10, cost=300),),
    )

    assert chain_bound(problem).total == 300


# --------------------------------------------------------------------------
# The builder


def test_model_orders_two_tasks_on_one_resource_by_weight() -> None:
    """Two 30-min tasks due at 30: the heavier goes first, the other is 30 late."""
    problem = TaskProblem(
        horizon_min=120,
        resources=(ResourceData(windows=((0, 120),)),),
        groups=((0,),),
        tasks=(
            TaskData(duration_min=30, release_min=0, group=0, jobs=(0,)),
            TaskData(duration_min=30, release_min=0, group=0, jobs=(1,)),
        ),
        precedences=(),
        jobs=(_job(30, weight=1, task=0), _job(30, weight=5, task=1)),
    )

    solution = _solve(problem)

    assert (solution.start, solution.end) == ([30, 0], [60, 30])
    assert evaluate(problem, solution).lateness == 30


def test_model_keeps_a_task_inside_one_window() -> None:
    """A 40-min task released at 50 with windows [0,60) and [90,200) starts at 90."""
    problem = TaskProblem(
        horizon_min=200,
        resources=(ResourceData(windows=((0, 60), (90, 200))),),
        groups=((0,),),
        tasks=(TaskData(duration_min=40, release_min=50, group=0, jobs=(0,)),),
        precedences=(),
        jobs=(_job(0),),
    )

    solution = _solve(problem)

    assert (solution.start[0], solution.end[0]) == (90, 130)


def test_model_uses_only_eligible_resources_and_precedence_delays() -> None:
    """Task 1 waits 20 min after task 0 and runs on resource 1, its only choice."""
    problem = TaskProblem(
        horizon_min=200,
        resources=(
            ResourceData(windows=((0, 200),)),
            ResourceData(windows=((0, 200),)),
        ),
        groups=((0,), (1,)),
        tasks=(
            TaskData(duration_min=15, release_min=5, group=0, jobs=(0,)),
            TaskData(duration_min=10, release_min=0, group=1, jobs=(0,)),
        ),
        precedences=(Precedence(0, 1, 20),),
        jobs=(_job(0, task=1),),
    )

    solution = _solve(problem)

    assert solution.resource == [0, 1]
    assert (solution.start, solution.end) == ([5, 40], [20, 50])


def test_model_unschedules_a_job_without_room() -> None:
    """A 90-min task with only 60 free minutes leaves its job out, at its cost."""
    problem = TaskProblem(
        horizon_min=100,
        resources=(ResourceData(windows=((0, 60),)),),
        groups=((0,),),
        tasks=(TaskData(duration_min=90, release_min=0, group=0, jobs=(0,)),),
        precedences=(),
        jobs=(_job(0, cost=123),),
    )

    solution = _solve(problem)

    assert solution.scheduled == [False]
    assert evaluate(problem, solution).unscheduled == 123


def test_model_holds_both_resources_of_a_two_resource_task() -> None:
    """An exam needs a broker and a door: two exams share the one door in turn."""
    problem = TaskProblem(
        horizon_min=200,
        resources=(
            ResourceData(windows=((0, 200),)),  # broker A
            ResourceData(windows=((0, 200),)),  # broker B
            ResourceData(windows=((0, 200),)),  # the exam door
        ),
        groups=((0, 1), (2,)),
        tasks=(
            TaskData(
                duration_min=30, release_min=0, group=0, jobs=(0,), second_group=1
            ),
            TaskData(
                duration_min=30, release_min=0, group=0, jobs=(1,), second_group=1
            ),
        ),
        precedences=(),
        jobs=(_job(30, task=0), _job(30, weight=2, task=1)),
    )

    solution = _solve(problem)

    assert solution.second_resource == [2, 2]
    assert sorted(zip(solution.start, solution.end, strict=True)) == [(0, 30), (30, 60)]
    # The heavier job goes first; the other is 30 min late at weight 1.
    assert evaluate(problem, solution).total == 30


def test_model_does_a_shared_task_once_for_all_its_jobs() -> None:
    """An unload shared by two jobs is done once; both exams follow it."""
    problem = TaskProblem(
        horizon_min=300,
        resources=(
            ResourceData(windows=((0, 300),)),  # door
            ResourceData(windows=((0, 300),)),  # broker
        ),
        groups=((0,), (1,)),
        tasks=(
            TaskData(duration_min=20, release_min=10, group=0, jobs=(0, 1)),
            TaskData(duration_min=15, release_min=0, group=1, jobs=(0,)),
            TaskData(duration_min=15, release_min=0, group=1, jobs=(1,)),
        ),
        precedences=(Precedence(0, 1), Precedence(0, 2)),
        jobs=(_job(0, task=1), _job(0, weight=3, task=2)),
    )

    solution = _solve(problem)

    assert solution.start[0] == 10
    # The heavier job's task goes first at 30; the other at 45.
    assert (solution.start[2], solution.start[1]) == (30, 45)


def test_model_respects_fixed_tasks_of_the_base_solution() -> None:
    """With job 0 fixed at 0-30, job 1's task starts at 30 on the same resource."""
    problem = TaskProblem(
        horizon_min=120,
        resources=(ResourceData(windows=((0, 120),)),),
        groups=((0,),),
        tasks=(
            TaskData(duration_min=30, release_min=0, group=0, jobs=(0,)),
            TaskData(duration_min=30, release_min=0, group=0, jobs=(1,)),
        ),
        precedences=(),
        jobs=(_job(30, task=0), _job(0, weight=9, task=1)),
    )
    base = TaskSolution.empty(problem)
    base.scheduled[0] = True
    base.start[0], base.end[0], base.resource[0] = 0, 30, 0

    model = TaskModelBuilder(problem, [1], base).build()
    outcome, solver = run_model(model, RunLimits(5.0, None, seed=0, num_workers=1))
    solution = read_solution(problem, model, solver, base)

    assert model.free_tasks == [1]
    assert (solution.start, solution.end) == ([0, 30], [30, 60])
    assert outcome.objective == 9 * 60


# --------------------------------------------------------------------------
# The search


def _queue_problem(num_jobs: int, num_resources: int) -> TaskProblem:
    """Jobs of 20 min released at 0; even jobs weigh 10 and are due at 20."""
    return TaskProblem(
        horizon_min=2_000,
        resources=tuple(
            ResourceData(windows=((0, 2_000),)) for _ in range(num_resources)
        ),
        groups=(tuple(range(num_resources)),),
        tasks=tuple(
            TaskData(duration_min=20, release_min=0, group=0, jobs=(j,))
            for j in range(num_jobs)
        ),
        precedences=(),
        jobs=tuple(
            _job(20 if j % 2 == 0 else 1_000, weight=10 if j % 2 == 0 else 1, task=j)
            for j in range(num_jobs)
        ),
    )


def _in_index_order(problem: TaskProblem, num_resources: int) -> TaskSolution:
    """A plan taking jobs in index order, round robin: not the best."""
    solution = TaskSolution.empty(problem)
    for j in range(problem.num_jobs):
        resource, round_ = j % num_resources, j // num_resources
        solution.scheduled[j] = True
        solution.start[j], solution.end[j] = 20 * round_, 20 * round_ + 20
        solution.resource[j] = resource
    return solution


def test_improve_full_model_reaches_the_proven_optimum() -> None:
    """8 jobs on 2 resources: the 4 heavy ones first, 2 of them 20 min late."""
    problem = _queue_problem(8, 2)
    start = _in_index_order(problem, 2)
    # In index order the heavy jobs end at 20, 40, 60 and 80.
    assert evaluate(problem, start).total == 10 * (0 + 20 + 40 + 60)

    result = improve(problem, start, SearchParams(time_limit_s=10.0, num_workers=1))

    # Heavy jobs first: 2 end at 20, 2 at 40; light ones long before 1,000.
    assert result.status == TaskStatus.optimal
    assert result.objective == result.bound == 10 * (20 + 20)
    assert result.method == "full_model"


def test_improve_lns_improves_and_is_reproducible() -> None:
    """Forced to LNS, the search improves the plan, the same way with one seed."""
    problem = _queue_problem(16, 4)
    start = _in_index_order(problem, 4)
    params = SearchParams(
        time_limit_s=60.0,  # a safety net only: the work budget ends it
        seed=5,
        num_workers=2,
        reproducible=True,
        work_budget=0.2,
        full_model_max_alternatives=0,
    )

    first = improve(problem, start, params)
    second = improve(problem, start, params)

    assert first.method == "lns"
    assert first.objective < evaluate(problem, start).total
    assert first.status in (TaskStatus.feasible, TaskStatus.optimal)
    assert not first.hit_wall_clock
    assert first.solution == second.solution
    assert first.iterations == second.iterations


def test_improve_stopped_returns_the_start_solution_cancelled() -> None:
    """A stop flag set before the search returns the start, cancelled."""
    problem = _queue_problem(8, 2)
    start = _in_index_order(problem, 2)
    stop = threading.Event()
    stop.set()

    result = improve(problem, start, SearchParams(time_limit_s=10.0, stop=stop))

    assert result.status == TaskStatus.cancelled
    assert result.solution == start
