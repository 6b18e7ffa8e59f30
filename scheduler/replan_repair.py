"""The greedy repair of a re-plan: the previous plan, kept where it still holds.

Fixed tasks (frozen or pinned) are placed first, where they are. Then,
in task order (a predecessor always comes before its successors), every
other task keeps its previous start and resource when that is still
allowed: at or after its release and its predecessors, inside its
resource's windows, clear of what is already placed. Last, shipment by
shipment in greedy order, the tasks not kept are placed at their earliest
on the resource of their group that can start them first. A shipment whose
chain does not fit is unscheduled with the reason of the task that failed.

The result is the floor of a re-plan: the search may only return something
better.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from scheduler.task_index import REASON_OF_NEED, TaskIndex
from solver.task import TaskSolution

# An exam needs a broker and a door free together; stop alternating
# between the two after this many tries (a very fragmented day).
_MAX_PAIR_TRIES = 400

Placement = tuple[int, int, int]  # start minute, resource, second resource (-1)


@dataclass
class RepairOutcome:
    """The repaired solution, why jobs are unscheduled, what was kept."""

    solution: TaskSolution
    reasons: dict[int, tuple[str, str]]
    kept: set[int] = field(default_factory=set)


class _Busy:
    """Per resource, sorted busy intervals inside its windows."""

    def __init__(self, index: TaskIndex) -> None:
        self.windows = [r.windows for r in index.problem.resources]
        self.starts: list[list[int]] = [[] for _ in self.windows]
        self.ends: list[list[int]] = [[] for _ in self.windows]

    def free(self, resource: int, start: int, end: int) -> bool:
        if not any(ws <= start and end <= we for ws, we in self.windows[resource]):
            return False
        pos = bisect.bisect_left(self.ends[resource], start + 1)
        starts = self.starts[resource]
        return pos >= len(starts) or starts[pos] >= end

    def take(self, resource: int, start: int, end: int) -> None:
        pos = bisect.bisect_left(self.starts[resource], start)
        self.starts[resource].insert(pos, start)
        self.ends[resource].insert(pos, end)

    def release(self, resource: int, start: int, end: int) -> None:
        pos = bisect.bisect_left(self.starts[resource], start)
        while pos < len(self.starts[resource]):
            if self.ends[resource][pos] == end and self.starts[resource][pos] == start:
                del self.starts[resource][pos]
                del self.ends[resource][pos]
                return
            pos += 1

    def earliest(
        self, resource: int, release: int, duration: int, latest: int | None
    ) -> int | None:
        """The earliest start at or after `release` that fits, or None."""
        starts, ends = self.starts[resource], self.ends[resource]
        for window_start, window_end in self.windows[resource]:
            at = max(release, window_start)
            pos = bisect.bisect_left(ends, at + 1)
            while at + duration <= window_end:
                if latest is not None and at > latest:
                    return None
                if pos < len(starts) and starts[pos] < at + duration:
                    at = max(at, ends[pos])
                    pos += 1
                    continue
                return at
        return None


def repair(
    index: TaskIndex,
    fixed: dict[int, Placement],
    previous: dict[int, Placement],
) -> RepairOutcome:
    """The previous plan with the events applied, repaired greedily.

    Parameters
    ----------
    index
        The re-plan's index data (fixed tasks already restricted to their
        place, releases already at or after the re-planning time).
    fixed
        Per task index: the placement of a frozen or pinned task.
    previous
        Per task index: its placement in the previous plan, when it had one.
    """
    problem = index.problem
    busy = _Busy(index)
    solution = TaskSolution.empty(problem)

    def put(task_idx: int, placement: Placement) -> None:
        start, resource, second = placement
        end = start + problem.tasks[task_idx].duration_min
        solution.start[task_idx], solution.end[task_idx] = start, end
        solution.resource[task_idx] = resource
        solution.second_resource[task_idx] = second
        busy.take(resource, start, end)
        if second >= 0:
            busy.take(second, start, end)

    # Step 1: fixed tasks where they are.
    for task_idx, fixed_at in fixed.items():
        put(task_idx, fixed_at)

    # Step 2: previous placements that still hold, predecessors first.
    kept: set[int] = set()
    for task_idx in sorted(previous):
        if task_idx in fixed:
            continue
        start, resource, second = previous[task_idx]
        if _allowed(index, solution, busy, task_idx, start, resource, second):
            put(task_idx, previous[task_idx])
            kept.add(task_idx)

    # Step 3: the rest, shipment by shipment in greedy order.
    reasons: dict[int, tuple[str, str]] = {}
    for job_idx in index.job_order:
        placed_now: list[int] = []
        failed: int | None = None
        for task_idx in sorted(problem.job_tasks(job_idx)):
            if solution.done(task_idx):
                continue
            found = _earliest(index, solution, busy, task_idx)
            if found is None:
                failed = task_idx
                break
            put(task_idx, found)
            placed_now.append(task_idx)
        if failed is None:
            solution.scheduled[job_idx] = True
            continue
        for task_idx in placed_now:
            _clear(problem, solution, busy, task_idx)
        reasons[job_idx] = _reason(index, failed)

    # Step 4: tasks no scheduled shipment needs any more are taken back.
    for task_idx in range(problem.num_tasks):
        task = problem.tasks[task_idx]
        if solution.done(task_idx) and not any(
            solution.scheduled[j] for j in task.jobs
        ):
            _clear(problem, solution, busy, task_idx)
            kept.discard(task_idx)
    return RepairOutcome(solution=solution, reasons=reasons, kept=kept)


def _release(index: TaskIndex, solution: TaskSolution, task_idx: int) -> int | None:
    """Earliest start from the release and placed predecessors (None: a
    predecessor is not placed)."""
    problem = index.problem
    release = problem.tasks[task_idx].release_min
    for precedence in problem.preds(task_idx):
        if not solution.done(precedence.pred):
            return None
        release = max(release, solution.end[precedence.pred] + precedence.delay_min)
    return release


def _allowed(
    index: TaskIndex,
    solution: TaskSolution,
    busy: _Busy,
    task_idx: int,
    start: int,
    resource: int,
    second: int,
) -> bool:
    problem = index.problem
    task = problem.tasks[task_idx]
    release = _release(index, solution, task_idx)
    if release is None or start < release:
        return False
    if task.latest_start_min is not None and start > task.latest_start_min:
        return False
    if resource not in problem.groups[task.group]:
        return False
    if (second >= 0) != (task.second_group >= 0):
        return False
    if second >= 0 and second not in problem.groups[task.second_group]:
        return False
    end = start + task.duration_min
    if end > problem.horizon_min:
        return False
    return busy.free(resource, start, end) and (
        second < 0 or busy.free(second, start, end)
    )


def _earliest(
    index: TaskIndex, solution: TaskSolution, busy: _Busy, task_idx: int
) -> Placement | None:
    problem = index.problem
    task = problem.tasks[task_idx]
    release = _release(index, solution, task_idx)
    if release is None:
        return None
    duration, latest = task.duration_min, task.latest_start_min
    members = problem.groups[task.group]
    if task.second_group < 0:
        return _first_of(busy, members, release, duration, latest)

    # A task holding two resources: alternate until both are free together.
    doors = problem.groups[task.second_group]
    at = release
    for _ in range(_MAX_PAIR_TRIES):
        person = _first_of(busy, members, at, duration, latest)
        if person is None:
            return None
        start, resource, _ = person
        for door in doors:
            if busy.free(door, start, start + duration):
                return start, resource, door
        door_found = _first_of(busy, doors, start, duration, latest)
        if door_found is None:
            return None
        at = max(door_found[0], start + 1)
    return None


def _first_of(
    busy: _Busy,
    members: tuple[int, ...],
    release: int,
    duration: int,
    latest: int | None,
) -> Placement | None:
    best: Placement | None = None
    for resource in members:
        start = busy.earliest(resource, release, duration, latest)
        if start is not None and (best is None or start < best[0]):
            best = (start, resource, -1)
    return best


def _clear(problem: object, solution: TaskSolution, busy: _Busy, task_idx: int) -> None:
    start, end = solution.start[task_idx], solution.end[task_idx]
    busy.release(solution.resource[task_idx], start, end)
    if solution.second_resource[task_idx] >= 0:
        busy.release(solution.second_resource[task_idx], start, end)
    solution.start[task_idx] = solution.end[task_idx] = -1
    solution.resource[task_idx] = solution.second_resource[task_idx] = -1


def _reason(index: TaskIndex, task_idx: int) -> tuple[str, str]:
    """Why a task found no place: a missing resource, or no time left."""
    task = index.problem.tasks[task_idx]
    info = index.groups[task.group]
    if not index.problem.groups[task.group]:
        return REASON_OF_NEED[info.need], f"no {info.label} on shift after the events"
    return "no_time_left", f"no {info.label} free in time after the events"
