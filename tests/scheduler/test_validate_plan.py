"""Tests of the independent plan validator: one plan breaking each hard rule.

The base plan is small and worked out by hand (Hong Kong, Tue 2025-11-11,
shifts 08:00-16:00 with a 12:00-12:30 break, default labour standards):

- S1 green express on truck L1, SLA deadline 08:20: released 08:45
  (declare 08:13-08:25 + 20), 25 min after it less 20 customs = 5 late;
- S2 documentary standard, in the warehouse, compliance, in Chinese;
- S3 physical express on L1, exam window 10:00-11:00, exam 10:00-10:45;
- S5 green deferred on truck L2; S4 deferred, unscheduled.

Objective: unscheduled 100,000 x 1 (S4) + lateness 10 x 100 x 5 (S1) =
105,000; the roster costs nothing (no wages, no cover asked).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.dock import dock_schedule
from scheduler.models import (
    DockSlot,
    Interval,
    Objective,
    Plan,
    Provenance,
    Request,
    RosterShift,
    Task,
    Unscheduled,
)
from scheduler.validate_plan import validate_plan

TERMS = (
    "unscheduled",
    "lateness",
    "undercover",
    "overcover",
    "cost",
    "requests",
    "unavailability",
    "fairness",
    "stability",
)


def _at(clock: str, day: int = 11) -> datetime:
    return datetime.fromisoformat(f"2025-11-{day:02d}T{clock}:00+08:00")


def _request_data() -> dict[str, Any]:
    return {
        "site": {"id": "HKG", "timezone": "Asia/Hong_Kong", "jurisdiction": "HK"},
        "horizon": {"start_date": "2025-11-11", "days": 1},
        "staff": [
            {"id": "c1", "role": "clerk", "languages": ["zh"]},
            {"id": "k1", "role": "clerk", "skills": ["compliance"]},
            {"id": "b1", "role": "broker", "licences": [{"jurisdiction": "HK"}]},
        ],
        "shift_templates": [
            {
                "id": "day",
                "start_local": "08:00",
                "end_local": "16:00",
                "break_start_local": "12:00",
                "break_min": 30,
            }
        ],
        "doors": [
            {
                "id": "D1",
                "opening_hours": [{"open_local": "06:00", "close_local": "22:00"}],
            },
            {"id": "D2"},
            {"id": "X1", "capabilities": ["exam"]},
        ],
        "loads": [
            {"id": "L1", "eta": "2025-11-11T08:00:00+08:00"},
            {"id": "L2", "eta": "2025-11-11T08:00:00+08:00"},
        ],
        "shipments": [
            {
                "id": "S1",
                "load_id": "L1",
                "priority": "express",
                "lane": "green",
                "sla_deadline": "2025-11-11T08:20:00+08:00",
                "pallets": 2,
                "documents": 3,
                "declaration_lines": 4,
                "documents_ready_at": "2025-11-11T08:00:00+08:00",
            },
            {
                "id": "S2",
                "in_warehouse": True,
                "lane": "documentary",
                "compliance_required": True,
                "language": "zh",
                "documents": 2,
                "declaration_lines": 2,
                "documents_ready_at": "2025-11-11T08:00:00+08:00",
            },
            {
                "id": "S3",
                "load_id": "L1",
                "priority": "express",
                "lane": "physical",
                "exam_window": {
                    "start": "2025-11-11T10:00:00+08:00",
                    "end": "2025-11-11T11:00:00+08:00",
                },
                "pallets": 3,
                "documents": 1,
                "declaration_lines": 0,
                "documents_ready_at": "2025-11-11T08:00:00+08:00",
            },
            {
                "id": "S4",
                "priority": "deferred",
                "in_warehouse": True,
                "documents_ready_at": "2025-11-11T08:00:00+08:00",
            },
            {
                "id": "S5",
                "load_id": "L2",
                "priority": "deferred",
                "pallets": 1,
                "documents": 0,
                "declaration_lines": 0,
                "documents_ready_at": "2025-11-11T08:30:00+08:00",
            },
        ],
    }


def _task(
    task_id: str,
    start: str,
    end: str,
    work_min: int,
    person: str | None = None,
    door: str | None = None,
) -> Task:
    owner, kind = task_id.split(":")
    return Task(
        id=task_id,
        kind=kind,
        shipment_id=None if kind == "unload" else owner,
        load_id=owner if kind == "unload" else None,
        person_id=person,
        door_id=door,
        start=_at(start),
        end=_at(end),
        work_min=work_min,
    )


def _tasks() -> list[Task]:
    # Minutes from the default standards: unload 10 + 2/pallet; review
    # 6 + 2/document + 0.25/line; compliance 15 + 1/document; declare
    # 10 + 0.5/line; respond 20 + 2/document; exam 30 + 5/pallet.
    return [
        _task("L1:unload", "08:00", "08:20", 20, door="D1"),  # 5 pallets
        _task("L2:unload", "08:00", "08:12", 12, door="D2"),  # 1 pallet
        _task("S1:review", "08:00", "08:13", 13, person="c1"),
        _task("S3:review", "08:13", "08:21", 8, person="c1"),
        _task("S2:review", "08:21", "08:32", 11, person="c1"),  # 10.5 -> 11
        _task("S5:review", "08:32", "08:38", 6, person="c1"),
        _task("S2:compliance", "08:32", "08:49", 17, person="k1"),
        _task("S1:declare", "08:13", "08:25", 12, person="b1"),
        _task("S3:declare", "08:25", "08:35", 10, person="b1"),
        _task("S2:declare", "08:49", "09:00", 11, person="b1"),
        _task("S5:declare", "09:00", "09:10", 10, person="b1"),
        _task("S2:respond", "09:20", "09:44", 24, person="b1"),  # 09:00 + 20
        _task("S3:exam", "10:00", "10:45", 45, person="b1", door="X1"),
    ]


def _plan(
    tasks: list[Task] | None = None,
    request: Request | None = None,
    **extra: Any,
) -> Plan:
    request = request or Request.model_validate(_request_data())
    tasks = _tasks() if tasks is None else tasks
    terms = dict.fromkeys(TERMS, 0) | {"unscheduled": 100_000, "lateness": 5_000}
    fields: dict[str, Any] = {
        "plan_id": "p1",
        "request": request,
        "status": "heuristic",
        "objective": Objective(total=sum(terms.values()), terms=terms),
        "roster": [
            RosterShift(person_id=p, date="2025-11-11", template_id="day", post=post)
            for p, post in (("c1", "clerk"), ("k1", "clerk"), ("b1", "broker"))
        ],
        "tasks": tasks,
        "dock_schedule": dock_schedule(request, tasks),
        "unscheduled": [Unscheduled(shipment_id="S4", reason="no_licensed_broker")],
        "provenance": Provenance(
            solver="hand", solver_version="0", clearplan_version="0", input_hash=""
        ),
    }
    fields.update(extra)
    return Plan(**fields)


def _replace(tasks: list[Task], task_id: str, **update: Any) -> list[Task]:
    """The tasks with one task changed; clock strings become instants."""
    for key in ("start", "end"):
        if isinstance(update.get(key), str):
            update[key] = _at(update[key])
    return [t.model_copy(update=update) if t.id == task_id else t for t in tasks]


def _rules(plan: Plan, request: Request | None = None) -> list[str]:
    return sorted({v.rule for v in validate_plan(plan, request).violations})


# --------------------------------------------------------------------------
# The base plan


def test_validate_plan_base_plan_is_valid() -> None:
    """Tests that the hand-made base plan breaks no rule."""
    report = validate_plan(_plan())

    assert report.violations == []
    assert report.valid


def test_validate_plan_recomputes_objective() -> None:
    """Tests the recomputed objective: 100,000 for S4 plus 5,000 for S1's 5 min."""
    report = validate_plan(_plan())

    assert report.objective.terms == dict.fromkeys(TERMS, 0) | {
        "unscheduled": 100_000,
        "lateness": 5_000,
    }
    assert report.objective.total == 105_000


