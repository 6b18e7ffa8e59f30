"""Plan a request end to end: the roster first when needed, then the tasks.

`make_plan` is what the command line and the service call:

- a request with staff but no roster is rostered first
  (`scheduler.roster.plan_roster`), then its tasks are planned on that
  roster (`scheduler.taskplan.plan_tasks`);
- a request with a roster, or without staff, goes straight to the tasks;
- a request without shipments gets the roster plan alone.

The time limit is split between the two stages: the roster gets
`ROSTER_SHARE` of it (at least `MIN_STAGE_S`), the tasks the rest of the
real time left. The task plan is the main answer of a day with shipments
and its search gains most from time, while the roster engine starts from
a greedy roster and improves it by neighbourhoods too. In reproducible
mode the task stage gets the rest of the limit as a number, never the
clock's remainder, so that the same request gives the same plan.

The final plan holds the request as given, the roster with its coverage,
the tasks, and every objective term (the roster's and the tasks').
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from scheduler.fingerprint import input_hash, plan_fingerprint
from scheduler.models import Plan, PlanStatus, Request
from scheduler.roster import plan_roster
from scheduler.taskplan import plan_tasks

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None, float], None]

ROSTER_SHARE = 0.3
MIN_STAGE_S = 1.0


def make_plan(
    request: Request,
    *,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    on_incumbent: Callable[[Plan], None] | None = None,
) -> Plan:
    """Plan a request: roster first when it has staff but no roster.

    Parameters
    ----------
    request
        The request as the caller sent it.
    on_progress
        Called with (objective, bound, elapsed_s) as each stage improves;
        during the roster stage the objective is the roster's alone.
    stop
        Set it to end the search early; the plan is then ``cancelled``.
    on_incumbent
        Called with the first complete validated plan (the greedy task
        plan) before the task search, so a killed search still leaves one.

    Returns
    -------
    Plan
        A validated plan holding the request as given.
    """
    started = time.perf_counter()
    limit_s = request.settings.time_limit_s
    needs_roster = bool(request.staff) and request.roster is None
    if not needs_roster:
        return plan_tasks(
            request, on_progress=on_progress, stop=stop, on_incumbent=on_incumbent
        )
    if not request.shipments:
        return plan_roster(request, on_progress=on_progress, stop=stop)

    # Stage 1: the roster, under its share of the limit.
    roster_limit_s = min(limit_s, max(MIN_STAGE_S, ROSTER_SHARE * limit_s))
    roster_request = request.model_copy(
        update={
            "settings": request.settings.model_copy(
                update={"time_limit_s": roster_limit_s}
            )
        }
    )
    roster_plan = plan_roster(roster_request, on_progress=on_progress, stop=stop)
    roster_s = time.perf_counter() - started
    logger.info(
        "planning: request %s rostered: %s, %d shifts in %.2fs",
        request.request_id,
        roster_plan.status.value,
        len(roster_plan.roster),
        roster_s,
    )

    # Stage 2: the tasks on that roster, with the rest of the limit.
    if request.settings.reproducible:
        task_limit_s = max(MIN_STAGE_S, limit_s - roster_limit_s)
    else:
        task_limit_s = max(0.0, limit_s - roster_s)
    combined_incumbent = None
    if on_incumbent is not None:
        report_incumbent = on_incumbent

        def combined_incumbent(plan: Plan) -> None:
            report_incumbent(_combine(request, roster_plan, plan, roster_s, started))

    task_plan = plan_tasks(
        request,
        roster=roster_plan.roster,
        on_progress=on_progress,
        stop=stop,
        time_limit_s=task_limit_s,
        on_incumbent=combined_incumbent,
    )
    return _combine(request, roster_plan, task_plan, roster_s, started)


def _combine(
    request: Request,
    roster_plan: Plan,
    task_plan: Plan,
    roster_s: float,
    started: float,
) -> Plan:
    """The task plan, with the roster stage's status, bound and figures."""
    plan = task_plan
    plan.request = request
    plan.provenance.input_hash = input_hash(request)
    plan.understaffed = roster_plan.understaffed
    plan.kpis = {**plan.kpis, "roster": roster_plan.kpis}

    # The task stage's bound holds for this roster only: another roster
    # could serve the shipments better, so there is no bound over both.
    plan.bound = None
    plan.gap = None
    plan.bound_reason = (
        "rostered first, then tasks planned on that roster: no bound holds "
        "over both stages"
    )
    plan.status, plan.status_reason = _combined_status(roster_plan, task_plan)
    plan.provenance.parameters = {
        **plan.provenance.parameters,
        "time_limit_s": request.settings.time_limit_s,
        "roster_stage": {
            "solver": roster_plan.provenance.solver,
            "status": roster_plan.status.value,
            **roster_plan.provenance.parameters,
        },
    }
    plan.timings = {
        "roster_s": round(roster_s, 3),
        **{f"tasks_{key}": value for key, value in task_plan.timings.items()},
        "total_s": round(time.perf_counter() - started, 3),
    }
    plan.provenance.fingerprint = plan_fingerprint(plan)
    return plan


def _combined_status(roster_plan: Plan, task_plan: Plan) -> tuple[PlanStatus, str]:
    """One status for two stages: the weaker, and never a claim of optimality."""
    stages = (
        f"roster: {roster_plan.status.value} ({roster_plan.status_reason}); "
        f"tasks: {task_plan.status.value} ({task_plan.status_reason})"
    )
    statuses = {roster_plan.status, task_plan.status}
    if PlanStatus.failed in statuses:
        return PlanStatus.failed, stages
    if PlanStatus.cancelled in statuses:
        return PlanStatus.cancelled, stages
    if task_plan.status == PlanStatus.heuristic:
        return PlanStatus.heuristic, stages
    return PlanStatus.feasible, stages
