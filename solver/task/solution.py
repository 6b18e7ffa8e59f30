"""A task-plan solution over the index data, and its objective.

The objective here reads the index data only; the plan validator in
``scheduler/`` recomputes the same terms independently from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from solver.task.data import TaskProblem

NOT_DONE = -1


@dataclass
class TaskSolution:
    """Where and when every task is done, and which jobs are scheduled.

    Parameters
    ----------
    scheduled
        Per job: whether it is scheduled.
    start, end
        Per task: its interval, `NOT_DONE` when none of its jobs is
        scheduled. ``end - start`` exceeds the duration only when the task
        pauses over a break.
    resource, second_resource
        Per task: the resource (and second resource, for two-resource
        tasks) it uses, `NOT_DONE` when unused.
    """

    scheduled: list[bool]
    start: list[int]
    end: list[int]
    resource: list[int]
    second_resource: list[int]

    @classmethod
    def empty(cls, problem: TaskProblem) -> TaskSolution:
        """A solution scheduling nothing."""
        num_tasks = problem.num_tasks
        return cls(
            scheduled=[False] * problem.num_jobs,
            start=[NOT_DONE] * num_tasks,
            end=[NOT_DONE] * num_tasks,
            resource=[NOT_DONE] * num_tasks,
            second_resource=[NOT_DONE] * num_tasks,
        )

    def copy(self) -> TaskSolution:
        return TaskSolution(
            scheduled=list(self.scheduled),
            start=list(self.start),
            end=list(self.end),
            resource=list(self.resource),
            second_resource=list(self.second_resource),
        )

    def done(self, task_idx: int) -> bool:
        return self.start[task_idx] != NOT_DONE


@dataclass(frozen=True)
class JobCosts:
    """The objective of a solution, split by job and by term.

    Parameters
    ----------
    cost
        Per job: its unscheduled cost, or its weighted lateness.
    late_min
        Per job: minutes late (0 when unscheduled).
    unscheduled, lateness
        Sums of the two terms over all jobs.
    """

    cost: list[int]
    late_min: list[int]
    unscheduled: int
    lateness: int

    @property
    def total(self) -> int:
        return self.unscheduled + self.lateness


def job_late_min(problem: TaskProblem, job_idx: int, end: list[int]) -> int:
    """Minutes a scheduled job is late, given the end of every task."""
    job = problem.jobs[job_idx]
    release = job.release_floor_min
    for source in job.release_from:
        release = max(release, end[source.task] + source.offset_min)
    credit = 0
    if job.credit_task >= 0:
        waited_from = end[job.credit_task] + job.credit_offset_min
        credit = max(0, job.credit_until_min - waited_from)
    return max(0, release - job.due_min - credit)


def evaluate(problem: TaskProblem, solution: TaskSolution) -> JobCosts:
    """The objective of a solution, job by job."""
    costs: list[int] = []
    lates: list[int] = []
    unscheduled = lateness = 0
    for job_idx, job in enumerate(problem.jobs):
        if not solution.scheduled[job_idx]:
            costs.append(job.unscheduled_cost)
            lates.append(0)
            unscheduled += job.unscheduled_cost
            continue
        late = job_late_min(problem, job_idx, solution.end)
        costs.append(job.lateness_weight * late)
        lates.append(late)
        lateness += job.lateness_weight * late
    return JobCosts(
        cost=costs, late_min=lates, unscheduled=unscheduled, lateness=lateness
    )
