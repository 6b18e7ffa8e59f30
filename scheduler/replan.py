"""Live re-planning: a new revision of a task plan at a time T after events.

`replan` runs these steps:

1. the events, checked (`scheduler.events`) and applied to the parent's
   request (`scheduler.replan_apply`): the effective request, the roster
   with call-ins, absences, reports, pins;
2. the index data of the effective request (`scheduler.task_index`);
3. frozen tasks: reported started or finished, or planned to start before
   T with nothing before T saying otherwise (a late truck, a door outage,
   an absence, late documents, a customs decision); a task whose
   predecessor is not frozen did not start either. Frozen and pinned
   tasks are fixed where they are: the index data gives them a one-member
   group and a start window of one minute. Nothing else starts before T,
   and an absent person's shifts lose the absence (after the task they
   had started);
4. the previous plan with the events applied, repaired greedily
   (`scheduler.replan_repair`): the floor of the answer;
5. the search: one CP-SAT model (`solver.task.TaskModelBuilder`) over the
   shipments the events touched and their neighbours (all of them on a
   small day), the repaired plan as its hint, minimising unscheduled and
   lateness plus the stability term (`weights.stability_move` per minute
   a task moves, `weights.stability_reassign` per task given to another
   person or door). Its plan is taken only when it costs less than the
   repaired plan, stability included;
6. the revision: tasks, dock schedule, unscheduled shipments, objective
   with the stability term, the diff against the parent with a reason per
   operation, checked by the independent plan validator.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from ortools.sat.python import cp_model

from scheduler.diff import task_diff
from scheduler.dock import dock_schedule
from scheduler.events import TypedEvent, read_events
from scheduler.explain import explain_tasks
from scheduler.fingerprint import input_hash, plan_fingerprint
from scheduler.kpis import compute_kpis
from scheduler.models import (
    Event,
    Objective,
    Plan,
    PlanStatus,
    Provenance,
    Task,
    Weights,
)
from scheduler.replan_apply import Applied, apply_events
from scheduler.replan_repair import Placement, RepairOutcome, repair
from scheduler.roster import OBJECTIVE_KEYS
from scheduler.task_index import GroupInfo, TaskIndex, build_task_index
from scheduler.taskplan import RosterContext, roster_context
from scheduler.validate_plan import validate_plan
from solver.task import (
    ResourceData,
    TaskData,
    TaskModelBuilder,
    TaskProblem,
    TaskSolution,
    count_alternatives,
    evaluate,
)
from solver.task.cpsat import RunLimits, read_solution, run_model

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None, float], None]

# Shipments a search may re-decide on a big day: the touched ones and
# their neighbours up to this many. A full model is used while the day
# has at most FULL_MODEL_ALTERNATIVES task alternatives.
MAX_FREE_JOBS = 150
FULL_MODEL_ALTERNATIVES = 6_000
MAX_ALTERNATIVES_PER_TASK = 12
# Seconds kept for the revision's assembly and validation: on the 2-core
# development machine a 4,900-task re-plan with a 10 s limit took 11.1 s
# keeping 2e-4 s a task, 8.7 s keeping 5e-4 (benchmarks/bench_replan.py).
ASSEMBLY_S_FIXED = 0.3
ASSEMBLY_S_PER_TASK = 5.0e-4


def replan(
    plan: Plan,
    events: Sequence[Event],
    at: datetime,
    *,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    time_limit_s: float | None = None,
) -> Plan:
    """Re-plan a task plan at time `at` after events.

    Parameters
    ----------
    plan
        The parent revision (it carries its request).
    events
        The events since the parent, in any order.
    at
        The re-planning time T, with a UTC offset.
    on_progress
        Called with (objective, bound, elapsed_s) for the repaired plan
        and the searched one.
    stop
        Set it to end the search early; the repaired plan is kept then.
    time_limit_s
        Seconds for the whole call; None uses `settings.time_limit_s`.

    Returns
    -------
    Plan
        The new revision, linked to its parent, with its diff.

    Raises
    ------
    ValueError
        When `at` has no offset or an event is malformed or unknown.
    """
    started = time.perf_counter()
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at: must be an instant with a UTC offset")
    limit_s = (
        plan.request.settings.time_limit_s if time_limit_s is None else time_limit_s
    )

    # Step 1: the events applied.
    typed = read_events(events)
    applied = apply_events(plan, typed, at)
    request = applied.request
    context = roster_context(request, applied.roster)

    # Steps 2-3: index data, frozen and pinned tasks fixed.
    base_index = build_task_index(request, context.shifts)
    fixing = _Fixing(base_index, plan, applied, at)
    index = fixing.fixed_index()

    # Step 4: the greedy repair, the floor of the answer. A pin whose
    # predecessor could only be placed after it is released.
    repaired = repair(index, fixing.fixed, fixing.previous)
    while blocked := fixing.pins_behind(repaired.solution):
        for task_idx in blocked:
            fixing.release_pin(task_idx)
        index = fixing.fixed_index()
        repaired = repair(index, fixing.fixed, fixing.previous)
    weights = request.settings.weights
    repaired_cost = _total(index, repaired.solution, fixing.previous, weights)
    if on_progress is not None:
        on_progress(repaired_cost, None, time.perf_counter() - started)

    # Step 5: the search with the stability term.
    reserve_s = ASSEMBLY_S_FIXED + ASSEMBLY_S_PER_TASK * index.problem.num_tasks
    deadline = started + limit_s - reserve_s
    searched = _search(
        index, repaired, fixing, weights, deadline, stop, request.settings
    )
    chosen, method = repaired.solution, "greedy repair"
    if searched is not None:
        cost = _total(index, searched, fixing.previous, weights)
        if cost < repaired_cost:
            chosen, method = searched, "cp-sat"
            if on_progress is not None:
                on_progress(cost, None, time.perf_counter() - started)

    # Step 6: the revision, checked; the repaired plan if the search's fails.
    revision = _revision(
        plan,
        index,
        context,
        applied,
        typed,
        at,
        chosen,
        repaired,
        method,
        limit_s,
        fixing.frozen_ids | fixing.pinned_ids,
    )
    faults = _faults(revision, context)
    if faults and method != "greedy repair":
        logger.error(
            "replan: plan %s: searched revision rejected (%s), using the repair",
            plan.plan_id,
            faults[0],
        )
        revision = _revision(
            plan,
            index,
            context,
            applied,
            typed,
            at,
            repaired.solution,
            repaired,
            "greedy repair",
            limit_s,
            fixing.frozen_ids | fixing.pinned_ids,
        )
        faults = _faults(revision, context)
    if faults:
        revision.status = PlanStatus.failed
        revision.status_reason = f"the revision breaks the task rules: {faults[0]}"
    revision.timings = {"total_s": round(time.perf_counter() - started, 3)}
    revision.provenance.fingerprint = plan_fingerprint(revision)
    logger.info(
        "replan: plan %s rev %d -> %d: %s, %d events, %d operations, %.2fs",
        plan.plan_id,
        plan.revision,
        revision.revision,
        revision.status.value,
        len(typed),
        len(revision.diff or []),
        revision.timings["total_s"],
    )
    return revision


# --------------------------------------------------------------------------
# Frozen and pinned tasks


class _Fixing:
    """Which previous tasks are frozen or pinned, and the index fixing them."""

    def __init__(
        self, index: TaskIndex, plan: Plan, applied: Applied, at: datetime
    ) -> None:
        self.index = index
        self.plan = plan
        self.applied = applied
        self.at_min = math.ceil(_minutes(index, at))
        self.task_idx = {task_id: i for i, task_id in enumerate(index.task_ids)}
        self.previous: dict[int, Placement] = {}
        self.fixed: dict[int, Placement] = {}
        self.frozen_ids: set[str] = set()
        self.pinned_ids: set[str] = set()
        self._read_previous()
        self._freeze()

    def _resource_of(
        self, person_id: str | None, door_id: str | None, start: int, end: int
    ) -> tuple[int, int] | None:
        """Resource indices of a placement: (person's shift or door, door or -1)."""
        person_res = door_res = -1
        for res_idx, info in enumerate(self.index.resources):
            if door_id is not None and info.door_id == door_id:
                door_res = res_idx
            if person_id is not None and info.person_id == person_id:
                windows = self.index.problem.resources[res_idx].windows
                if windows[0][0] <= start and end <= windows[-1][1]:
                    person_res = res_idx
        if (person_id is not None and person_res < 0) or (
            door_id is not None and door_res < 0
        ):
            return None
        if person_res >= 0:
            return person_res, door_res
        return door_res, -1

    def _placement(self, task: Task, start: int | None = None) -> Placement | None:
        task_idx = self.task_idx[task.id]
        begin = round(_minutes(self.index, task.start)) if start is None else start
        end = begin + self.index.problem.tasks[task_idx].duration_min
        found = self._resource_of(task.person_id, task.door_id, begin, end)
        if found is None:
            return None
        return begin, found[0], found[1]

    def _read_previous(self) -> None:
        for task in self.plan.tasks:
            if task.id in self.task_idx:
                placement = self._placement(task)
                if placement is not None:
                    self.previous[self.task_idx[task.id]] = placement

    def _freeze(self) -> None:
        """Frozen: reported, or planned before T and undisturbed; then pins."""
        applied, problem = self.applied, self.index.problem
        by_id = {task.id: task for task in self.plan.tasks}
        happened = self._before_reported()
        for task_idx, task_id in enumerate(self.index.task_ids):
            task = by_id.get(task_id)
            if task is None:
                continue
            placement = self._reported(task)
            undisturbed = task_id not in applied.causes or task_idx in happened
            if placement is None and undisturbed:
                planned = self.previous.get(task_idx)
                if planned is not None and planned[0] < self.at_min:
                    placement = planned
            # It cannot have started before its predecessors ended.
            preds_fixed = placement is not None and all(
                p.pred in self.fixed
                and self.fixed[p.pred][0]
                + problem.tasks[p.pred].duration_min
                + p.delay_min
                <= placement[0]
                for p in problem.preds(task_idx)
            )
            if placement is not None and (
                preds_fixed or task_id in applied.started or task_id in applied.finished
            ):
                self.fixed[task_idx] = placement
                self.frozen_ids.add(task_id)
        pins = sorted(
            (self.task_idx[task_id], task_id)
            for task_id in applied.pinned
            if task_id in self.task_idx
        )
        for pin_idx, task_id in pins:
            if pin_idx in self.fixed:
                continue
            planned = self.previous.get(pin_idx)
            if (
                planned is None
                or task_id in applied.causes
                or self._pin_blocked(pin_idx, planned)
            ):
                logger.warning(
                    "replan: plan %s: pin on %s released: the events move it",
                    self.plan.plan_id,
                    task_id,
                )
                continue
            self.fixed[pin_idx] = planned
            self.pinned_ids.add(task_id)

    def pins_behind(self, solution: TaskSolution) -> list[int]:
        """Pinned tasks a predecessor ends too late for, or that are left out."""
        problem = self.index.problem
        blocked = []
        for task_id in self.pinned_ids:
            task_idx = self.task_idx[task_id]
            start = self.fixed[task_idx][0]
            for precedence in problem.preds(task_idx):
                pred = precedence.pred
                if not solution.done(pred) or (
                    solution.end[pred] + precedence.delay_min > start
                ):
                    blocked.append(task_idx)
                    break
        return blocked

    def release_pin(self, task_idx: int) -> None:
        task_id = self.index.task_ids[task_idx]
        logger.warning(
            "replan: plan %s: pin on %s released: its predecessor ends after it",
            self.plan.plan_id,
            task_id,
        )
        self.pinned_ids.discard(task_id)
        del self.fixed[task_idx]

    def _before_reported(self) -> set[int]:
        """Tasks that must have happened: predecessors of reported ones."""
        problem = self.index.problem
        reported = set(self.applied.started) | set(self.applied.finished)
        stack = [self.task_idx[t] for t in reported if t in self.task_idx]
        found: set[int] = set()
        while stack:
            for precedence in problem.preds(stack.pop()):
                if precedence.pred not in found:
                    found.add(precedence.pred)
                    stack.append(precedence.pred)
        return found

    def _pin_blocked(self, task_idx: int, planned: Placement) -> bool:
        """Whether a predecessor can no longer end before the pinned start."""
        problem = self.index.problem
        for precedence in problem.preds(task_idx):
            pred = self.fixed.get(precedence.pred)
            if pred is None:
                pred_id = self.index.task_ids[precedence.pred]
                if planned[0] < self.at_min or pred_id in self.applied.causes:
                    return True
                continue
            pred_end = pred[0] + problem.tasks[precedence.pred].duration_min
            if pred_end + precedence.delay_min > planned[0]:
                return True
        return False

    def _reported(self, task: Task) -> Placement | None:
        """Where a reported task was done: at its reported times."""
        applied = self.applied
        report = applied.started.get(task.id)
        finished = applied.finished.get(task.id)
        if report is None and finished is None:
            return None
        duration = self.index.problem.tasks[self.task_idx[task.id]].duration_min
        if report is not None:
            start = math.ceil(_minutes(self.index, report.started_at))
            person = report.person_id or task.person_id
            door = report.door_id or task.door_id
        else:
            assert finished is not None
            start = math.ceil(_minutes(self.index, finished.finished_at)) - duration
            person, door = task.person_id, task.door_id
        found = self._resource_of(person, door, start, start + duration)
        if found is None:
            return None
        return start, found[0], found[1]

    def fixed_index(self) -> TaskIndex:
        """The index with fixed tasks pinned, releases at T, absences cut."""
        index, problem = self.index, self.index.problem
        groups = list(problem.groups)
        infos = list(index.groups)

        def singleton(resource: int, like: int) -> int:
            groups.append((resource,))
            infos.append(GroupInfo(infos[like].need, f"{infos[like].label} (fixed)"))
            return len(groups) - 1

        tasks: list[TaskData] = []
        for task_idx, data in enumerate(problem.tasks):
            placement = self.fixed.get(task_idx)
            if placement is not None:
                start, resource, second = placement
                tasks.append(
                    dataclasses.replace(
                        data,
                        release_min=max(0, start),
                        latest_start_min=start,
                        group=singleton(resource, data.group),
                        second_group=-1
                        if second < 0
                        else singleton(second, data.second_group),
                    )
                )
                continue
            latest = self._reply_latest(task_idx, data)
            tasks.append(
                dataclasses.replace(
                    data,
                    release_min=max(data.release_min, self.at_min),
                    latest_start_min=latest,
                )
            )
        resources = self._absent_resources()
        fixed_problem = TaskProblem(
            horizon_min=problem.horizon_min,
            resources=tuple(resources),
            groups=tuple(groups),
            tasks=tuple(tasks),
            precedences=problem.precedences,
            jobs=problem.jobs,
            pause_over_breaks=problem.pause_over_breaks,
        )
        return dataclasses.replace(index, problem=fixed_problem, groups=infos)

    def _reply_latest(self, task_idx: int, data: TaskData) -> int | None:
        """A documentary reply deadline as the response's latest start."""
        index = self.index
        shipment_id = index.task_shipment[task_idx]
        deadline = self.applied.reply_deadlines.get(shipment_id or "")
        if deadline is None or index.task_kinds[task_idx].value != "respond":
            return data.latest_start_min
        return math.floor(_minutes(index, deadline)) - data.duration_min

    def _absent_resources(self) -> list[ResourceData]:
        """People's shifts less their absences (after any task they began)."""
        index, problem = self.index, self.index.problem
        resources = list(problem.resources)
        for res_idx, info in enumerate(index.resources):
            spans = self.applied.absences.get(info.person_id or "")
            if not spans:
                continue
            windows = list(problem.resources[res_idx].windows)
            for absent_from, absent_until in spans:
                start = math.floor(_minutes(index, absent_from))
                end = (
                    problem.horizon_min
                    if absent_until is None
                    else math.ceil(_minutes(index, absent_until))
                )
                for task_idx, (fixed_start, res, second) in self.fixed.items():
                    fixed_end = fixed_start + problem.tasks[task_idx].duration_min
                    if res_idx in (res, second) and fixed_start < start < fixed_end:
                        # A task begun before the absence is finished by its person.
                        start = fixed_end
                windows = _cut(windows, start, end)
            breaks = tuple(
                b
                for b in problem.resources[res_idx].breaks
                if any(w[1] == b[0] for w in windows)
                and any(w[0] == b[1] for w in windows)
            )
            resources[res_idx] = _resource(windows, breaks)
        return resources


def _resource(
    windows: list[tuple[int, int]], breaks: tuple[tuple[int, int], ...]
) -> ResourceData:
    # A shift wholly inside an absence keeps a one-minute window at its
    # start so the index keeps its shape; no task fits in it.
    if not windows:
        return ResourceData(windows=((0, 1),), breaks=())
    return ResourceData(windows=tuple(windows), breaks=breaks)


def _cut(windows: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    kept: list[tuple[int, int]] = []
    for w_start, w_end in windows:
        if w_end <= start or end <= w_start:
            kept.append((w_start, w_end))
            continue
        if w_start < start:
            kept.append((w_start, start))
        if end < w_end:
            kept.append((end, w_end))
    return kept


def _minutes(index: TaskIndex, instant: datetime) -> float:
    return (instant.timestamp() - index.horizon_start.timestamp()) / 60.0


# --------------------------------------------------------------------------
# Costs and search


def _stability(
    solution: TaskSolution, previous: dict[int, Placement], weights: Weights
) -> int:
    """Minutes moved and tasks reassigned against the previous plan."""
    total = 0
    for task_idx, (start, resource, second) in previous.items():
        if not solution.done(task_idx):
            continue
        total += weights.stability_move * abs(solution.start[task_idx] - start)
        if (solution.resource[task_idx], solution.second_resource[task_idx]) != (
            resource,
            second,
        ):
            total += weights.stability_reassign
    return total


def _total(
    index: TaskIndex,
    solution: TaskSolution,
    previous: dict[int, Placement],
    weights: Weights,
) -> int:
    return evaluate(index.problem, solution).total + _stability(
        solution, previous, weights
    )


def _free_jobs(index: TaskIndex, repaired: RepairOutcome, fixing: _Fixing) -> list[int]:
    """Shipments the search may re-decide."""
    problem = index.problem
    open_jobs = [
        j
        for j in range(problem.num_jobs)
        if not all(t in fixing.fixed for t in problem.job_tasks(j))
    ]
    if count_alternatives(problem) <= FULL_MODEL_ALTERNATIVES:
        return open_jobs
    solution = repaired.solution
    touched = {
        j
        for j in open_jobs
        if not solution.scheduled[j]
        or any(
            t not in repaired.kept and t not in fixing.fixed
            for t in problem.job_tasks(j)
        )
    }
    # Neighbours: open shipments whose tasks overlap in time the touched ones.
    spans = [
        (solution.start[t], solution.end[t])
        for j in touched
        for t in problem.job_tasks(j)
        if solution.done(t)
    ]
    chosen = sorted(touched)[:MAX_FREE_JOBS]
    if not spans:
        return chosen
    low, high = min(s for s, _ in spans), max(e for _, e in spans)
    for j in open_jobs:
        if len(chosen) >= MAX_FREE_JOBS:
            break
        if j in touched or not solution.scheduled[j]:
            continue
        if any(
            solution.done(t) and solution.start[t] < high and low < solution.end[t]
            for t in problem.job_tasks(j)
        ):
            chosen.append(j)
    return sorted(chosen)


def _search(
    index: TaskIndex,
    repaired: RepairOutcome,
    fixing: _Fixing,
    weights: Weights,
    deadline: float,
    stop: threading.Event | None,
    settings: object,
) -> TaskSolution | None:
    """One CP-SAT model with the stability term, the repair as its hint."""
    if deadline - time.perf_counter() <= 0.05 or (stop is not None and stop.is_set()):
        return None
    problem = index.problem
    free_jobs = _free_jobs(index, repaired, fixing)
    if not free_jobs:
        return None
    large = count_alternatives(problem) > FULL_MODEL_ALTERNATIVES
    builder = TaskModelBuilder(
        problem,
        free_jobs,
        base=repaired.solution,
        max_alternatives=MAX_ALTERNATIVES_PER_TASK if large else None,
    )
    task_model = builder.build()
    model = task_model.model

    # The objective again, with the stability term added.
    terms: list[cp_model.LinearExprT] = []
    for job_idx in task_model.free_jobs:
        job = problem.jobs[job_idx]
        presence = task_model.job_presence[job_idx]
        terms.append(job.unscheduled_cost * (1 - presence))
        terms.append(job.lateness_weight * task_model.job_late[job_idx])
    for task_idx in task_model.free_tasks:
        before = fixing.previous.get(task_idx)
        if before is None or task_idx in fixing.fixed:
            continue
        start, resource, second = before
        moved = model.new_int_var(0, problem.horizon_min, f"moved{task_idx}")
        model.add_abs_equality(moved, task_model.task_start[task_idx] - start)
        terms.append(weights.stability_move * moved)
        same = [
            literal
            for alt, literal in task_model.task_alternatives[task_idx]
            if alt.resource == resource and alt.second_resource == second
        ]
        terms.append(weights.stability_reassign * (1 - sum(same)))
        model.add_hint(
            moved,
            abs(repaired.solution.start[task_idx] - start)
            if repaired.solution.done(task_idx)
            else 0,
        )
    model.minimize(sum(terms))

    # Building the model took part of the time: CP-SAT gets what is left.
    search_s = deadline - time.perf_counter()
    if search_s <= 0.05:
        return None
    seed = getattr(settings, "seed", 0)
    workers = getattr(settings, "num_workers", 2)
    outcome, solver = run_model(
        task_model,
        RunLimits(
            time_limit_s=search_s,
            deterministic_time=None,
            seed=seed,
            num_workers=workers,
        ),
        stop,
    )
    logger.info(
        "replan: search over %d shipments: %s, %d solutions, %.2fs",
        len(task_model.free_jobs),
        outcome.status_name,
        outcome.num_solutions,
        outcome.wall_time_s,
    )
    if not outcome.has_solution:
        return None
    return read_solution(problem, task_model, solver, repaired.solution)


# --------------------------------------------------------------------------
# The revision


def _revision(
    parent: Plan,
    index: TaskIndex,
    context: RosterContext,
    applied: Applied,
    typed: list[TypedEvent],
    at: datetime,
    solution: TaskSolution,
    repaired: RepairOutcome,
    method: str,
    limit_s: float,
    fixed_ids: set[str],
) -> Plan:
    request = applied.request
    tasks = index.to_tasks(solution)
    reasons = {
        j: repaired.reasons.get(
            j, ("no_time_left", "leaving it out costs less than serving it this late")
        )
        for j, scheduled in enumerate(solution.scheduled)
        if not scheduled
    }
    unscheduled = index.to_unscheduled(reasons)
    costs = evaluate(index.problem, solution)
    weights = request.settings.weights
    terms = {key: 0 for key in OBJECTIVE_KEYS}
    terms.update(context.terms)
    terms["unscheduled"] = costs.unscheduled
    terms["lateness"] = costs.lateness
    terms["stability"] = task_stability(parent.tasks, tasks, weights)

    # A pin the events released (its person absent, its door out) is
    # dropped from the list; the diff says why the task moved.
    placed = {task.id for task in tasks}
    pinned = sorted(applied.pinned & fixed_ids & placed)
    explain = _Reasons(parent, index, applied, typed, solution, repaired)
    diff = task_diff(parent.tasks, tasks, explain.reason)
    status = PlanStatus.feasible if method == "cp-sat" else PlanStatus.heuristic
    status_reason = (
        f"time-limited ({limit_s:g} s): the best validated re-plan found"
        if method == "cp-sat"
        else f"time-limited ({limit_s:g} s): the previous plan with the events "
        "applied, repaired greedily; nothing better was found in time"
    )
    return Plan(
        plan_id=parent.plan_id,
        revision=parent.revision + 1,
        parent_revision=parent.revision,
        request=request,
        status=status,
        status_reason=status_reason,
        objective=Objective(total=sum(terms.values()), terms=terms),
        bound=None,
        bound_reason="a re-plan searches around the previous plan: no global bound",
        gap=None,
        kpis=compute_kpis(request, context.shifts, tasks, unscheduled),
        roster=context.shifts,
        coverage=context.coverage,
        understaffed=context.understaffed,
        tasks=tasks,
        dock_schedule=dock_schedule(request, tasks),
        unscheduled=unscheduled,
        explanations=explain_tasks(
            request, context.shifts, tasks, unscheduled, context.coverage
        ),
        provenance=Provenance(
            solver="cp-sat" if method == "cp-sat" else "greedy",
            solver_version=parent.provenance.solver_version,
            clearplan_version=parent.provenance.clearplan_version,
            parameters={"method": f"replan ({method})", "time_limit_s": limit_s},
            seed=request.settings.seed,
            input_hash=input_hash(request),
        ),
        diff=diff,
        pinned_task_ids=pinned,
        replanned_at=at,
        events=[item.event for item in typed],
    )


def task_stability(
    parent: Sequence[Task], child: Sequence[Task], weights: Weights
) -> int:
    """The stability term: minutes moved and tasks reassigned, weighted."""
    before = {task.id: task for task in parent}
    total = 0
    for task in child:
        old = before.get(task.id)
        if old is None:
            continue
        moved_min = round(abs((task.start - old.start).total_seconds()) / 60)
        total += weights.stability_move * moved_min
        if (task.person_id, task.door_id) != (old.person_id, old.door_id):
            total += weights.stability_reassign
    return total


def _faults(plan: Plan, context: RosterContext) -> list[str]:
    report = validate_plan(plan)
    roster_faults = set(context.violations)
    return [v.message for v in report.violations if v not in roster_faults]


class _Reasons:
    """The reason of each diff operation, in the dispatcher's words."""

    def __init__(
        self,
        parent: Plan,
        index: TaskIndex,
        applied: Applied,
        typed: list[TypedEvent],
        solution: TaskSolution,
        repaired: RepairOutcome,
    ) -> None:
        self.applied = applied
        self.typed = typed
        self.task_of = {t.id: t for t in parent.tasks}
        self.unscheduled_before = {u.shipment_id for u in parent.unscheduled}
        self.load_of = {s.id: s.load_id for s in applied.request.shipments}
        self.index = index
        problem = index.problem
        after = evaluate(problem, solution)
        before = evaluate(problem, repaired.solution)
        self.saved: list[tuple[str, int]] = sorted(
            (
                (index.job_shipments[j].id, before.late_min[j] - after.late_min[j])
                for j in range(problem.num_jobs)
                if solution.scheduled[j]
                and repaired.solution.scheduled[j]
                and before.late_min[j] > after.late_min[j]
            ),
            key=lambda item: -item[1],
        )
        self.saved_weighted = before.lateness - after.lateness

    def _events_of(self, task_id: str) -> list[TypedEvent]:
        """Events that concern a task: its own causes, its shipment, load,
        previous person or door, and its reports."""
        found = list(self.applied.causes.get(task_id, []))
        task = self.task_of.get(task_id)
        shipment_id = task_id.split(":", 1)[0]
        keys = {task_id, shipment_id}
        if task is not None:
            keys |= {k for k in (task.person_id, task.door_id, task.load_id) if k}
        if task_id.endswith(":exam"):
            # An exam waits for its goods: a late truck moves it too.
            keys.add(self.load_of.get(shipment_id) or "")
        for item in self.typed:
            if item.subject_id in keys and item not in found:
                found.append(item)
        return found

    def reason(self, op: str, task_id: str) -> str:
        shipment_id = task_id.split(":", 1)[0]
        cancelled = self.applied.cancelled.get(shipment_id)
        if op == "drop" and cancelled is not None:
            return f"cancelled by {cancelled.label()}"
        own = self._events_of(task_id)
        if op == "drop":
            cause = f" after {own[0].label()}" if own else ""
            return f"shipment {shipment_id} is no longer served{cause}"
        if op == "add":
            if own:
                return f"new work from {own[0].label()}"
            return f"shipment {shipment_id} is served now"
        if own:
            return f"{op} forced by {own[0].label()}"
        if task_id in self.applied.started or task_id in self.applied.finished:
            return f"{op}: reported times"
        if self.saved:
            shown = ", ".join(f"{s} {m} min" for s, m in self.saved[:3])
            return (
                f"{op} to save lateness: {self.saved_weighted} weighted lateness "
                f"minutes saved over the repaired plan ({shown})"
            )
        events = ", ".join(item.label() for item in self.typed[:3]) or "the events"
        return f"{op} to make room after {events}"
