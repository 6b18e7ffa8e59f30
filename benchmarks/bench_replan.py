"""Re-plan a 2,000-shipment day after three events, against a plan from scratch.

Usage::

    .venv/bin/python benchmarks/bench_replan.py [--shipments 2000]
        [--plan-limit 20] [--replan-limit 10] [--seed 0]

The day is `simulations.generate.generated_request` with a fixed roster
(each regular person on one template every day; on-call staff at home).
It is planned once (`--plan-limit` s), then at 10:00 on its first day
three events arrive: the first truck due after 10:00 is two hours late,
a broker with work after 10:00 is absent from 10:00 to the end of the
horizon, and the door busiest after 10:00 is out of service 10:30-12:30.

The re-plan (`--replan-limit` s) is compared with a plan from scratch of
the same effective request and the same roster, with the same limit: how
many of the parent's tasks each changes (moved or reassigned), and both
are checked by the validators. Prints one Markdown table row.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler.models import Event, Plan, Request, RosterShift  # noqa: E402
from scheduler.replan import replan  # noqa: E402
from scheduler.sitetime import local_midnight  # noqa: E402
from scheduler.taskplan import plan_tasks  # noqa: E402
from scheduler.validate_plan import validate_plan  # noqa: E402
from scheduler.validate_revision import validate_revision  # noqa: E402
from simulations.generate import generated_request  # noqa: E402


def rostered(num_shipments: int, seed: int) -> Request:
    """The generated day with a fixed roster."""
    request = generated_request(num_shipments, seed)
    templates = [t.id for t in request.shift_templates]
    roster = [
        RosterShift(
            person_id=person.id,
            date=request.horizon.start_date + timedelta(days=day),
            template_id=templates[i % len(templates)],
            post=person.role.value,
        )
        for i, person in enumerate(request.staff)
        if person.on_call is None
        for day in range(request.horizon.days)
    ]
    return request.model_copy(update={"roster": roster})


def three_events(plan: Plan) -> tuple[list[Event], object]:
    """A late truck, an absent broker, a door outage, all at 10:00."""
    request = plan.request
    midnight = local_midnight(request.horizon.start_date, request.site.timezone)
    at = midnight + timedelta(hours=10)
    after = [t for t in plan.tasks if t.start >= at]
    truck = min((t for t in after if t.kind.value == "unload"), key=lambda t: t.start)
    load = next(ld for ld in request.loads if ld.id == truck.load_id)
    brokers = {p.id for p in request.staff if p.role.value == "broker"}
    broker = Counter(t.person_id for t in after if t.person_id in brokers)
    door = Counter(t.door_id for t in after if t.door_id)
    events = [
        Event(
            type="load.eta_changed",
            at=at - timedelta(minutes=5),
            subject_id=load.id,
            payload={"eta": (load.eta + timedelta(hours=2)).isoformat()},
        ),
        Event(
            type="person.absent",
            at=at - timedelta(minutes=3),
            subject_id=broker.most_common(1)[0][0],
            payload={"start": at.isoformat()},
        ),
        Event(
            type="door.outage",
            at=at - timedelta(minutes=1),
            subject_id=door.most_common(1)[0][0],
            payload={
                "start": (at + timedelta(minutes=30)).isoformat(),
                "end": (at + timedelta(hours=2, minutes=30)).isoformat(),
            },
        ),
    ]
    return events, at


def changed(parent: Plan, other: Plan) -> int:
    """Parent tasks another plan moves or reassigns (or drops)."""
    mine = {t.id: t for t in other.tasks}
    return sum(
        1
        for t in parent.tasks
        if t.id not in mine
        or (mine[t.id].start, mine[t.id].person_id, mine[t.id].door_id)
        != (t.start, t.person_id, t.door_id)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shipments", type=int, default=2000)
    parser.add_argument("--plan-limit", type=float, default=20.0)
    parser.add_argument("--replan-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    request = rostered(args.shipments, args.seed)
    parent = plan_tasks(request, time_limit_s=args.plan_limit)
    events, at = three_events(parent)

    started = time.perf_counter()
    child = replan(parent, events, at, time_limit_s=args.replan_limit)  # type: ignore[arg-type]
    replan_s = time.perf_counter() - started
    valid = not validate_plan(child).violations
    revision_ok = not validate_revision(child, parent)

    scratch = plan_tasks(
        child.request, roster=child.roster, time_limit_s=args.replan_limit
    )
    child_cost = (
        child.objective.terms["unscheduled"] + child.objective.terms["lateness"]
    )
    scratch_cost = (
        scratch.objective.terms["unscheduled"] + scratch.objective.terms["lateness"]
    )
    print(
        "| shipments | tasks | re-plan s | re-plan status | valid (plan, revision) "
        "| tasks changed by the re-plan | by a plan from scratch "
        "| unscheduled re-plan / scratch | objective re-plan / scratch |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.shipments} | {len(parent.tasks)} | {replan_s:.1f} "
        f"| {child.status.value} | {valid}, {revision_ok} "
        f"| {changed(parent, child)} | {changed(parent, scratch)} "
        f"| {len(child.unscheduled)} / {len(scratch.unscheduled)} "
        f"| {child_cost:,} / {scratch_cost:,} |"
    )


if __name__ == "__main__":
    main()