def test_validate_plan_base_dock_schedule_by_hand() -> None:
    """Tests that the base plan's dock schedule is the one worked out by hand."""
    slots = _plan().dock_schedule["2025-11-11"]

    assert [(s.door_id, s.kind.value, s.load_id, s.pallets) for s in slots] == [
        ("D1", "unload", "L1", 5),
        ("D2", "unload", "L2", 1),
        ("X1", "exam", "L1", 3),
    ]


# --------------------------------------------------------------------------
# One plan per hard rule


def _missing_respond(tasks: list[Task]) -> list[Task]:
    return [t for t in tasks if t.id != "S2:respond"]


def _unknown_shipment_task(tasks: list[Task]) -> list[Task]:
    return [*tasks, _task("S9:review", "09:00", "09:10", 10, person="c1")]


def _planned_done_kind(tasks: list[Task]) -> list[Task]:
    # A respond for a green shipment: a task it does not need.
    return [*tasks, _task("S1:respond", "10:45", "11:11", 26, person="b1")]


def _declare_before_compliance(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S2:declare", start="08:45", end="08:56")


def _respond_before_customs(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S2:respond", start="09:10", end="09:34")


def _review_before_documents(tasks: list[Task]) -> list[Task]:
    # k1 is free until 08:32, but S5's documents are ready at 08:30 only.
    return _replace(tasks, "S5:review", person_id="k1", start="08:20", end="08:26")


def _short_work(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S1:review", end="08:12", work_min=12)


def _long_interval(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S5:review", end="08:40")


def _clerk_responds(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S2:respond", person_id="k1")


def _review_without_language(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S2:review", person_id="k1")


def _unload_at_exam_door(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "L2:unload", door_id="X1")


def _unknown_person(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S2:respond", person_id="zz")


def _unknown_door(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S3:exam", door_id="D9")


def _after_shift(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S2:respond", start="16:00", end="16:24")


def _into_break(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S2:respond", start="11:50", end="12:14")


def _person_overlap(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S2:respond", start="10:30", end="10:54")


def _door_overlap(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "L2:unload", door_id="D1", start="08:10", end="08:22")


def _door_closed(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "L2:unload", door_id="D1", start="22:00", end="22:12")


def _past_horizon(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "L2:unload", start="23:55", end=_at("00:07", 12))


def _exam_after_window(tasks: list[Task]) -> list[Task]:
    return _replace(tasks, "S3:exam", start="11:00", end="11:45")


@pytest.mark.parametrize(
    ("rule", "mutate"),
    [
        ("task_set", _missing_respond),
        ("task_set", _unknown_shipment_task),
        ("task_set", _planned_done_kind),
        ("precedence", _declare_before_compliance),
        ("precedence", _respond_before_customs),
        ("precedence", _review_before_documents),
        ("duration", _short_work),
        ("duration", _long_interval),
        ("qualification", _clerk_responds),
        ("qualification", _review_without_language),
        ("qualification", _unload_at_exam_door),
        ("qualification", _unknown_person),
        ("qualification", _unknown_door),
        ("on_shift", _after_shift),
        ("break", _into_break),
        ("person_overlap", _person_overlap),
        ("door_overlap", _door_overlap),
        ("door_open", _door_closed),
        ("horizon", _past_horizon),
        ("exam_window", _exam_after_window),
    ],
)
def test_validate_plan_flags_each_hard_rule(
    rule: str, mutate: Callable[[list[Task]], list[Task]]
) -> None:
    """Tests that a plan breaking one hard rule is flagged with that rule only."""
    assert _rules(_plan(mutate(_tasks()))) == [rule]


def test_validate_plan_exam_before_unload_is_precedence() -> None:
    """Tests that an exam before its goods are unloaded breaks [precedence]."""
    tasks = _replace(_tasks(), "L1:unload", start="09:50", end="10:10")
    # S1's goods are now in at 10:10: 110 min after 08:20, less 20 = 90 late.
    terms = dict.fromkeys(TERMS, 0) | {"unscheduled": 100_000, "lateness": 90_000}
    objective = Objective(total=190_000, terms=terms)

    report = validate_plan(_plan(tasks, objective=objective))

    assert [(v.rule, v.subject) for v in report.violations] == [
        ("precedence", "S3:exam")
    ]


def test_validate_plan_back_to_back_unloads_at_14_do_not_overlap() -> None:
    """Tests that two unloadings meeting at 14:00 on one door are allowed."""
    data = _request_data()
    # A truck for the warehouse alone: 5 pallets, 20 min.
    data["loads"].append({"id": "L3", "eta": "2025-11-11T13:00:00+08:00", "pallets": 5})
    request = Request.model_validate(data)
    tasks = [
        *_replace(_tasks(), "L2:unload", door_id="D1", start="14:00", end="14:12"),
        _task("L3:unload", "13:40", "14:00", 20, door="D1"),
    ]
    assert _rules(_plan(tasks, request=request)) == []

    # One minute earlier, the second truck overlaps the first.
    early = _replace(tasks, "L2:unload", start="13:59", end="14:11")
    assert _rules(_plan(early, request=request)) == ["door_overlap"]


def test_validate_plan_outage_is_door_open() -> None:
    """Tests that a door task overlapping an outage breaks [door_open]."""
    data = _request_data()
    data["doors"][1]["outages"] = [
        {"start": "2025-11-11T08:05:00+08:00", "end": "2025-11-11T08:10:00+08:00"}
    ]
    request = Request.model_validate(data)

    assert _rules(_plan(request=request)) == ["door_open"]


def test_validate_plan_unscheduled_shipment_with_tasks_is_task_set() -> None:
    """Tests that a shipment both scheduled and unscheduled breaks [task_set]."""
    unscheduled = [
        Unscheduled(shipment_id="S4", reason="no_licensed_broker"),
        Unscheduled(shipment_id="S1", reason="no_time_left"),
    ]
    # S1 now counts as unscheduled (100,000 x 100) and not as late.
    terms = dict.fromkeys(TERMS, 0) | {"unscheduled": 10_100_000}
    objective = Objective(total=10_100_000, terms=terms)

    plan = _plan(unscheduled=unscheduled, objective=objective)

    assert _rules(plan) == ["task_set"]


def test_validate_plan_unknown_unscheduled_id_is_task_set() -> None:
    """Tests that an unscheduled entry naming no shipment breaks [task_set]."""
    unscheduled = [
        Unscheduled(shipment_id="S4", reason="no_licensed_broker"),
        Unscheduled(shipment_id="S404", reason="no_clerk"),
    ]

    assert _rules(_plan(unscheduled=unscheduled)) == ["task_set"]


@pytest.mark.parametrize(
    "schedule",
    [
        # The exam is missing.
        lambda s: {"2025-11-11": s["2025-11-11"][:2]},
        # The first unload is also listed on a date it does not touch.
        lambda s: s | {"2025-11-12": s["2025-11-11"][:1]},
        # An extra slot no task holds.
        lambda s: {
            "2025-11-11": [
                *s["2025-11-11"],
                DockSlot(
                    door_id="D2",
                    load_id="L9",
                    kind="unload",
                    start=_at("15:00"),
                    end=_at("15:30"),
                ),
            ]
        },
    ],
)
def test_validate_plan_wrong_dock_schedule(
    schedule: Callable[[dict[str, list[DockSlot]]], dict[str, list[DockSlot]]],
) -> None:
    """Tests that a dock schedule missing or adding a slot breaks [dock_schedule]."""
    base = _plan()
    plan = base.model_copy(update={"dock_schedule": schedule(base.dock_schedule)})

    assert _rules(plan) == ["dock_schedule"]


def test_validate_plan_unload_over_midnight_needs_both_dates() -> None:
    """Tests that a 23:30-00:30 unload listed under one date only is flagged."""
    data = _request_data()
    data["horizon"]["days"] = 2
    request = Request.model_validate(data)
    tasks = _replace(_tasks(), "L2:unload", start="23:50", end=_at("00:02", 12))
    plan = _plan(tasks, request=request)
    assert list(plan.dock_schedule) == ["2025-11-11", "2025-11-12"]
    assert _rules(plan) == []

    first_only = {"2025-11-11": plan.dock_schedule["2025-11-11"]}
    broken = plan.model_copy(update={"dock_schedule": first_only})

    assert _rules(broken) == ["dock_schedule"]


# --------------------------------------------------------------------------
# Break policies


def test_validate_plan_pause_policy_pauses_over_break() -> None:
    """Tests that with policy pause a task may run through the break, listed."""
    data = _request_data()
    data["settings"] = {"policies": {"breaks": "pause"}}
    request = Request.model_validate(data)
    pause = Interval(start=_at("12:00"), end=_at("12:30"))
    tasks = _replace(_tasks(), "S2:respond", start="11:50", end="12:44")

    paused = _replace(tasks, "S2:respond", pauses=[pause])
    assert _rules(_plan(paused, request=request)) == []
    # The same task without its pause listed, or without the 30 min added.
    assert _rules(_plan(tasks, request=request)) == ["duration"]
    short = _replace(tasks, "S2:respond", end="12:14", pauses=[pause])
    assert _rules(_plan(short, request=request)) == ["duration"]


# --------------------------------------------------------------------------
# The plan's own figures and its request


def test_validate_plan_objective_mismatch() -> None:
    """Tests that a plan reporting a wrong term and total is flagged."""
    terms = dict.fromkeys(TERMS, 0) | {"unscheduled": 100_000, "lateness": 4_000}
    plan = _plan(objective=Objective(total=104_000, terms=terms))

    report = validate_plan(plan)

    assert [(v.rule, v.subject) for v in report.violations] == [
        ("objective_mismatch", "total"),
        ("objective_mismatch", "lateness"),
    ]
    assert report.objective.total == 105_000


def test_validate_plan_missing_term_is_mismatch() -> None:
    """Tests that a plan leaving a term out of its objective is flagged."""
    terms = {"unscheduled": 100_000, "lateness": 5_000}
    plan = _plan(objective=Objective(total=105_000, terms=terms))

    subjects = [v.subject for v in validate_plan(plan).violations]

    assert subjects == [t for t in sorted(TERMS) if t not in terms]


def test_validate_plan_request_mismatch() -> None:
    """Tests that a plan checked against another request is flagged, not its own."""
    plan = _plan()
    other_data = _request_data()
    other_data["loads"][1]["eta"] = "2025-11-11T07:00:00+08:00"

    assert _rules(plan, Request.model_validate(_request_data())) == []
    report = validate_plan(plan, Request.model_validate(other_data))
    assert [(v.rule, v.message) for v in report.violations] == [
        (
            "request_mismatch",
            "the plan was made for another request: loads differ from the "
            "request given.",
        )
    ]


def test_validate_plan_request_with_other_time_limit_matches() -> None:
    """Tests that a request differing only in time limit and seed still matches."""
    data = _request_data()
    data["settings"] = {"time_limit_s": 60, "seed": 7, "reproducible": True}

    assert _rules(_plan(), Request.model_validate(data)) == []

    data["settings"]["sla"] = {"express": 120}
    assert _rules(_plan(), Request.model_validate(data)) == ["request_mismatch"]


def test_validate_plan_includes_roster_violations() -> None:
    """Tests that a roster breaking a roster rule fails the plan with that rule."""
    plan = _plan()
    roster = [*plan.roster]
    roster[2] = roster[2].model_copy(update={"post": "clerk"})  # a broker as clerk

    assert _rules(plan.model_copy(update={"roster": roster})) == ["post"]


# --------------------------------------------------------------------------
# Release and lateness through the objective


def _one_shipment_plan(shipment: dict[str, Any], tasks: list[Task]) -> Plan:
    data = _request_data()
    data["shipments"] = [shipment]
    request = Request.model_validate(data)
    return _plan(tasks, request=request, unscheduled=[])


@pytest.mark.parametrize(
    ("shipment", "eta", "tasks", "late_min"),
    [
        (
            # Green express: truck 09:00, deadline 13:00, released 13:10 + 20.
            {
                "id": "S1",
                "load_id": "L1",
                "priority": "express",
                "documents_ready_at": "2025-11-11T08:30:00+08:00",
            },
            "2025-11-11T09:00:00+08:00",
            [("L1:unload", "09:10", "09:30"), ("S1:declare", "12:50", "13:10")],
            10,
        ),
        (
            # Documentary, own deadline 12:00, respond ends 12:30: 50 - 40.
            {
                "id": "S1",
                "in_warehouse": True,
                "priority": "express",
                "lane": "documentary",
                "sla_deadline": "2025-11-11T12:00:00+08:00",
                "documents_ready_at": "2025-11-11T07:00:00+08:00",
            },
            "2025-11-11T09:00:00+08:00",
            [("S1:declare", "07:30", "07:45"), ("S1:respond", "12:00", "12:30")],
            10,
        ),
        (
            # Physical, truck 10:00, deadline 14:00, released 15:50 + 20:
            # 130 min less 40 for two responses and 80 waiting for the
            # 12:00 appointment (declare 10:20 + 20 = 10:40 at the earliest).
            {
                "id": "S1",
                "load_id": "L1",
                "priority": "express",
                "lane": "physical",
                "exam_window": {
                    "start": "2025-11-11T12:00:00+08:00",
                    "end": "2025-11-11T16:00:00+08:00",
                },
                "documents_ready_at": "2025-11-11T09:00:00+08:00",
            },
            "2025-11-11T10:00:00+08:00",
            [
                ("L1:unload", "10:00", "10:20"),
                ("S1:declare", "10:00", "10:20"),
                ("S1:exam", "15:10", "15:50"),
            ],
            10,
        ),
        (
            # Backlog in the warehouse: clock from 00:00, deadline 04:00,
            # released 05:30 + 20 = 05:50: 110 min less 40.
            {
                "id": "S1",
                "in_warehouse": True,
                "priority": "express",
                "lane": "documentary",
                "done_tasks": ["review", "declare"],
                "documents_ready_at": "2025-11-10T15:00:00+08:00",
            },
            "2025-11-11T09:00:00+08:00",
            [("S1:respond", "05:00", "05:30")],
            70,
        ),
        (
            # Backlog truck due yesterday 22:00: the clock started then, so
            # the deadline is 02:00; declare done, customs answered by
            # 00:20, released when unloaded at 03:00: 60 min less 20.
            {
                "id": "S1",
                "load_id": "L1",
                "priority": "express",
                "done_tasks": ["review", "declare"],
                "documents_ready_at": "2025-11-10T20:00:00+08:00",
            },
            "2025-11-10T22:00:00+08:00",
            [("L1:unload", "02:40", "03:00")],
            40,
        ),
    ],
)
def test_validate_plan_lateness_by_hand(
    shipment: dict[str, Any],
    eta: str,
    tasks: list[tuple[str, str, str]],
    late_min: int,
) -> None:
    """Tests release and lateness of green, documentary, physical and backlog."""
    data = _request_data()
    data["loads"][0]["eta"] = eta
    data["shipments"] = [shipment]
    request = Request.model_validate(data)
    plan = _plan(
        [_task(task_id, start, end, 0) for task_id, start, end in tasks],
        request=request,
        unscheduled=[],
    )

    terms = validate_plan(plan).objective.terms

    assert terms["lateness"] == 10 * 100 * late_min
    assert terms["unscheduled"] == 0


# --------------------------------------------------------------------------
# Malformed plans and size


def test_validate_plan_never_raises_on_nonsense() -> None:
    """Tests that tasks naming nothing known give violations, not exceptions."""
    tasks = [
        Task(
            id="nonsense",
            kind="review",
            start=_at("09:00"),
            end=_at("08:00"),
            work_min=0,
        ),
        Task(
            id="X:unload",
            kind="unload",
            person_id="??",
            start=_at("09:00"),
            end=_at("09:10"),
            work_min=5,
        ),
        Task(
            id="S1:exam",
            kind="declare",
            door_id="D1",
            start=_at("09:00"),
            end=_at("09:10"),
            work_min=5,
        ),
    ]

    report = validate_plan(_plan(tasks))

    assert not report.valid
    assert {"task_set", "qualification", "duration"} <= {
        v.rule for v in report.violations
    }


@settings(max_examples=40, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=len(_tasks()) - 1),
    shift_min=st.integers(min_value=-600, max_value=600),
)
def test_validate_plan_moved_task_property(index: int, shift_min: int) -> None:
    """Tests that moving any task never raises, keeps total = sum of terms,
    leaves a stale dock schedule flagged, and a task moved out of 08:00-16:00
    flagged as off shift."""
    tasks = _tasks()
    moved = tasks[index]
    delta = timedelta(minutes=shift_min)
    tasks[index] = moved.model_copy(
        update={"start": moved.start + delta, "end": moved.end + delta}
    )
    plan = _plan(tasks).model_copy(update={"dock_schedule": _plan().dock_schedule})

    report = validate_plan(plan)
    rules = {v.rule for v in report.violations}

    assert report.objective.total == sum(report.objective.terms.values())
    assert report.valid == (rules == set())
    if shift_min == 0:
        assert report.valid
    elif moved.door_id is not None:
        assert "dock_schedule" in rules
    off_shift = moved.start + delta < _at("08:00") or moved.end + delta > _at("16:00")
    if moved.person_id is not None and off_shift:
        assert "on_shift" in rules


def _large_plan(num_shipments: int) -> Plan:
    """A valid plan of green shipments in the warehouse, by arithmetic.

    Reviews take 6 min and declarations 10 min (no documents, no lines):
    each clerk reviews 40 shipments 08:00-12:00, each broker declares 20
    of them 12:30-15:50, after the 12:00-12:30 break.
    """
    clerks, brokers = num_shipments // 40, num_shipments // 20
    data = _request_data()
    data["staff"] = [{"id": f"c{i}", "role": "clerk"} for i in range(clerks)] + [
        {"id": f"b{i}", "role": "broker", "licences": [{"jurisdiction": "HK"}]}
        for i in range(brokers)
    ]
    data["loads"] = []
    data["shipments"] = [
        {
            "id": f"S{i}",
            "in_warehouse": True,
            "documents": 0,
            "declaration_lines": 0,
            "documents_ready_at": "2025-11-11T08:00:00+08:00",
        }
        for i in range(num_shipments)
    ]
    request = Request.model_validate(data)
    eight, half_past_noon = _at("08:00"), _at("12:30")
    tasks = []
    for i in range(num_shipments):
        review = eight + timedelta(minutes=6 * (i % 40))
        declare = half_past_noon + timedelta(minutes=10 * (i % 20))
        tasks += [
            Task(
                id=f"S{i}:review",
                kind="review",
                shipment_id=f"S{i}",
                person_id=f"c{i // 40}",
                start=review,
                end=review + timedelta(minutes=6),
                work_min=6,
            ),
            Task(
                id=f"S{i}:declare",
                kind="declare",
                shipment_id=f"S{i}",
                person_id=f"b{i // 20}",
                start=declare,
                end=declare + timedelta(minutes=10),
                work_min=10,
            ),
        ]
    roster = [
        RosterShift(
            person_id=person["id"],
            date="2025-11-11",
            template_id="day",
            post=person["role"],
        )
        for person in data["staff"]
    ]
    # Fair groups: all clerks alike, all brokers alike, each working 450 min.
    terms = dict.fromkeys(TERMS, 0)
    return _plan(
        tasks,
        request=request,
        roster=roster,
        unscheduled=[],
        objective=Objective(total=0, terms=terms),
    )


def test_validate_plan_8000_shipments_in_seconds() -> None:
    """Tests that a valid plan of 8,000 shipments validates in seconds (0.8 s here)."""
    plan = _large_plan(8000)

    started = time.perf_counter()
    report = validate_plan(plan)
    elapsed_s = time.perf_counter() - started

    assert report.violations == []
    assert elapsed_s < 10
