"""The CP-SAT task model: one builder, one private method per constraint family.

The builder models a subset of the jobs (all of them for a full solve, a
neighbourhood for large-neighbourhood search) on top of a base solution:
tasks of the other jobs stay where the base puts them and block their
resources. Families are added in this order, because later ones read what
earlier ones made:

1. `_select_tasks`: the free tasks and the fixed ones;
2. `_alternatives`: for each free task, the resources (or resource pairs)
   it may use and, for each, the starts that keep it inside one free
   window (windows less fixed tasks), release and latest start included;
3. `_task_variables`: start and presence of each free task;
4. `_alternative_intervals`: one optional interval per alternative, exactly
   one present when the task is;
5. `_shared_tasks`: a task shared by several jobs is done when any is;
6. `_no_overlap_per_resource`;
6b. `_group_capacity` (optional): a redundant cumulative per resource
   group, its capacity the group's resources available at each minute;
   it lets CP-SAT reason about a group's total load and so prove bounds
   that per-resource no-overlaps alone leave open;
7. `_precedences`;
7b. `_identical_jobs`: jobs that could swap places without changing
   anything are taken in order (symmetry breaking);
8. `_lateness`;
9. `_objective`;
10. `_hint`: the base solution as the search's starting point.

Breaks: the CP model never pauses a task over a break. With pauses allowed
a resource's windows are still split at its breaks here, so the model only
places tasks that touch no break; the plan validator accepts those under
either policy (a task that does not touch a break has no pause). Tasks
that pause in the base solution keep their pause while they stay fixed.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from solver.task.data import TaskProblem, Window
from solver.task.solution import NOT_DONE, TaskSolution, job_late_min

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alternative:
    """A way to do a task: its resource(s) and the starts allowed there.

    Parameters
    ----------
    resource, second_resource
        The resource, and the second one for two-resource tasks (-1).
    starts
        Inclusive ranges ``(lo, hi)`` of allowed start minutes.
    """

    resource: int
    second_resource: int
    starts: tuple[Window, ...]

    @property
    def earliest_start(self) -> int:
        return self.starts[0][0]


@dataclass
class TaskModel:
    """A built model and the variables needed to read a solution back."""

    model: cp_model.CpModel
    free_jobs: list[int]
    free_tasks: list[int]
    job_presence: dict[int, cp_model.IntVar]
    task_start: dict[int, cp_model.IntVar]
    task_alternatives: dict[int, list[tuple[Alternative, cp_model.IntVar]]]
    job_late: dict[int, cp_model.IntVar]
    num_alternatives: int
    fixed_cost: int = 0
    notes: list[str] = field(default_factory=list)


class TaskModelBuilder:
    """Build the CP-SAT model of some jobs of a task problem.

    Parameters
    ----------
    problem
        The whole index data.
    free_jobs
        The jobs the model decides; every other job keeps its state in
        `base` (scheduled or not).
    base
        The current solution: fixed tasks come from it, and it is the hint.
        None means nothing is placed yet (only valid with every job free).
    max_alternatives
        Keep at most this many alternatives per task, the ones allowing
        the earliest start (plus the base's own choice). None keeps all.
    usage
        Per resource, the ``(start, task)`` of the tasks `base` places on
        it, when the caller keeps that index (the neighbourhood search
        does); it saves a scan of every task.
    group_capacity
        Add the redundant group cumulatives (worth it on a whole model;
        a neighbourhood is small enough without them).
    """

    def __init__(
        self,
        problem: TaskProblem,
        free_jobs: list[int],
        base: TaskSolution | None = None,
        max_alternatives: int | None = None,
        usage: list[list[tuple[int, int]]] | None = None,
        group_capacity: bool = False,
    ) -> None:
        if base is None and len(free_jobs) != problem.num_jobs:
            raise ValueError("base is required when only some jobs are free")
        self._problem = problem
        self._free_jobs = sorted(set(free_jobs))
        self._free_job_set = set(self._free_jobs)
        self._base = base if base is not None else TaskSolution.empty(problem)
        self._max_alternatives = max_alternatives
        self._usage = usage
        self._group_capacity_on = group_capacity
        self._model = cp_model.CpModel()
        self._free_tasks: list[int] = []
        self._free_task_set: set[int] = set()
        self._busy: dict[int, list[Window]] = {}
        self._gaps: dict[int, tuple[list[int], list[int]]] = {}
        self._pair_gaps: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
        self._alternatives: dict[int, list[Alternative]] = {}
        self._job_presence: dict[int, cp_model.IntVar] = {}
        self._task_presence: dict[int, cp_model.IntVar] = {}
        self._task_start: dict[int, cp_model.IntVar] = {}
        self._task_alts: dict[int, list[tuple[Alternative, cp_model.IntVar]]] = {}
        self._intervals: dict[int, list[cp_model.IntervalVar]] = {}
        self._job_late: dict[int, cp_model.IntVar] = {}
        self._job_credit: dict[int, cp_model.IntVar] = {}

    def build(self) -> TaskModel:
        """Add every constraint family in order and return the model."""
        self._select_tasks()
        self._alternatives_of_free_tasks()
        self._task_variables()
        self._alternative_intervals()
        self._shared_tasks()
        self._no_overlap_per_resource()
        if self._group_capacity_on:
            self._group_capacity()
        self._precedences()
        self._identical_jobs()
        self._lateness()
        self._objective()
        self._hint()
        return TaskModel(
            model=self._model,
            free_jobs=self._free_jobs,
            free_tasks=self._free_tasks,
            job_presence=self._job_presence,
            task_start=self._task_start,
            task_alternatives=self._task_alts,
            job_late=self._job_late,
            num_alternatives=sum(len(a) for a in self._task_alts.values()),
        )

    # ------------------------------------------------------------------
    # 1. Free and fixed tasks

    def _select_tasks(self) -> None:
        """A task is free unless a fixed, scheduled job needs it."""
        problem, base = self._problem, self._base
        candidates: set[int] = set()
        for job_idx in self._free_jobs:
            candidates.update(problem.job_tasks(job_idx))
        for task_idx in sorted(candidates):
            fixed_needs = any(
                job_idx not in self._free_job_set and base.scheduled[job_idx]
                for job_idx in problem.tasks[task_idx].jobs
            )
            if not fixed_needs:
                self._free_tasks.append(task_idx)
        self._free_task_set = set(self._free_tasks)
        if self._usage is not None:
            return  # blockages are read from the usage index on demand

        # Fixed tasks block their resources for their whole interval, a
        # pause included.
        for task_idx in range(problem.num_tasks):
            if task_idx in self._free_task_set or not base.done(task_idx):
                continue
            interval = (base.start[task_idx], base.end[task_idx])
            for resource in (base.resource[task_idx], base.second_resource[task_idx]):
                if resource != NOT_DONE:
                    self._busy.setdefault(resource, []).append(interval)

    # ------------------------------------------------------------------
    # 2. Alternatives

    def _alternatives_of_free_tasks(self) -> None:
        for task_idx in self._free_tasks:
            self._alternatives[task_idx] = self._task_alternatives(task_idx)

    def _task_alternatives(self, task_idx: int) -> list[Alternative]:
        """Resources (or pairs) with room for the task, earliest first."""
        problem = self._problem
        task = problem.tasks[task_idx]
        release = self._release_lower_bound(task_idx)
        latest = problem.horizon_min - task.duration_min
        if task.latest_start_min is not None:
            latest = min(latest, task.latest_start_min)
        if release > latest:
            return []

        pairs: list[tuple[int, int]] = []
        for resource in problem.groups[task.group]:
            if task.second_group < 0:
                pairs.append((resource, -1))
            else:
                pairs.extend(
                    (resource, other) for other in problem.groups[task.second_group]
                )

        ranked: list[tuple[int, int, int]] = []
        for resource, other in pairs:
            earliest = self._earliest_start(
                resource, other, release, latest, task.duration_min
            )
            if earliest is not None:
                ranked.append((earliest, resource, other))
        ranked.sort()

        kept = ranked
        if self._max_alternatives is not None and len(ranked) > self._max_alternatives:
            kept = ranked[: self._max_alternatives]
            base_pair = (
                self._base.resource[task_idx],
                self._base.second_resource[task_idx],
            )
            if base_pair[0] != NOT_DONE and all(
                (r, o) != base_pair for _, r, o in kept
            ):
                kept.extend(item for item in ranked if (item[1], item[2]) == base_pair)

        result = []
        for _, resource, other in kept:
            starts = self._start_ranges(
                resource, other, release, latest, task.duration_min
            )
            if starts:
                result.append(Alternative(resource, other, tuple(starts)))
        return result

    def _release_lower_bound(self, task_idx: int) -> int:
        """Release of a task, raised by fixed predecessors' ends."""
        problem, base = self._problem, self._base
        release = problem.tasks[task_idx].release_min
        for precedence in problem.preds(task_idx):
            pred = precedence.pred
            if pred not in self._free_task_set and base.done(pred):
                release = max(release, base.end[pred] + precedence.delay_min)
        return release

    def _free_gaps(self, resource: int) -> tuple[list[int], list[int]]:
        """A resource's windows less its fixed tasks, as (starts, ends)."""
        if resource in self._gaps:
            return self._gaps[resource]
        if self._usage is not None:
            base = self._base
            busy = [
                (base.start[task_idx], base.end[task_idx])
                for _, task_idx in self._usage[resource]
                if task_idx not in self._free_task_set
            ]
        else:
            busy = sorted(self._busy.get(resource, []))
        starts: list[int] = []
        ends: list[int] = []
        busy_idx = 0
        for window_start, window_end in self._problem.resources[resource].windows:
            cursor = window_start
            while busy_idx < len(busy) and busy[busy_idx][1] <= cursor:
                busy_idx += 1
            scan = busy_idx
            while scan < len(busy) and busy[scan][0] < window_end:
                busy_start, busy_end = busy[scan]
                if busy_start > cursor:
                    starts.append(cursor)
                    ends.append(busy_start)
                cursor = max(cursor, busy_end)
                scan += 1
            if cursor < window_end:
                starts.append(cursor)
                ends.append(window_end)
        self._gaps[resource] = (starts, ends)
        return starts, ends

    def _joint_gaps(self, resource: int, other: int) -> tuple[list[int], list[int]]:
        """Gaps of one resource, or the intersection of two resources' gaps."""
        if other < 0:
            return self._free_gaps(resource)
        if (resource, other) in self._pair_gaps:
            return self._pair_gaps[(resource, other)]
        a_starts, a_ends = self._free_gaps(resource)
        b_starts, b_ends = self._free_gaps(other)
        starts: list[int] = []
        ends: list[int] = []
        i = j = 0
        while i < len(a_starts) and j < len(b_starts):
            lo = max(a_starts[i], b_starts[j])
            hi = min(a_ends[i], b_ends[j])
            if lo < hi:
                starts.append(lo)
                ends.append(hi)
            if a_ends[i] < b_ends[j]:
                i += 1
            else:
                j += 1
        self._pair_gaps[(resource, other)] = (starts, ends)
        return starts, ends

    def _earliest_start(
        self, resource: int, other: int, release: int, latest: int, duration: int
    ) -> int | None:
        starts, ends = self._joint_gaps(resource, other)
        idx = bisect_left(ends, release + duration)
        while idx < len(starts):
            start = max(starts[idx], release)
            if start > latest:
                return None
            if start + duration <= ends[idx]:
                return start
            idx += 1
        return None

    def _start_ranges(
        self, resource: int, other: int, release: int, latest: int, duration: int
    ) -> list[Window]:
        starts, ends = self._joint_gaps(resource, other)
        ranges = []
        for idx in range(bisect_left(ends, release + duration), len(starts)):
            lo = max(starts[idx], release)
            hi = min(ends[idx] - duration, latest)
            if lo > latest:
                break
            if lo <= hi:
                ranges.append((lo, hi))
        return ranges

    # ------------------------------------------------------------------
    # 3. Task variables

    def _task_variables(self) -> None:
        model = self._model
        for job_idx in self._free_jobs:
            self._job_presence[job_idx] = model.new_bool_var(f"job{job_idx}")
        for task_idx in self._free_tasks:
            task = self._problem.tasks[task_idx]
            alternatives = self._alternatives[task_idx]
            if alternatives:
                ranges = sorted({r for alt in alternatives for r in alt.starts})
                domain = cp_model.Domain.from_intervals([list(r) for r in ranges])
            else:
                domain = cp_model.Domain(0, 0)
            self._task_start[task_idx] = model.new_int_var_from_domain(
                domain, f"start{task_idx}"
            )
            own_jobs = [j for j in task.jobs if j in self._free_job_set]
            if len(task.jobs) == 1:
                self._task_presence[task_idx] = self._job_presence[task.jobs[0]]
            else:
                self._task_presence[task_idx] = model.new_bool_var(f"done{task_idx}")
            if not own_jobs:
                raise ValueError(f"free task {task_idx} has no free job")

    # ------------------------------------------------------------------
    # 4. Alternatives as optional intervals

    def _alternative_intervals(self) -> None:
        model = self._model
        for task_idx in self._free_tasks:
            task = self._problem.tasks[task_idx]
            presence = self._task_presence[task_idx]
            start = self._task_start[task_idx]
            alternatives = self._alternatives[task_idx]
            if not alternatives:
                # No room anywhere: the task, and so its jobs, cannot be done.
                model.add(presence == 0)
                self._task_alts[task_idx] = []
                continue
            chosen = []
            for alt_idx, alt in enumerate(alternatives):
                literal = (
                    presence
                    if len(alternatives) == 1
                    else model.new_bool_var(f"alt{task_idx}_{alt_idx}")
                )
                if len(alternatives) > 1:
                    domain = cp_model.Domain.from_intervals(
                        [list(r) for r in alt.starts]
                    )
                    model.add_linear_expression_in_domain(
                        start, domain
                    ).only_enforce_if(literal)
                interval = model.new_optional_fixed_size_interval_var(
                    start, task.duration_min, literal, f"iv{task_idx}_{alt_idx}"
                )
                self._intervals.setdefault(alt.resource, []).append(interval)
                if alt.second_resource >= 0:
                    self._intervals.setdefault(alt.second_resource, []).append(interval)
                chosen.append((alt, literal))
            if len(alternatives) > 1:
                model.add_exactly_one([lit for _, lit in chosen] + [presence.Not()])
            self._task_alts[task_idx] = chosen

    # ------------------------------------------------------------------
    # 5. Shared tasks

    def _shared_tasks(self) -> None:
        """A shared task is done exactly when one of its free jobs is."""
        model = self._model
        for task_idx in self._free_tasks:
            task = self._problem.tasks[task_idx]
            if len(task.jobs) == 1:
                continue
            presence = self._task_presence[task_idx]
            jobs = [self._job_presence[j] for j in task.jobs if j in self._free_job_set]
            for job in jobs:
                model.add_implication(job, presence)
            model.add_bool_or(jobs).only_enforce_if(presence)

    # ------------------------------------------------------------------
    # 6. One task at a time per resource

    def _no_overlap_per_resource(self) -> None:
        for intervals in self._intervals.values():
            if len(intervals) > 1:
                self._model.add_no_overlap(intervals)

    def _group_capacity(self) -> None:
        """At most as many tasks of a group run at once as it has resources.

        Every free task counts in its group's cumulative (and an exam in
        its door group's too); each resource's closed and busy times are
        fixed demands, so the capacity follows the windows. Tasks of other
        groups sharing a resource are left out, which keeps it valid.
        """
        model, problem = self._model, self._problem
        by_group: dict[int, list[int]] = {}
        for task_idx in self._free_tasks:
            task = problem.tasks[task_idx]
            for group in (task.group, task.second_group):
                if group >= 0 and len(problem.groups[group]) > 1:
                    by_group.setdefault(group, []).append(task_idx)
        for group, task_ids in by_group.items():
            if len(task_ids) < 2:
                continue
            intervals = []
            for task_idx in task_ids:
                intervals.append(
                    model.new_optional_fixed_size_interval_var(
                        self._task_start[task_idx],
                        problem.tasks[task_idx].duration_min,
                        self._task_presence[task_idx],
                        f"load{group}_{task_idx}",
                    )
                )
            for resource in problem.groups[group]:
                starts, ends = self._free_gaps(resource)
                cursor = 0
                for gap_start, gap_end in zip(starts, ends, strict=True):
                    if gap_start > cursor:
                        intervals.append(
                            model.new_fixed_size_interval_var(
                                cursor, gap_start - cursor, f"off{resource}_{cursor}"
                            )
                        )
                    cursor = gap_end
                if cursor < problem.horizon_min:
                    intervals.append(
                        model.new_fixed_size_interval_var(
                            cursor, problem.horizon_min - cursor, f"off{resource}_end"
                        )
                    )
            model.add_cumulative(
                intervals, [1] * len(intervals), len(problem.groups[group])
            )

    # ------------------------------------------------------------------
    # 7. Precedences between free tasks

    def _precedences(self) -> None:
        model, problem = self._model, self._problem
        for succ in self._free_tasks:
            for precedence in problem.preds(succ):
                pred = precedence.pred
                if pred not in self._free_task_set:
                    continue  # already in the successor's release
                duration = problem.tasks[pred].duration_min
                model.add(
                    self._task_start[succ]
                    >= self._task_start[pred] + duration + precedence.delay_min
                ).only_enforce_if(self._task_presence[succ])

    def _identical_jobs(self) -> None:
        """Order interchangeable jobs: the first scheduled, and starts earlier.

        Two jobs with the same tasks (durations, releases, groups, windows,
        precedences) and the same costs and due time can swap their whole
        placements and nothing changes, so one of the two orders can be
        forbidden. Jobs sharing a task are left alone.
        """
        model, problem = self._model, self._problem
        classes: dict[tuple[object, ...], list[int]] = {}
        for job_idx in self._free_jobs:
            signature = self._job_signature(job_idx)
            if signature is not None:
                classes.setdefault(signature, []).append(job_idx)
        for members in classes.values():
            for first, second in zip(members, members[1:], strict=False):
                model.add_implication(
                    self._job_presence[second], self._job_presence[first]
                )
                task_a = problem.job_tasks(first)[0]
                task_b = problem.job_tasks(second)[0]
                model.add(
                    self._task_start[task_a] <= self._task_start[task_b]
                ).only_enforce_if(self._job_presence[second])

    def _job_signature(self, job_idx: int) -> tuple[object, ...] | None:
        problem = self._problem
        tasks = problem.job_tasks(job_idx)
        if not tasks or any(
            len(problem.tasks[t].jobs) > 1 or t not in self._free_task_set
            for t in tasks
        ):
            return None
        position = {task_idx: pos for pos, task_idx in enumerate(tasks)}
        parts: list[object] = []
        for task_idx in tasks:
            task = problem.tasks[task_idx]
            preds = tuple(
                (position.get(p.pred, -1), p.delay_min) for p in problem.preds(task_idx)
            )
            if any(pos < 0 for pos, _ in preds):
                return None
            parts.append(
                (
                    task.duration_min,
                    self._release_lower_bound(task_idx),
                    task.group,
                    task.second_group,
                    task.latest_start_min,
                    preds,
                )
            )
        job = problem.jobs[job_idx]
        parts.append(
            (
                job.unscheduled_cost,
                job.lateness_weight,
                job.due_min,
                job.release_floor_min,
                tuple((position[r.task], r.offset_min) for r in job.release_from),
                position.get(job.credit_task, -1),
                job.credit_offset_min,
                job.credit_until_min,
            )
        )
        return tuple(parts)

    # ------------------------------------------------------------------
    # 8. Lateness

    def _end_expr(self, task_idx: int) -> cp_model.LinearExpr | int:
        """A task's end: a variable when free, the base's end when fixed."""
        if task_idx in self._free_task_set:
            duration = self._problem.tasks[task_idx].duration_min
            return self._task_start[task_idx] + duration
        return self._base.end[task_idx]

    def _lateness(self) -> None:
        model, problem = self._model, self._problem
        horizon = problem.horizon_min
        for job_idx in self._free_jobs:
            job = problem.jobs[job_idx]
            presence = self._job_presence[job_idx]
            late = model.new_int_var(0, horizon, f"late{job_idx}")
            self._job_late[job_idx] = late

            credit: cp_model.LinearExpr | int = 0
            if job.credit_task >= 0:
                waited_from = self._end_expr(job.credit_task) + job.credit_offset_min
                if isinstance(waited_from, int):
                    credit = max(0, job.credit_until_min - waited_from)
                else:
                    credit_var = model.new_int_var(0, horizon, f"credit{job_idx}")
                    self._job_credit[job_idx] = credit_var
                    model.add_max_equality(
                        credit_var, [0, job.credit_until_min - waited_from]
                    )
                    credit = credit_var

            model.add(
                late + credit >= job.release_floor_min - job.due_min
            ).only_enforce_if(presence)
            for source in job.release_from:
                release = self._end_expr(source.task) + source.offset_min
                model.add(late + credit >= release - job.due_min).only_enforce_if(
                    presence
                )
            model.add(late == 0).only_enforce_if(presence.Not())

    # ------------------------------------------------------------------
    # 9. Objective

    def _objective(self) -> None:
        terms = []
        for job_idx in self._free_jobs:
            job = self._problem.jobs[job_idx]
            if job.unscheduled_cost:
                terms.append(job.unscheduled_cost * (1 - self._job_presence[job_idx]))
            if job.lateness_weight:
                terms.append(job.lateness_weight * self._job_late[job_idx])
        self._model.minimize(sum(terms))

    # ------------------------------------------------------------------
    # 10. Hint

    def _hint(self) -> None:
        """Start the search from the base solution where it fits the model."""
        model, base, problem = self._model, self._base, self._problem
        for job_idx in self._free_jobs:
            scheduled = base.scheduled[job_idx]
            model.add_hint(self._job_presence[job_idx], scheduled)
            late = job_late_min(problem, job_idx, base.end) if scheduled else 0
            model.add_hint(self._job_late[job_idx], late)
            credit = self._job_credit.get(job_idx)
            if credit is not None and scheduled:
                job = problem.jobs[job_idx]
                waited_from = base.end[job.credit_task] + job.credit_offset_min
                model.add_hint(credit, max(0, job.credit_until_min - waited_from))
        for task_idx in self._free_tasks:
            if not base.done(task_idx):
                continue
            model.add_hint(self._task_start[task_idx], base.start[task_idx])
            chosen = self._task_alts[task_idx]
            if len(chosen) <= 1:
                continue
            for alt, literal in chosen:
                model.add_hint(
                    literal,
                    alt.resource == base.resource[task_idx]
                    and alt.second_resource == base.second_resource[task_idx],
                )
