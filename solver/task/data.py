"""Index-based data of the task model: tasks, resources, jobs, precedences.

Everything is a plain integer: times are minutes from the start of the
horizon, ``[0, horizon_min)``; tasks, resources, groups and jobs are
indices into the lists of `TaskProblem`. The domain (shipments, dock
doors, clerks, brokers) lives in ``scheduler/``; here a *job* is what the
domain calls a shipment (its tasks, SLA deadline and weights), and a
*resource* is anything that does one task at a time within availability
windows (a person's shift, a dock door).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Window = tuple[int, int]


@dataclass(frozen=True)
class ResourceData:
    """A resource available in `windows`, one task at a time.

    Parameters
    ----------
    windows
        Sorted, disjoint half-open intervals ``[start, end)`` in which a
        task on this resource may lie.
    breaks
        Intervals between two of its windows that a task may pause over
        when the problem allows pauses (`TaskProblem.pause_over_breaks`).
        Each break starts where a window ends and ends where the next
        window starts.
    """

    windows: tuple[Window, ...]
    breaks: tuple[Window, ...] = ()

    def __post_init__(self) -> None:
        previous_end = None
        for start, end in self.windows:
            if end <= start:
                raise ValueError("windows must each end after they start")
            if previous_end is not None and start < previous_end:
                raise ValueError("windows must be sorted and disjoint")
            previous_end = end


@dataclass(frozen=True)
class TaskData:
    """One task: a fixed duration on one resource of `group`.

    Parameters
    ----------
    duration_min
        Minutes of work.
    release_min
        Earliest start.
    group
        Index of the resource group the task's resource comes from.
    second_group
        Index of a second group when the task holds two resources at once
        for its whole length (an exam: a door and a broker); -1 if none.
    jobs
        The jobs that need this task: one for most tasks, several for a
        task shared by jobs (an unload serving all shipments of a load).
        The task is done exactly when one of its jobs is scheduled.
    latest_start_min
        Latest start allowed (an appointment window), or None.
    """

    duration_min: int
    release_min: int
    group: int
    jobs: tuple[int, ...]
    second_group: int = -1
    latest_start_min: int | None = None

    def __post_init__(self) -> None:
        if self.duration_min < 1:
            raise ValueError("duration_min must be >= 1")
        if self.release_min < 0:
            raise ValueError("release_min must be >= 0")
        if not self.jobs:
            raise ValueError("jobs must name at least one job")


@dataclass(frozen=True)
class Precedence:
    """`succ` starts at least `delay_min` after `pred` ends."""

    pred: int
    succ: int
    delay_min: int = 0


@dataclass(frozen=True)
class ReleaseSource:
    """A job's release is at least `offset_min` after task `task` ends."""

    task: int
    offset_min: int = 0


@dataclass(frozen=True)
class JobData:
    """A job (a shipment in the domain): its costs and its lateness rule.

    A scheduled job's release is the latest of `release_floor_min` and
    ``end(task) + offset_min`` over `release_from`; its lateness is
    ``max(0, release - due_min - credit)`` where ``credit`` is
    ``max(0, credit_until_min - (end(credit_task) + credit_offset_min))``
    when `credit_task` >= 0 (time waited for an appointment), else 0.

    Parameters
    ----------
    unscheduled_cost
        Objective cost of leaving the job unscheduled.
    lateness_weight
        Objective cost per minute of lateness.
    due_min
        Minute after which release counts as late (waits already added).
    release_floor_min
        Release lower bound that depends on no task.
    release_from
        Tasks whose end (plus an offset) bounds the release.
    credit_task, credit_offset_min, credit_until_min
        The appointment-wait credit described above.
    """

    unscheduled_cost: int
    lateness_weight: int
    due_min: int
    release_floor_min: int = 0
    release_from: tuple[ReleaseSource, ...] = ()
    credit_task: int = -1
    credit_offset_min: int = 0
    credit_until_min: int = 0


@dataclass(frozen=True)
class TaskProblem:
    """The whole index data of a task plan.

    Parameters
    ----------
    horizon_min
        Every task lies in ``[0, horizon_min)``.
    resources
        All resources, people's shifts and doors alike.
    groups
        Resource groups: sorted resource indices a task may use.
    tasks, precedences, jobs
        See `TaskData`, `Precedence` and `JobData`.
    pause_over_breaks
        Whether a task may pause over a resource's break (then it lasts
        its duration plus the break). The CP model never pauses; see
        `solver.task.builder`.
    """

    horizon_min: int
    resources: tuple[ResourceData, ...]
    groups: tuple[tuple[int, ...], ...]
    tasks: tuple[TaskData, ...]
    precedences: tuple[Precedence, ...]
    jobs: tuple[JobData, ...]
    pause_over_breaks: bool = False
    _preds: tuple[tuple[Precedence, ...], ...] = field(
        default=(), init=False, repr=False, compare=False
    )
    _succs: tuple[tuple[Precedence, ...], ...] = field(
        default=(), init=False, repr=False, compare=False
    )
    _job_tasks: tuple[tuple[int, ...], ...] = field(
        default=(), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._check_indices()
        preds: list[list[Precedence]] = [[] for _ in self.tasks]
        succs: list[list[Precedence]] = [[] for _ in self.tasks]
        for precedence in self.precedences:
            preds[precedence.succ].append(precedence)
            succs[precedence.pred].append(precedence)
        job_tasks: list[list[int]] = [[] for _ in self.jobs]
        for task_idx, task in enumerate(self.tasks):
            for job_idx in task.jobs:
                job_tasks[job_idx].append(task_idx)
        object.__setattr__(self, "_preds", tuple(map(tuple, preds)))
        object.__setattr__(self, "_succs", tuple(map(tuple, succs)))
        object.__setattr__(self, "_job_tasks", tuple(map(tuple, job_tasks)))

    def _check_indices(self) -> None:
        num_resources = len(self.resources)
        if self.horizon_min < 1:
            raise ValueError("horizon_min must be >= 1")
        for group_idx, group in enumerate(self.groups):
            if group and (min(group) < 0 or max(group) >= num_resources):
                raise ValueError(f"groups[{group_idx}] names an unknown resource")
        for task_idx, task in enumerate(self.tasks):
            if not 0 <= task.group < len(self.groups):
                raise ValueError(f"tasks[{task_idx}].group is not a group index")
            if task.second_group >= len(self.groups):
                raise ValueError(f"tasks[{task_idx}].second_group is not a group index")
            if min(task.jobs) < 0 or max(task.jobs) >= len(self.jobs):
                raise ValueError(f"tasks[{task_idx}].jobs names an unknown job")
        for precedence in self.precedences:
            for task_idx in (precedence.pred, precedence.succ):
                if not 0 <= task_idx < len(self.tasks):
                    raise ValueError("precedences name an unknown task")

    @property
    def num_tasks(self) -> int:
        return len(self.tasks)

    @property
    def num_jobs(self) -> int:
        return len(self.jobs)

    @property
    def num_resources(self) -> int:
        return len(self.resources)

    def preds(self, task_idx: int) -> tuple[Precedence, ...]:
        """Precedences whose successor is `task_idx`."""
        return self._preds[task_idx]

    def succs(self, task_idx: int) -> tuple[Precedence, ...]:
        """Precedences whose predecessor is `task_idx`."""
        return self._succs[task_idx]

    def job_tasks(self, job_idx: int) -> tuple[int, ...]:
        """Tasks a job needs, shared ones included, in index order."""
        return self._job_tasks[job_idx]
