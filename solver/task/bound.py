"""A global lower bound on the task objective from each job alone.

Every job is looked at as if it had the site to itself: each task starts at
the earliest minute at which some resource of its group is available (the
union of the group's windows, breaks included when tasks may pause over
them) and its predecessors are done. No real plan can finish a task
earlier, so the lateness this gives is unavoidable; a job whose chain
cannot fit in the horizon even so must be unscheduled. Each job costs at
least the smaller of its unscheduled cost and its unavoidable lateness, and
the bound is the sum over jobs. It ignores contention between jobs, so it
is tight only on a quiet day.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass

from solver.task.data import TaskProblem, Window

UNREACHABLE = -1


@dataclass(frozen=True)
class ChainBound:
    """The bound and what it is made of.

    Parameters
    ----------
    total
        The lower bound on the objective.
    job_bound
        Per job: its share of the bound.
    earliest_end
        Per task: its earliest end, or `UNREACHABLE`.
    unreachable_jobs
        Jobs that cannot be scheduled in any plan.
    """

    total: int
    job_bound: list[int]
    earliest_end: list[int]
    unreachable_jobs: list[int]


def group_spans(problem: TaskProblem, group_idx: int) -> tuple[list[int], list[int]]:
    """Union of the windows (and pausable breaks) of a group, merged."""
    spans: list[Window] = []
    for resource_idx in problem.groups[group_idx]:
        resource = problem.resources[resource_idx]
        spans.extend(resource.windows)
        if problem.pause_over_breaks:
            spans.extend(resource.breaks)
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted(spans):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def earliest_fit(
    spans: tuple[list[int], list[int]], release: int, duration: int
) -> int:
    """Earliest start >= release of `duration` inside one span, or -1."""
    starts, ends = spans
    idx = bisect_left(ends, release + duration)
    while idx < len(starts):
        start = max(starts[idx], release)
        if start + duration <= ends[idx]:
            return start
        idx += 1
    return UNREACHABLE


def topological_order(problem: TaskProblem) -> list[int]:
    """Tasks ordered so that every predecessor comes first."""
    indegree = [len(problem.preds(t)) for t in range(problem.num_tasks)]
    queue = deque(t for t in range(problem.num_tasks) if indegree[t] == 0)
    order = []
    while queue:
        task_idx = queue.popleft()
        order.append(task_idx)
        for precedence in problem.succs(task_idx):
            indegree[precedence.succ] -= 1
            if indegree[precedence.succ] == 0:
                queue.append(precedence.succ)
    if len(order) != problem.num_tasks:
        raise ValueError("precedences must not form a cycle")
    return order


def chain_bound(problem: TaskProblem) -> ChainBound:
    """The chain lower bound of a task problem (see the module docstring)."""
    spans = [group_spans(problem, g) for g in range(len(problem.groups))]
    earliest_end = [UNREACHABLE] * problem.num_tasks

    for task_idx in topological_order(problem):
        task = problem.tasks[task_idx]
        release = task.release_min
        reachable = True
        for precedence in problem.preds(task_idx):
            pred_end = earliest_end[precedence.pred]
            if pred_end == UNREACHABLE:
                reachable = False
                break
            release = max(release, pred_end + precedence.delay_min)
        if not reachable:
            continue
        start = _earliest_joint_start(
            spans, task.group, task.second_group, release, task.duration_min
        )
        if start == UNREACHABLE:
            continue
        if task.latest_start_min is not None and start > task.latest_start_min:
            continue
        earliest_end[task_idx] = start + task.duration_min

    job_bound: list[int] = []
    unreachable: list[int] = []
    for job_idx, job in enumerate(problem.jobs):
        tasks = problem.job_tasks(job_idx)
        if any(earliest_end[t] == UNREACHABLE for t in tasks):
            job_bound.append(job.unscheduled_cost)
            unreachable.append(job_idx)
            continue
        release = job.release_floor_min
        for source in job.release_from:
            release = max(release, earliest_end[source.task] + source.offset_min)
        credit = 0
        if job.credit_task >= 0:
            waited_from = earliest_end[job.credit_task] + job.credit_offset_min
            credit = max(0, job.credit_until_min - waited_from)
        late = max(0, release - job.due_min - credit)
        job_bound.append(min(job.unscheduled_cost, job.lateness_weight * late))
    return ChainBound(
        total=sum(job_bound),
        job_bound=job_bound,
        earliest_end=earliest_end,
        unreachable_jobs=unreachable,
    )


def _earliest_joint_start(
    spans: list[tuple[list[int], list[int]]],
    group: int,
    second_group: int,
    release: int,
    duration: int,
) -> int:
    """Earliest start fitting the group's spans (and the second group's)."""
    start = earliest_fit(spans[group], release, duration)
    if second_group < 0 or start == UNREACHABLE:
        return start
    # Alternate between the two groups; each step only moves to a start no
    # real placement can beat, so stopping early still gives a bound.
    for _ in range(50):
        other = earliest_fit(spans[second_group], start, duration)
        if other == UNREACHABLE:
            return UNREACHABLE
        if other == start:
            return start
        start = earliest_fit(spans[group], other, duration)
        if start == UNREACHABLE:
            return UNREACHABLE
    return start
