"""The greedy task plan: the first plan, the solver's hint and its fallback.

Shipments are taken by priority (express, standard, deferred), then
earliest SLA deadline, then earliest actionable time, then id. Each
shipment's chain is placed whole, task by task in chain order, each task
at the earliest minute its predecessors and release allow on the resource
that can start it first: its load's unload at a capable open door, review
by a clerk on shift, compliance, the declaration by a licensed broker,
then the response or the exam (a broker and an exam door together, inside
the appointment window). A chain that cannot be completed in the horizon
is taken back whole and the shipment is unscheduled with the reason found
by `diagnose`: the first task that would not fit even on an empty site
names what is missing (no clerk, no licensed broker on shift, no capable
door); when every task would fit on an empty site the reason is
``no_time_left``.

Free time is kept per pool (people's shifts, doors) as arrays of free
intervals searched with numpy, so a task is placed in a few vector
operations whatever the number of people; a break can be paused over
under policy ``pause``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scheduler.models import Request, RosterShift, Task, Unscheduled
from scheduler.task_index import REASON_OF_NEED, TaskIndex, build_task_index
from solver.task import TaskProblem, TaskSolution
from solver.task.bound import (
    UNREACHABLE,
    ChainBound,
    chain_bound,
    earliest_fit,
    group_spans,
    topological_order,
)

logger = logging.getLogger(__name__)

_FAR = np.iinfo(np.int64).max // 4
# An exam needs a broker and a door free together; give up after this many
# alternations between the two (a very fragmented day).
_MAX_EXAM_TRIES = 400
# Undo log entries: (slot, lo, hi, break_lo, break_hi) as they were, or
# (_APPENDED, slot count before, 0, 0, 0) for an appended slot.
_UndoLog = list[tuple[int, int, int, int, int]]
_APPENDED = -1
_UndoLogs = list[tuple["_FreeSlots", _UndoLog]]


@dataclass(frozen=True)
class GreedyOutcome:
    """The greedy plan over the index data.

    Parameters
    ----------
    solution
        Where and when each task is done.
    reasons
        Per unscheduled job: ``(reason, detail)``.
    runtime_s
        Wall-clock time it took.
    """

    solution: TaskSolution
    reasons: dict[int, tuple[str, str]]
    runtime_s: float


def greedy_tasks(
    request: Request, roster: Sequence[RosterShift] | None = None
) -> tuple[list[Task], list[Unscheduled]]:
    """The greedy task plan of a request as plan tasks and unscheduled entries.

    Parameters
    ----------
    request
        The request to plan.
    roster
        The shifts people work; None uses the request's roster.

    Returns
    -------
    tuple
        The tasks (sorted by start, then id) and the unscheduled shipments.
    """
    index = build_task_index(
        request, roster if roster is not None else request.roster or []
    )
    outcome = greedy_plan(index)
    return index.to_tasks(outcome.solution), index.to_unscheduled(outcome.reasons)


def greedy_plan(index: TaskIndex, bound: ChainBound | None = None) -> GreedyOutcome:
    """Place every shipment's chain, in greedy order, at its earliest.

    Parameters
    ----------
    index
        The task plan's index data.
    bound
        The chain bound of ``index.problem`` when already computed; it
        tells which tasks fit nowhere even on an empty site.
    """
    started = time.perf_counter()
    if bound is None:
        bound = chain_bound(index.problem)
    placer = _Placer(index, bound)
    for job_idx in index.job_order:
        placer.place_job(job_idx)
    runtime = time.perf_counter() - started
    logger.info(
        "greedy: request %s, %d shipments, %d unscheduled, %.2fs",
        index.request.request_id,
        index.problem.num_jobs,
        len(placer.reasons),
        runtime,
    )
    return GreedyOutcome(
        solution=placer.solution, reasons=placer.reasons, runtime_s=runtime
    )


# --------------------------------------------------------------------------
# Free intervals of a pool of resources


class _FreeSlots:
    """Free intervals of some resources, searched with vector operations.

    Each slot is a free half-open interval ``[lo, hi)`` of one resource,
    possibly holding one break ``[break_lo, break_hi)`` a task may pause
    over (policy ``pause``). Slots shorter than the shortest task of the
    pool are dropped: nothing could use them.
    """

    def __init__(
        self,
        problem: TaskProblem,
        resource_ids: list[int],
        min_len: int,
        pause: bool,
    ) -> None:
        self.pause = pause
        self.min_len = max(1, min_len)
        self.local_of = {r: i for i, r in enumerate(resource_ids)}
        self.resource_ids = resource_ids
        rows: list[tuple[int, int, int, int, int]] = []
        for local, resource_idx in enumerate(resource_ids):
            rows.extend(self._initial_slots(problem, resource_idx, local))
        capacity = max(16, 2 * len(rows))
        self.lo = np.zeros(capacity, dtype=np.int64)
        self.hi = np.zeros(capacity, dtype=np.int64)
        self.res = np.zeros(capacity, dtype=np.int64)
        self.break_lo = np.full(capacity, -1, dtype=np.int64)
        self.break_hi = np.full(capacity, -1, dtype=np.int64)
        self.n = 0
        for row in rows:
            self._append(*row)

    def _initial_slots(
        self, problem: TaskProblem, resource_idx: int, local: int
    ) -> list[tuple[int, int, int, int, int]]:
        resource = problem.resources[resource_idx]
        windows = list(resource.windows)
        if not self.pause or not resource.breaks:
            return [(lo, hi, local, -1, -1) for lo, hi in windows]
        # Under policy pause, a window ending where a break starts and the
        # window starting where it ends make one slot holding the break.
        slots: list[tuple[int, int, int, int, int]] = []
        breaks = {b0: b1 for b0, b1 in resource.breaks}
        for lo, hi in windows:
            if slots and slots[-1][1] in breaks and breaks[slots[-1][1]] == lo:
                prev = slots.pop()
                slots.append((prev[0], hi, local, prev[1], lo))
            else:
                slots.append((lo, hi, local, -1, -1))
        return slots

    def mask(self, group: Sequence[int]) -> npt.NDArray[np.bool_]:
        """A boolean mask over the pool's resources from resource indices."""
        mask = np.zeros(len(self.resource_ids), dtype=np.bool_)
        for resource_idx in group:
            local = self.local_of.get(resource_idx)
            if local is not None:
                mask[local] = True
        return mask

    def _append(self, lo: int, hi: int, res: int, break_lo: int, break_hi: int) -> None:
        if self.n == len(self.lo):
            for name in ("lo", "hi", "res", "break_lo", "break_hi"):
                old = getattr(self, name)
                fill = -1 if name.startswith("break") else 0
                grown = np.full(2 * len(old), fill, dtype=np.int64)
                grown[: len(old)] = old
                setattr(self, name, grown)
        i = self.n
        self.lo[i], self.hi[i], self.res[i] = lo, hi, res
        self.break_lo[i], self.break_hi[i] = break_lo, break_hi
        self.n += 1

    def _placements(
        self, release: int, duration: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Earliest start and end of the task in every slot (vectorised)."""
        n = self.n
        start = np.maximum(self.lo[:n], release)
        if not self.pause:
            return start, start + duration
        break_lo, break_hi = self.break_lo[:n], self.break_hi[:n]
        # A start inside the break waits for its end; a task running into
        # the break pauses over it.
        start = np.where((start >= break_lo) & (start < break_hi), break_hi, start)
        crosses = (start < break_lo) & (start + duration > break_lo)
        end = start + duration + np.where(crosses, break_hi - break_lo, 0)
        return start, end

    def earliest(
        self,
        mask: npt.NDArray[np.bool_],
        release: int,
        duration: int,
        latest_start: int | None = None,
    ) -> tuple[int, int, int] | None:
        """``(slot, start, end)`` of the earliest placement, or None."""
        n = self.n
        start, end = self._placements(release, duration)
        ok = (end <= self.hi[:n]) & mask[self.res[:n]]
        if latest_start is not None:
            ok &= start <= latest_start
        if not ok.any():
            return None
        slot = int(np.where(ok, start, _FAR).argmin())
        return slot, int(start[slot]), int(end[slot])

    def containing(
        self, mask: npt.NDArray[np.bool_], start: int, end: int
    ) -> int | None:
        """A slot holding all of ``[start, end)`` without a break, or None."""
        n = self.n
        ok = (self.lo[:n] <= start) & (self.hi[:n] >= end) & mask[self.res[:n]]
        # A slot's break is only for its person's pause, never for a door.
        ok &= (
            (self.break_lo[:n] < 0)
            | (self.break_hi[:n] <= start)
            | (self.break_lo[:n] >= end)
        )
        if not ok.any():
            return None
        return int(ok.argmax())

    def take(self, slot: int, start: int, end: int, log: _UndoLog) -> int:
        """Use ``[start, end)`` of a slot; returns the pool-local resource."""
        lo, hi = int(self.lo[slot]), int(self.hi[slot])
        res = int(self.res[slot])
        break_lo, break_hi = int(self.break_lo[slot]), int(self.break_hi[slot])
        log.append((slot, lo, hi, break_lo, break_hi))

        pieces = []
        for piece_lo, piece_hi in ((lo, start), (end, hi)):
            if piece_hi - piece_lo < self.min_len:
                continue
            holds_break = (
                break_lo >= piece_lo and break_hi <= piece_hi and break_lo >= 0
            )
            pieces.append(
                (
                    piece_lo,
                    piece_hi,
                    break_lo if holds_break else -1,
                    break_hi if holds_break else -1,
                )
            )
        if pieces:
            first = pieces[0]
            self.lo[slot], self.hi[slot] = first[0], first[1]
            self.break_lo[slot], self.break_hi[slot] = first[2], first[3]
        else:
            self.lo[slot] = self.hi[slot] = 0
            self.break_lo[slot] = self.break_hi[slot] = -1
        for piece in pieces[1:]:
            log.append((_APPENDED, self.n, 0, 0, 0))
            self._append(piece[0], piece[1], res, piece[2], piece[3])
        return res

    def undo(self, log: _UndoLog) -> None:
        """Take back every change in `log` (newest first)."""
        for slot, lo, hi, break_lo, break_hi in reversed(log):
            if slot == _APPENDED:
                self.n = lo
            else:
                self.lo[slot], self.hi[slot] = lo, hi
                self.break_lo[slot], self.break_hi[slot] = break_lo, break_hi

    def compact(self) -> None:
        """Drop used-up slots once they are a quarter of the pool."""
        n = self.n
        alive = np.nonzero(self.hi[:n] > self.lo[:n])[0]
        if n < 64 or len(alive) * 4 > n * 3:
            return
        for name in ("lo", "hi", "res", "break_lo", "break_hi"):
            array = getattr(self, name)
            kept = array[alive].copy()
            array[: len(kept)] = kept
        self.n = len(alive)


# --------------------------------------------------------------------------
# Placing shipments


class _Placer:
    """List scheduling of whole chains over the people and door pools."""

    def __init__(self, index: TaskIndex, bound: ChainBound) -> None:
        self.index = index
        self.bound = bound
        problem = index.problem
        self.problem = problem
        self.solution = TaskSolution.empty(problem)
        self.reasons: dict[int, tuple[str, str]] = {}

        door_ids = [
            i for i, info in enumerate(index.resources) if info.door_id is not None
        ]
        person_ids = [
            i for i, info in enumerate(index.resources) if info.door_id is None
        ]
        door_groups = {
            g
            for g, info in enumerate(index.groups)
            if info.need in ("door", "exam_door")
        }
        min_door = min(
            (
                t.duration_min
                for t in problem.tasks
                if t.group in door_groups or t.second_group >= 0
            ),
            default=1,
        )
        min_person = min(
            (t.duration_min for t in problem.tasks if t.group not in door_groups),
            default=1,
        )
        self.doors = _FreeSlots(problem, door_ids, min_door, pause=False)
        self.people = _FreeSlots(problem, person_ids, min_person, pause=index.pause)
        self.door_groups = door_groups
        self.masks: dict[int, npt.NDArray[np.bool_]] = {}
        self.spans: dict[int, tuple[list[int], list[int]]] = {}
        self.placed_jobs = 0

        order = topological_order(problem)
        position = {task_idx: pos for pos, task_idx in enumerate(order)}
        self.chain = [
            sorted(problem.job_tasks(j), key=position.__getitem__)
            for j in range(problem.num_jobs)
        ]

    def _pool(self, group: int) -> _FreeSlots:
        return self.doors if group in self.door_groups else self.people

    def _mask(self, group: int) -> npt.NDArray[np.bool_]:
        if group not in self.masks:
            self.masks[group] = self._pool(group).mask(self.problem.groups[group])
        return self.masks[group]

    def _release(self, task_idx: int, ends: list[int]) -> int:
        release = self.problem.tasks[task_idx].release_min
        for precedence in self.problem.preds(task_idx):
            release = max(release, ends[precedence.pred] + precedence.delay_min)
        return release

    # ------------------------------------------------------------------

    def place_job(self, job_idx: int) -> None:
        """Place a job's whole chain, or take it back and give the reason."""
        solution = self.solution
        logs: _UndoLogs = []
        placed: list[int] = []
        for task_idx in self.chain[job_idx]:
            if solution.done(task_idx):
                continue  # a shared unload placed for an earlier shipment
            found = self._place_task(task_idx, logs)
            if found is None:
                for pool, log in reversed(logs):
                    pool.undo(log)
                for undone in placed:
                    self._clear(undone)
                self.reasons[job_idx] = self._diagnose(job_idx)
                return
            start, end, resource, second = found
            solution.start[task_idx], solution.end[task_idx] = start, end
            solution.resource[task_idx], solution.second_resource[task_idx] = (
                resource,
                second,
            )
            placed.append(task_idx)
        solution.scheduled[job_idx] = True
        self.placed_jobs += 1
        if self.placed_jobs % 64 == 0:
            self.people.compact()
            self.doors.compact()

    def _clear(self, task_idx: int) -> None:
        solution = self.solution
        solution.start[task_idx] = solution.end[task_idx] = -1
        solution.resource[task_idx] = solution.second_resource[task_idx] = -1

    def _place_task(
        self,
        task_idx: int,
        logs: _UndoLogs,
    ) -> tuple[int, int, int, int] | None:
        """Place a task at its earliest: ``(start, end, resource, second)``."""
        task = self.problem.tasks[task_idx]
        release = self._release(task_idx, self.solution.end)
        pool = self._pool(task.group)
        mask = self._mask(task.group)
        latest = task.latest_start_min
        if task.second_group < 0:
            found = pool.earliest(mask, release, task.duration_min, latest)
            if found is None:
                return None
            slot, start, end = found
            resource = pool.resource_ids[int(pool.res[slot])]
            log: _UndoLog = []
            pool.take(slot, start, end, log)
            logs.append((pool, log))
            return start, end, resource, -1
        return self._place_pair(task_idx, release, logs)

    def _place_pair(
        self,
        task_idx: int,
        release: int,
        logs: _UndoLogs,
    ) -> tuple[int, int, int, int] | None:
        """An exam: a broker and an exam door free over the same interval."""
        task = self.problem.tasks[task_idx]
        people = self._pool(task.group)
        doors = self._pool(task.second_group)
        person_mask = self._mask(task.group)
        door_mask = self._mask(task.second_group)
        latest = task.latest_start_min
        at = release
        for _ in range(_MAX_EXAM_TRIES):
            person = people.earliest(person_mask, at, task.duration_min, latest)
            if person is None:
                return None
            person_slot, start, end = person
            door_slot = doors.containing(door_mask, start, end)
            if door_slot is None:
                door = doors.earliest(door_mask, start, end - start, latest)
                if door is None:
                    return None
                at = max(door[1], start + 1)
                continue
            resource = people.resource_ids[int(people.res[person_slot])]
            door_resource = doors.resource_ids[int(doors.res[door_slot])]
            person_log: _UndoLog = []
            people.take(person_slot, start, end, person_log)
            logs.append((people, person_log))
            door_log: _UndoLog = []
            doors.take(door_slot, start, end, door_log)
            logs.append((doors, door_log))
            return start, end, resource, door_resource
        return None

    # ------------------------------------------------------------------

    def _diagnose(self, job_idx: int) -> tuple[str, str]:
        """Why a chain does not fit.

        The chain bound places every task of the shipment as if the site
        were empty (any person or door of the group, at its earliest); the
        first task it cannot place names what is missing. When it places
        them all, the shipments planned first took the time.
        """
        problem, index, bound = self.problem, self.index, self.bound
        for task_idx in self.chain[job_idx]:
            if bound.earliest_end[task_idx] != UNREACHABLE:
                continue
            task = problem.tasks[task_idx]
            release = self._release(task_idx, bound.earliest_end)
            if any(
                bound.earliest_end[p.pred] == UNREACHABLE
                for p in problem.preds(task_idx)
            ):
                continue  # its predecessor is the one missing something
            group = task.group
            if task.second_group >= 0:
                # Without an open exam door, the door is what is missing.
                door_start = earliest_fit(
                    self._spans(task.second_group), release, task.duration_min
                )
                latest = task.latest_start_min
                if door_start == UNREACHABLE or (
                    latest is not None and door_start > latest
                ):
                    group = task.second_group
            info = index.groups[group]
            kind = index.task_kinds[task_idx].value
            after = index.instant(min(release, problem.horizon_min)).isoformat(
                timespec="minutes"
            )
            detail = f"{kind}: no {info.label} available from {after} on"
            return REASON_OF_NEED[info.need], detail
        return (
            "no_time_left",
            "every task fits alone, but not after the shipments planned first",
        )

    def _spans(self, group: int) -> tuple[list[int], list[int]]:
        if group not in self.spans:
            self.spans[group] = group_spans(self.problem, group)
        return self.spans[group]
