"""Plan and re-plan dispatch: following a task plan inside the simulation.

*Follow the plan*: each task the plan assigns goes to its planned person
or door only, which take their planned tasks in the order of their
planned starts as soon as they are ready and the server is free (a
server does not sit idle waiting for a planned start that has not come).
Work the plan does not hold, because a lane drawn in the run differs from
the plan's, a shipment was added by the volume factor or a person or
door of the plan is not in the simulated mix, is dispatched greedily.

*Re-plan every N minutes*: every `replan_every_min` the remaining work
(shipments not yet released, trucks not yet unloaded, what is done
marked in `done_tasks`, goods already in marked `in_warehouse`, lanes
known once customs decided) is planned again and the waiting work is
given out along the new plan. Documents and trucks not yet there are
given as ready at the earliest now. Limit: the re-planning engine does
not exist yet, so the remaining work is planned from scratch by the task
planner (`scheduler.planning.make_plan`, or any function given), with no
regard for the previous plan's stability; and the planner does not know
the time, so the next step of a shipment part-done (its review done, say)
may be planned before now; it then starts as soon as its planned person
is free, and work planned on a shift that has ended goes to whoever is on
shift. Shipments added by the volume factor are not in the remaining
request and stay greedy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from scheduler.models import Lane, Request, Task, TaskKind
from simulations.des_site import LANES, SiteModel
from simulations.scenario import planning_request

if TYPE_CHECKING:
    from simulations.des import SiteRun

logger = logging.getLogger(__name__)

TaskPlanner = Callable[[Request], Sequence[Task]]
Replanner = Callable[["SiteRun"], "Assignment"]


@dataclass(frozen=True)
class Assignment:
    """A task plan mapped onto the simulated servers.

    Parameters
    ----------
    planned
        ``(kind code, shipment or load id) -> (server, planned start
        minute)``; an exam has two entries, its door (``EXAM_DOOR``) and
        its broker (``EXAM``).
    """

    planned: dict[tuple[int, str], tuple[int, float]]

    def lookup(self, run: SiteRun, task: int) -> tuple[int, float] | None:
        """The planned server and start of a run's task, or None."""
        from simulations.des import UNLOAD

        kind, ref = run.task_kind[task], run.task_ref[task]
        site = run.site
        if kind == UNLOAD:
            origin = run.day.load_origin[ref]
            ids = site.loads.ids if site.loads is not None else []
        else:
            origin = run.day.origin[ref]
            ids = site.shipments.ids if site.shipments is not None else []
        if origin < 0:
            return None
        return self.planned.get((kind, ids[origin]))


def assignment_from_tasks(site: SiteModel, tasks: Sequence[Task]) -> Assignment:
    """Map a plan's tasks onto the site's servers.

    A person's task goes to the rostered shift holding its start; a task
    whose person, shift or door is not in the site is left out (and so
    dispatched greedily).
    """
    from simulations.des import EXAM, EXAM_DOOR, UNLOAD

    code = {
        TaskKind.review: 1,
        TaskKind.compliance: 2,
        TaskKind.declare: 3,
        TaskKind.respond: 4,
    }
    planned: dict[tuple[int, str], tuple[int, float]] = {}
    for task in tasks:
        start = site.minute(task.start)
        subject = task.load_id if task.kind == TaskKind.unload else task.shipment_id
        if subject is None:
            subject = task.id.rsplit(":", 1)[0]
        if task.door_id is not None and task.door_id in site.door_servers:
            door_kind = UNLOAD if task.kind == TaskKind.unload else EXAM_DOOR
            planned[(door_kind, subject)] = (site.door_servers[task.door_id], start)
        if task.person_id is None:
            continue
        server = _shift_holding(site, task.person_id, start)
        if server is None:
            continue
        person_kind = EXAM if task.kind == TaskKind.exam else code.get(task.kind)
        if person_kind is not None:
            planned[(person_kind, subject)] = (server, start)
    logger.debug("dispatch: %d of %d plan tasks mapped", len(planned), len(tasks))
    return Assignment(planned=planned)


def _shift_holding(site: SiteModel, person_id: str, minute: float) -> int | None:
    for server in site.person_servers.get(person_id, []):
        windows = site.servers[server].windows
        if windows and windows[0][0] <= minute < windows[-1][1]:
            return server
    return None


