"""Tests of plan and re-plan dispatch: planned servers, the remaining work."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from sim_fixtures import instant, shipment, tiny_site

from scheduler.models import Request, Task, TaskKind
from simulations.des import REVIEW, SiteRun, draw_day
from simulations.des_site import compile_site
from simulations.dispatch import (
    TaskReplanner,
    assignment_from_tasks,
    dispatch_options,
)

SEEN: list[list[str]] = []


def reviews_to_second_clerk(request: Request) -> list[Task]:
    """A stand-in task planner: every review to clerk-1 when documents are ready."""
    SEEN.append([s.id for s in request.shipments])
    tasks = []
    for s in request.shipments:
        if TaskKind.review in s.done_tasks:
            continue
        start = s.documents_ready_at
        tasks.append(
            Task(
                id=f"{s.id}:review",
                kind=TaskKind.review,
                shipment_id=s.id,
                person_id="clerk-1",
                start=start,
                end=start + timedelta(minutes=14),
                work_min=14,
            )
        )
    return tasks


def _reviewers(run: SiteRun) -> list[str]:
    return [
        run.site.servers[run.task_server[t]].label
        for t in range(len(run.task_kind))
        if run.task_kind[t] == REVIEW
    ]


def test_greedy_gives_the_review_to_the_first_free_clerk() -> None:
    """Without a plan, the first free clerk (clerk-0) reviews."""
    site = compile_site(tiny_site([shipment("A", 60)], clerks=2))
    run = SiteRun(site, draw_day(site, np.random.default_rng(0)))
    run.run()
    assert _reviewers(run) == ["clerk-0"]


def test_plan_dispatch_follows_the_planned_clerk() -> None:
    """With a plan, the review goes to the planned clerk-1, same release."""
    site = compile_site(tiny_site([shipment("A", 60)], clerks=2))
    tasks = reviews_to_second_clerk(site.scenario)
    run = SiteRun(
        site,
        draw_day(site, np.random.default_rng(0)),
        assignment=assignment_from_tasks(site, tasks),
    )
    run.run()
    assert _reviewers(run) == ["clerk-1"]
    assert run.release_at == [107.0]


def test_replan_dispatch_plans_only_the_remaining_work() -> None:
    """Re-planning every 60 min sees only shipments not yet released."""
    scenario = tiny_site(
        [shipment("A", 60), shipment("B", 130)],
        clerks=2,
        dispatch="replan",
        replan_every_min=60,
    )
    site = compile_site(scenario)
    options = dispatch_options(site, reviews_to_second_clerk)
    assert isinstance(options["replanner"], TaskReplanner)
    SEEN.clear()
    # The start's plan, made by dispatch_options above, is not recorded here.
    run = SiteRun(site, draw_day(site, np.random.default_rng(0)), **options)  # type: ignore[arg-type]
    run.run()

    assert _reviewers(run) == ["clerk-1", "clerk-1"]
    # At 60 both wait; at 120 A (released at 107) is gone; from 180 none.
    assert SEEN[0] == ["A", "B"]
    assert SEEN[1] == ["B"]
    assert SEEN[2] == []
    assert run.release_at == [107.0, 177.0]


def test_plan_task_of_a_person_outside_the_roster_stays_greedy() -> None:
    """A planned person who is not on shift leaves the task to greedy dispatch."""
    site = compile_site(tiny_site([shipment("A", 60)], clerks=2))
    task = Task(
        id="A:review",
        kind=TaskKind.review,
        shipment_id="A",
        person_id="clerk-9",
        start=instant(60),
        end=instant(74),
        work_min=14,
    )
    assert assignment_from_tasks(site, [task]).planned == {}
