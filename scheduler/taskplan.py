"""Plan the tasks of a request on a roster: the task engine's domain wrapper.

`plan_tasks` runs the pipeline:

1. the roster: the one given, else the request's fixed roster (its
   instants filled in), with its objective terms and coverage from the
   roster validator;
2. the index data (`scheduler.task_index`);
3. the greedy plan (`scheduler.task_greedy`): the first plan, the hint and
   the fallback;
4. the improvement (`solver.task.improve`): one CP-SAT model for a small
   day, large-neighbourhood search for a big one, within the time limit
   less what the plan's assembly is expected to take;
5. the plan: tasks, dock schedule, unscheduled shipments with reasons,
   objective (task terms plus the roster's), KPIs, explanations, status,
   bound, gap, provenance and timings, checked by the independent plan
   validator before it is returned. A solver plan the validator rejects
   is replaced by the greedy plan.

Statuses: ``optimal`` when the objective equals a proven bound;
``feasible`` when the search beat the greedy plan and a limit stopped it;
``heuristic`` when nothing beat the greedy plan in time; ``cancelled``
when the stop flag ended the search (best plan so far).
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scheduler.dock import dock_schedule
from scheduler.explain import explain_tasks
from scheduler.fingerprint import input_hash, plan_fingerprint
from scheduler.kpis import compute_kpis
from scheduler.models import (
    CoverageRow,
    Objective,
    Plan,
    PlanStatus,
    Provenance,
    Request,
    RosterShift,
    Shortfall,
)
from scheduler.roster import OBJECTIVE_KEYS, merge_shortfalls, plan_roster
from scheduler.task_greedy import GreedyOutcome, greedy_plan
from scheduler.task_index import TaskIndex, build_task_index
from scheduler.validate_plan import validate_plan
from scheduler.validate_roster import Violation, validate_roster
from solver.task import (
    SearchParams,
    TaskResult,
    TaskSolution,
    TaskStatus,
    chain_bound,
    evaluate,
    improve,
)
from solver.task.search import WORK_PER_SECOND

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None, float], None]

# The search stops early enough for the plan's assembly (tasks, KPIs,
# explanations, dock schedule), the validator and the fingerprint. That
# work grows with the plan like the index and greedy plan do, so it is
# estimated from how long they took on this machine now. On the 2-core
# development machine with other jobs running, the rest took 1.6 times
# the index and greedy time at 8,000 shipments (4.7 s, then 7.5 s) and
# up to 2.9 times on the HKIA day at x1.8 (1.2 s, then 3.4 s, the load
# changing in between); 2.5 covers all but such swings, which the grace
# after the limit absorbs. The per-task figure is a floor for when the
# greedy stage ran unusually fast: at 8,000 shipments (20,000 tasks) the
# rest took up to 7.6 s.
ASSEMBLY_PER_GREEDY_S = 2.5
ASSEMBLY_S_PER_TASK = 3.5e-4
ASSEMBLY_S_FIXED = 0.3
# Seconds the index and the greedy plan take per task (about half the
# loaded machine's rate); in reproducible mode the search budget is
# derived from this estimate, not from the clock, so that it is the same
# on every run.
GREEDY_S_PER_TASK = 1.0e-4

_STATUS_OF = {
    TaskStatus.optimal: PlanStatus.optimal,
    TaskStatus.feasible: PlanStatus.feasible,
    TaskStatus.unimproved: PlanStatus.heuristic,
    TaskStatus.cancelled: PlanStatus.cancelled,
}


class TaskPlanError(RuntimeError):
    """A task plan failed the independent validator."""


@dataclass(frozen=True)
class RosterContext:
    """The roster a task plan runs on, with its validator figures."""

    shifts: list[RosterShift]
    terms: dict[str, int]
    coverage: list[CoverageRow]
    understaffed: list[Shortfall]
    violations: list[Violation]


def plan_tasks(
    request: Request,
    *,
    roster: Sequence[RosterShift] | None = None,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    time_limit_s: float | None = None,
    on_incumbent: Callable[[Plan], None] | None = None,
) -> Plan:
    """Plan the tasks of a request on a roster.

    Parameters
    ----------
    request
        The request: site, horizon, staff, doors, standards, loads,
        shipments and settings.
    roster
        The shifts people work; None uses the request's roster (none at
        all when the request has no roster).
    on_progress
        Called with (objective, bound, elapsed_s) for the first plan and
        on each improvement; the objective includes the roster's terms.
    stop
        Set it to end the search early; the plan is then ``cancelled``.
    time_limit_s
        Seconds for the whole call; None uses `settings.time_limit_s`.
    on_incumbent
        Called once with the validated greedy plan before the search, so a
        caller (the service) can keep a plan should the search be killed.

    Returns
    -------
    Plan
        A plan holding the roster and the tasks that has passed the plan
        validator (status ``failed`` only if even the greedy plan did not).
    """
    started = time.perf_counter()
    limit_s = request.settings.time_limit_s if time_limit_s is None else time_limit_s

    # Steps 1-3: roster, index data, greedy plan and the chain bound.
    context = roster_context(request, roster)
    index = build_task_index(request, context.shifts)
    bound = chain_bound(index.problem)
    greedy = greedy_plan(index, bound)
    greedy_s = time.perf_counter() - started
    roster_total = sum(context.terms.values())
    greedy_objective = evaluate(index.problem, greedy.solution).total
    if on_progress is not None:
        on_progress(
            greedy_objective + roster_total, bound.total + roster_total, greedy_s
        )

    if on_incumbent is not None:
        _offer_greedy(index, context, greedy, bound.total, limit_s, on_incumbent)

    # Step 4: the search, stopping early enough for the assembly.
    result = _search(
        index,
        greedy,
        request,
        limit_s,
        started,
        on_progress,
        stop,
        roster_total,
        bound.total,
    )
    search_s = time.perf_counter() - started - greedy_s

    # Step 5: the plan, validated; the greedy plan if the solver's fails.
    try:
        plan = _assemble(index, context, result.solution, greedy, result, limit_s)
    except TaskPlanError:
        logger.error(
            "taskplan: request %s: solver plan rejected, using the greedy plan",
            request.request_id,
            exc_info=True,
        )
        fallback = _greedy_result(index, greedy, bound.total, "solver plan rejected")
        try:
            plan = _assemble(index, context, greedy.solution, greedy, fallback, limit_s)
        except TaskPlanError as exc:
            logger.error(
                "taskplan: request %s: greedy plan rejected too",
                request.request_id,
                exc_info=True,
            )
            plan = _assemble(
                index, context, greedy.solution, greedy, fallback, limit_s, check=False
            )
            plan.status = PlanStatus.failed
            plan.status_reason = f"the plan breaks the task rules: {exc}"
    # Timings are not part of the fingerprint, so the total can count it.
    plan.provenance.fingerprint = plan_fingerprint(plan)
    plan.timings = {
        "greedy_s": round(greedy_s, 3),
        "first_plan_s": round(greedy_s, 3),
        "search_s": round(search_s, 3),
        "total_s": round(time.perf_counter() - started, 3),
    }
    logger.info(
        "taskplan: request %s: %s, objective %d, %d tasks, %d unscheduled, %.2fs",
        request.request_id,
        plan.status.value,
        plan.objective.total,
        len(plan.tasks),
        len(plan.unscheduled),
        plan.timings["total_s"],
    )
    return plan


def _offer_greedy(
    index: TaskIndex,
    context: RosterContext,
    greedy: GreedyOutcome,
    bound_total: int,
    limit_s: float,
    on_incumbent: Callable[[Plan], None],
) -> None:
    """Hand the validated greedy plan to `on_incumbent` as the best so far."""
    result = _greedy_result(index, greedy, bound_total, "best so far: greedy plan")
    try:
        plan = _assemble(index, context, greedy.solution, greedy, result, limit_s)
    except TaskPlanError:
        logger.error("taskplan: greedy plan rejected as incumbent", exc_info=True)
        return
    plan.provenance.fingerprint = plan_fingerprint(plan)
    on_incumbent(plan)


# --------------------------------------------------------------------------
# Roster


def roster_context(
    request: Request, roster: Sequence[RosterShift] | None
) -> RosterContext:
    """The roster to plan on, its objective terms, coverage and shortfalls."""
    if roster is None and request.roster is not None:
        # The request's fixed roster, its instants and costs filled in; the
        # roster engine has validated it already.
        roster_plan = plan_roster(request)
        if roster_plan.status != PlanStatus.infeasible:
            return RosterContext(
                shifts=list(roster_plan.roster),
                terms=_roster_terms(roster_plan.objective.terms),
                coverage=roster_plan.coverage,
                understaffed=roster_plan.understaffed,
                violations=[],
            )
        shifts = list(roster_plan.roster)
    else:
        shifts = list(roster or [])
    report = validate_roster(request, shifts)
    if report.violations:
        logger.warning(
            "taskplan: request %s: the roster breaks %d roster rules",
            request.request_id,
            len(report.violations),
        )
    return RosterContext(
        shifts=shifts,
        terms=_roster_terms(report.objective.terms),
        coverage=report.coverage,
        understaffed=merge_shortfalls(report.coverage),
        violations=report.violations,
    )


def _roster_terms(terms: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in terms.items() if k not in ("unscheduled", "lateness")}


# --------------------------------------------------------------------------
# Search


def assembly_reserve_s(num_tasks: int, greedy_s: float = 0.0) -> float:
    """Seconds to keep for assembling and validating a plan.

    Parameters
    ----------
    num_tasks
        Tasks of the day.
    greedy_s
        Seconds the roster, index and greedy plan took in this run.
    """
    floor = ASSEMBLY_S_FIXED + ASSEMBLY_S_PER_TASK * num_tasks
    return max(floor, ASSEMBLY_PER_GREEDY_S * greedy_s)


def _search(
    index: TaskIndex,
    greedy: GreedyOutcome,
    request: Request,
    limit_s: float,
    started: float,
    on_progress: ProgressCallback | None,
    stop: threading.Event | None,
    roster_total: int,
    lower_bound: int,
) -> TaskResult:
    settings = request.settings
    num_tasks = index.problem.num_tasks
    elapsed_s = time.perf_counter() - started
    reserve_s = assembly_reserve_s(num_tasks, elapsed_s)
    search_s = max(0.0, limit_s - elapsed_s - reserve_s)
    work_budget = None
    if settings.reproducible:
        # From the limit and the size only, never the clock, so the same
        # request searches the same steps on every run.
        expected_s = (
            limit_s - assembly_reserve_s(num_tasks) - GREEDY_S_PER_TASK * num_tasks
        )
        work_budget = max(0.0, WORK_PER_SECOND * expected_s)

    def progress(objective: int, bound: int | None, elapsed_s: float) -> None:
        if on_progress is not None:
            total_bound = None if bound is None else bound + roster_total
            on_progress(
                objective + roster_total, total_bound, time.perf_counter() - started
            )

    params = SearchParams(
        time_limit_s=search_s,
        seed=settings.seed,
        num_workers=settings.num_workers,
        reproducible=settings.reproducible,
        work_budget=work_budget,
        stop=stop,
        on_progress=progress,
    )
    return improve(index.problem, greedy.solution, params, lower_bound)


def _greedy_result(
    index: TaskIndex, greedy: GreedyOutcome, bound: int, reason: str
) -> TaskResult:
    objective = evaluate(index.problem, greedy.solution).total
    return TaskResult(
        status=TaskStatus.optimal if objective <= bound else TaskStatus.unimproved,
        solution=greedy.solution,
        objective=objective,
        bound=bound,
        bound_reason="lower bound from each shipment planned alone",
        gap=None,
        runtime_s=0.0,
        method="greedy",
        parameters={"method": "greedy", "fallback": reason},
    )


# --------------------------------------------------------------------------
# The plan


def _assemble(
    index: TaskIndex,
    context: RosterContext,
    solution: TaskSolution,
    greedy: GreedyOutcome,
    result: TaskResult,
    limit_s: float,
    check: bool = True,
) -> Plan:
    """Build the plan of a solution and check it with the validator."""
    request = index.request
    tasks = index.to_tasks(solution)
    unscheduled = index.to_unscheduled(_reasons(index, solution, greedy))
    terms = _objective_terms(index, solution, context)
    objective = Objective(total=sum(terms.values()), terms=terms)

    status = _STATUS_OF[result.status]
    roster_total = sum(context.terms.values())
    bound = None if result.bound is None else result.bound + roster_total
    if bound is not None:
        bound = min(bound, objective.total)
    if status == PlanStatus.optimal and bound != objective.total:
        status = PlanStatus.feasible

    settings = request.settings
    plan = Plan(
        plan_id=f"tasks-{uuid.uuid4().hex[:12]}",
        request=request,
        status=status,
        status_reason=_status_reason(status, result, limit_s),
        objective=objective,
        bound=bound,
        bound_reason=result.bound_reason if bound is not None else "no bound",
        gap=None if bound is None else _gap(objective.total, bound),
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
            solver="cp-sat" if result.method in ("full_model", "lns") else "greedy",
            solver_version=_ortools_version(),
            clearplan_version=_clearplan_version(),
            parameters={
                "time_limit_s": limit_s,
                "num_workers": settings.num_workers,
                "reproducible": settings.reproducible,
                "breaks": settings.policies.breaks,
                **result.parameters,
            },
            seed=settings.seed,
            input_hash=input_hash(request),
        ),
    )
    if check:
        _check(plan, context)
    return plan


def _reasons(
    index: TaskIndex, solution: TaskSolution, greedy: GreedyOutcome
) -> dict[int, tuple[str, str]]:
    """The reason of each job the solution leaves unscheduled."""
    reasons = {}
    for job_idx, scheduled in enumerate(solution.scheduled):
        if scheduled:
            continue
        reasons[job_idx] = greedy.reasons.get(
            job_idx,
            ("no_time_left", "leaving it out costs less than serving it this late"),
        )
    return reasons


def _objective_terms(
    index: TaskIndex, solution: TaskSolution, context: RosterContext
) -> dict[str, int]:
    """Every objective term: the task terms and the roster's.

    The task terms come from the index data (`solver.task.evaluate`), the
    roster's from the roster validator; the plan validator recomputes all
    of them from the plan on its own before the plan is returned.
    """
    costs = evaluate(index.problem, solution)
    terms = {key: 0 for key in OBJECTIVE_KEYS}
    terms.update(context.terms)
    terms["unscheduled"] = costs.unscheduled
    terms["lateness"] = costs.lateness
    return terms


def _check(plan: Plan, context: RosterContext) -> None:
    """Raise `TaskPlanError` unless the validator accepts the plan's tasks.

    A roster that breaks roster rules is the caller's (a fixed roster):
    the tasks cannot mend it, so the plan is ``infeasible`` with the
    reason, as the design asks of hard rules that contradict each other.
    """
    report = validate_plan(plan)
    roster_faults = set(context.violations)
    task_faults = [v for v in report.violations if v not in roster_faults]
    if task_faults:
        rules = sorted({v.rule for v in task_faults})
        raise TaskPlanError(
            f"{len(task_faults)} violations ({', '.join(rules)}); first: "
            f"{task_faults[0].message}"
        )
    if context.violations:
        rules = sorted({v.rule for v in context.violations})
        plan.status = PlanStatus.infeasible
        plan.status_reason = (
            f"the roster breaks {', '.join(rules)}: {context.violations[0].message}"
        )


def _gap(objective: int, bound: int) -> float:
    return round(max(0.0, (objective - bound) / max(1, abs(objective))), 6)


def _status_reason(status: PlanStatus, result: TaskResult, limit_s: float) -> str:
    if status == PlanStatus.optimal:
        return "the objective equals a proven lower bound"
    if status == PlanStatus.cancelled:
        return "stopped on request: the best plan found so far"
    if result.method == "greedy":
        return f"the greedy plan ({result.parameters.get('fallback', 'no search')})"
    if result.method == "none":
        return (
            f"time-limited ({limit_s:g} s): no time was left to search past "
            "the greedy plan"
        )
    searched = (
        f"{result.iterations} neighbourhood steps, {result.improvements} improvements"
        if result.method == "lns"
        else "one CP-SAT model of the whole day"
    )
    if result.hit_wall_clock:
        searched += (
            "; the wall clock ended this reproducible search before its work "
            "budget, so another run may differ"
        )
    if status == PlanStatus.feasible:
        return f"time-limited ({limit_s:g} s): the best plan found, {searched}"
    return (
        f"time-limited ({limit_s:g} s): nothing better than the greedy plan "
        f"was found ({searched})"
    )


def _ortools_version() -> str:
    return importlib.metadata.version("ortools")


def _clearplan_version() -> str:
    try:
        return importlib.metadata.version("clearplan")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"