def default_task_planner(request: Request) -> list[Task]:
    """The task planner's tasks for a request (`scheduler.planning.make_plan`)."""
    from scheduler.planning import make_plan

    plan = make_plan(request)
    return list(plan.tasks)


def plan_assignment(
    site: SiteModel, planner: TaskPlanner = default_task_planner
) -> Assignment:
    """The plan to follow: the scenario's `plan_tasks`, else one made now."""
    scenario = site.scenario
    if scenario.plan_tasks is not None:
        return assignment_from_tasks(site, scenario.plan_tasks)
    logger.info("dispatch: planning the scenario's tasks once to follow them")
    return assignment_from_tasks(site, planner(planning_request(scenario)))


@dataclass(frozen=True)
class TaskReplanner:
    """Re-plans the remaining work from scratch with `planner`.

    A class rather than a closure so that it pickles into worker
    processes (the planner must be a module-level function).
    """

    planner: TaskPlanner = default_task_planner

    def __call__(self, run: SiteRun) -> Assignment:
        request = remaining_request(run)
        logger.debug(
            "dispatch: re-planning %d shipments at minute %.0f",
            len(request.shipments),
            run.env.now,
        )
        return assignment_from_tasks(run.site, self.planner(request))


def remaining_request(run: SiteRun) -> Request:
    """The work left at the run's current time, as a request to plan."""
    from simulations.des import COMPLIANCE, DECLARE, EXAM, RESPOND, REVIEW

    site, day = run.site, run.day
    scenario = site.scenario
    now = run.env.now
    done_kind = {
        REVIEW: TaskKind.review,
        COMPLIANCE: TaskKind.compliance,
        DECLARE: TaskKind.declare,
        RESPOND: TaskKind.respond,
        EXAM: TaskKind.exam,
    }
    assert site.shipments is not None and site.loads is not None

    # Step 1: trucks still to unload, at their real arrival once arrived.
    loads = []
    for ld, origin in enumerate(day.load_origin):
        if origin < 0 or run.unloaded[ld]:
            continue
        load = scenario.loads[origin]
        # Nothing can be unloaded before now: a truck not yet in is
        # expected now at the earliest.
        arrival = max(day.load_arrival[ld], now)
        load = load.model_copy(update={"eta": site.start + timedelta(minutes=arrival)})
        loads.append(load)
    open_loads = {load.id for load in loads}

    # Step 2: shipments not yet released, with what is done.
    shipments = []
    for s, origin in enumerate(day.origin):
        if origin < 0 or run.release_at[s] == run.release_at[s]:
            continue
        shipment = scenario.shipments[origin]
        ready = max(day.documents_ready[s], now)
        update: dict[str, object] = {
            "documents_ready_at": site.start + timedelta(minutes=ready),
            "done_tasks": sorted(
                {done_kind[k] for k in run.done_kinds[s]}, key=lambda k: k.value
            ),
            "lane": _known_lane(run, s),
            "exam_window": None,
        }
        if shipment.load_id is not None and shipment.load_id not in open_loads:
            update.update(load_id=None, in_warehouse=True)
        shipments.append(shipment.model_copy(update=update))

    request = planning_request(
        scenario,
        planned_at=site.start + timedelta(minutes=now),
        time_limit_s=scenario.replan_time_limit_s,
    )
    data = request.model_dump()
    data.update(
        loads=[ld.model_dump() for ld in loads],
        shipments=[s.model_dump() for s in shipments],
    )
    return Request.model_validate(data)


def _known_lane(run: SiteRun, s: int) -> Lane | None:
    """The lane once customs decided (after declaration and response)."""
    from simulations.des import DECLARE

    if DECLARE not in run.done_kinds[s]:
        return None
    return LANES[run.day.lane[s]]


def dispatch_options(
    site: SiteModel, planner: TaskPlanner = default_task_planner
) -> dict[str, object]:
    """What `simulations.des.simulate` needs for the scenario's dispatch.

    ``greedy`` needs nothing; ``plan`` the plan to follow (made once);
    ``replan`` that plan for the start and a re-planner for every
    `replan_every_min`.
    """
    dispatch = site.scenario.dispatch
    if dispatch == "greedy":
        return {}
    options: dict[str, object] = {"assignment": plan_assignment(site, planner)}
    if dispatch == "replan":
        options["replanner"] = TaskReplanner(planner)
    return options
