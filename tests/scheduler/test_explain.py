"""Tests of the explanations: shortfalls, late queues, unscheduled, busy doors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler.explain import explain_roster, explain_tasks
from scheduler.models import (
    CoverageRow,
    Request,
    RosterShift,
    Shortfall,
    Task,
    Unscheduled,
)


def _at(clock: str, day: int = 11) -> datetime:
    return datetime.fromisoformat(f"2025-11-{day:02d}T{clock}:00+08:00")


def _row(skill: str, start: str, end: str, required: int, planned: int) -> CoverageRow:
    end_day = 12 if end == "00:00" else 11
    return CoverageRow(
        skill=skill,
        start=_at(start),
        end=_at(end, end_day),
        required=required,
        planned=planned,
    )


def _in_warehouse(shipment_id: str, ready: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": shipment_id,
        "in_warehouse": True,
        "documents_ready_at": _at(ready).isoformat(),
        **extra,
    }


def _task(task_id: str, who: str, start: str, end: str) -> Task:
    owner, kind = task_id.split(":")
    is_door = who.startswith("D")
    end_day = 12 if end == "00:00" else 11
    return Task(
        id=task_id,
        kind=kind,
        shipment_id=None if kind == "unload" else owner,
        load_id=owner if kind == "unload" else None,
        person_id=None if is_door else who,
        door_id=who if is_door else None,
        start=_at(start),
        end=_at(end, end_day),
        work_min=0,
    )


def test_explain_roster_merges_contiguous_rows() -> None:
    """Tests that touching short rows become one line per skill and window."""
    request = Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 2},
        }
    )
    coverage = [
        _row("broker", "14:00", "15:00", 3, 1),
        _row("broker", "15:00", "17:00", 2, 0),
        _row("broker", "17:00", "18:00", 2, 2),  # met: not a shortfall
        CoverageRow(
            skill="clerk",
            start=_at("08:00", 12),
            end=_at("09:00", 12),
            required=2,
            planned=1,
        ),
    ]
    understaffed = [
        Shortfall(
            skill="clerk", start=_at("09:00", 12), end=_at("10:00", 12), missing=1
        )
    ]

    explanations = explain_roster(request, coverage, understaffed)

    # Brokers: 2 short for 180 min = 360 person-minutes; clerks: 1 x 120.
    assert [e.text for e in explanations] == [
        "Tue 14:00-17:00: 2 brokers short",
        "Wed 08:00-10:00: 1 clerk short",
    ]
    assert explanations[0].data == {
        "skill": "broker",
        "missing": 2,
        "late_shipments": 0,
        "impact": 360,
    }
    assert (explanations[1].start, explanations[1].end) == (
        _at("08:00", 12),
        _at("10:00", 12),
    )


def test_explain_roster_varying_shortfall_says_up_to() -> None:
    """Tests that a window whose shortfall varies gives its most, as "up to"."""
    request = Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 1},
        }
    )
    coverage = [
        _row("regime:transit", "08:00", "09:00", 3, 0),
        _row("regime:transit", "09:00", "10:00", 3, 1),
    ]

    explanations = explain_roster(request, coverage, [])

    assert [e.text for e in explanations] == [
        "08:00-10:00: up to 3 transit-licensed brokers short"
    ]
    # Person-minutes short: 3 x 60 + 2 x 60.
    assert explanations[0].data["impact"] == 300


def test_explain_roster_splits_plateaus() -> None:
    """Tests that a shortfall dropping below half its peak starts a new line."""
    request = Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 1},
        }
    )
    coverage = [
        _row("broker", "08:00", "09:00", 8, 0),
        _row("broker", "09:00", "10:00", 8, 3),  # 5 short: within 8 / 2
        _row("broker", "10:00", "12:00", 8, 5),  # 3 short: a new plateau
        _row("broker", "12:00", "13:00", 8, 6),  # 2 short: within 3 / 2
    ]

    explanations = explain_roster(request, coverage, [])

    # Person-minutes: 8 x 60 + 5 x 60 = 780; 3 x 120 + 2 x 60 = 480.
    assert [(e.text, e.data["impact"]) for e in explanations] == [
        ("08:00-10:00: up to 8 brokers short", 780),
        ("10:00-13:00: up to 3 brokers short", 480),
    ]


def _task_request() -> Request:
    return Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 1},
            "doors": [{"id": "D4", "capabilities": ["cold_chain"]}],
            "loads": [
                {"id": "T1", "eta": _at("21:00").isoformat()},
                {"id": "T2", "eta": _at("22:00").isoformat()},
            ],
            "shipments": [
                _in_warehouse("P1", "13:00", commodity="pharma", priority="express"),
                _in_warehouse("P2", "13:00", commodity="pharma", priority="express"),
                _in_warehouse("E1", "08:00", priority="express"),
                _in_warehouse("U1", "08:00", commodity="dangerous_goods"),
                _in_warehouse("U2", "08:00", commodity="dangerous_goods"),
                _in_warehouse("U3", "08:00", commodity="dangerous_goods"),
            ],
        }
    )


def _task_plan() -> dict[str, Any]:
    tasks = [
        _task("P1:review", "c1", "13:00", "13:20"),
        _task("P2:review", "c1", "13:20", "13:40"),
        # Both declarations wait for a pharma broker until 17:00.
        _task("P1:declare", "b1", "17:00", "17:10"),
        _task("P2:declare", "b1", "17:10", "17:20"),
        # E1 waits four hours for a clerk, though the clerk cover is met.
        _task("E1:review", "c1", "12:00", "12:20"),
        _task("E1:declare", "b1", "12:20", "12:40"),
        _task("T1:unload", "D4", "22:00", "23:00"),
        _task("T2:unload", "D4", "23:00", "00:00"),
    ]
    unscheduled = [
        Unscheduled(shipment_id=s, reason="no_licensed_broker")
        for s in ("U1", "U2", "U3")
    ]
    coverage = [
        _row("commodity:pharma", "14:00", "15:00", 3, 1),
        _row("commodity:pharma", "15:00", "16:00", 3, 1),
        _row("commodity:pharma", "16:00", "17:00", 3, 1),
        _row("clerk", "08:00", "16:00", 1, 1),
    ]
    roster: list[RosterShift] = []
    return {
        "roster": roster,
        "tasks": tasks,
        "unscheduled": unscheduled,
        "coverage": coverage,
    }


def test_explain_tasks_in_dispatcher_words_by_impact() -> None:
    """Tests the four kinds of finding, their wording and their order."""
    explanations = explain_tasks(_task_request(), **_task_plan())

    assert [e.text for e in explanations] == [
        "3 shipments unscheduled: no broker licensed for dangerous goods on shift",
        "14:00-17:00: 2 pharma-licensed brokers short; 2 shipments late because of it",
        "08:00-12:00: 1 shipment late waiting for clerks (cover met); "
        "longest wait 240 min",
        "door D4 (cold chain) busy 100 % 22:00-24:00; trucks waited 60 min on average",
    ]
    assert [e.kind for e in explanations] == [
        "unscheduled",
        "shortfall",
        "late_queue",
        "door_busy",
    ]


def test_explain_tasks_impact_in_objective_units() -> None:
    """Tests the impact figures behind the order, worked out by hand."""
    explanations = explain_tasks(_task_request(), **_task_plan())
    impact = [e.data["impact"] for e in explanations]

    # Unscheduled: 100,000 x standard weight 10 x 3 shipments.
    # Shortfall: P1 late 10 min, P2 late 20 min (release 17:30 and 17:40
    # against 17:00, less 20 min customs), at 10 x 100 per minute, plus
    # 10,000 x 2 missing brokers.
    # Late queue: E1 released 13:00 against 12:00, less 20: 40 x 10 x 100.
    # Door: nobody late, 60 + 60 minutes of truck waiting.
    assert impact == [3_000_000, 50_000, 40_000, 120]
    assert explanations[1].data["late_shipments"] == 2
    assert explanations[1].data["missing"] == 2
    assert explanations[3].data["busy_share"] == 1.0
    assert (explanations[3].start, explanations[3].end) == (
        _at("22:00"),
        _at("00:00", 12),
    )


def test_explain_tasks_quiet_plan_has_nothing_to_say() -> None:
    """Tests that a plan with no shortfall, lateness or busy door has no finding."""
    request = _task_request().model_copy(update={"shipments": [], "loads": []})

    assert (
        explain_tasks(request, [], [], [], [_row("clerk", "08:00", "16:00", 1, 1)])
        == []
    )


def test_explain_tasks_late_without_queue() -> None:
    """Tests a shipment late with no wait: its work outlasts its own deadline."""
    request = _task_request().model_copy(
        update={
            "shipments": [
                _task_request()
                .shipments[2]
                .model_copy(update={"sla_deadline": _at("08:10")})
            ],
            "loads": [],
        }
    )
    tasks = [
        _task("E1:review", "c1", "08:00", "08:20"),
        _task("E1:declare", "b1", "08:20", "08:40"),
    ]

    explanations = explain_tasks(request, [], tasks, [], [])

    # Released 09:00 against 08:10: 50 min less 20 min customs = 30 late.
    assert [e.text for e in explanations] == [
        "1 shipment late without waiting: the work outlasts the SLA"
    ]
    assert explanations[0].data["impact"] == 10 * 100 * 30


def test_explain_tasks_busy_door_without_queue_is_silent() -> None:
    """Tests that a door busy 22:00-24:00 with no truck waiting gives no line."""
    request = Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 1},
            "doors": [{"id": "D4"}],
            "loads": [
                {"id": "T1", "eta": _at("22:00").isoformat()},
                {"id": "T2", "eta": _at("23:00").isoformat()},
            ],
        }
    )
    tasks = [
        _task("T1:unload", "D4", "22:00", "23:00"),
        _task("T2:unload", "D4", "23:00", "00:00"),
    ]

    assert explain_tasks(request, [], tasks, [], []) == []
