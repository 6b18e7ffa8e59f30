"""Tests of the task plan's key figures, on a small plan worked out by hand."""

from __future__ import annotations

from datetime import datetime

import pytest

from scheduler.kpis import compute_kpis, percentile
from scheduler.models import Request, RosterShift, Task, Unscheduled


def _at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2025-11-11T{clock}:00+08:00")


def _shipment(shipment_id: str, priority: str, load_id: str | None) -> dict:
    return {
        "id": shipment_id,
        "priority": priority,
        "load_id": load_id,
        "in_warehouse": load_id is None,
        "documents_ready_at": "2025-11-11T08:00:00+08:00",
    }


def _request() -> Request:
    return Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 1},
            "staff": [
                {"id": "c1", "role": "clerk"},
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
                {"id": "D1"},
                {
                    "id": "D2",
                    "opening_hours": [{"open_local": "08:00", "close_local": "20:00"}],
                    "outages": [
                        {
                            "start": "2025-11-11T10:00:00+08:00",
                            "end": "2025-11-11T11:00:00+08:00",
                        }
                    ],
                },
            ],
            "loads": [
                {"id": "L1", "eta": "2025-11-11T08:00:00+08:00"},
                {"id": "L2", "eta": "2025-11-11T09:00:00+08:00"},
            ],
            "shipments": [
                _shipment("S1", "express", "L1"),
                _shipment("S2", "express", "L2"),
                _shipment("S3", "standard", None),
                _shipment("S4", "standard", None),
                _shipment("S5", "deferred", None),
            ],
        }
    )


def _task(task_id: str, who: str, start: str, end: str) -> Task:
    owner, kind = task_id.split(":")
    is_door = who.startswith("D")
    return Task(
        id=task_id,
        kind=kind,
        shipment_id=None if kind == "unload" else owner,
        load_id=owner if kind == "unload" else None,
        person_id=None if is_door else who,
        door_id=who if is_door else None,
        start=_at(start),
        end=_at(end),
        work_min=int((_at(end) - _at(start)).total_seconds() // 60),
    )


def _plan() -> tuple[list[RosterShift], list[Task], list[Unscheduled]]:
    roster = [
        RosterShift(person_id="c1", date="2025-11-11", template_id="day", post="clerk"),
        RosterShift(
            person_id="b1", date="2025-11-11", template_id="day", post="broker"
        ),
    ]
    tasks = [
        _task("L1:unload", "D1", "08:10", "08:30"),
        _task("L2:unload", "D2", "09:30", "10:00"),
        _task("S1:review", "c1", "08:30", "08:45"),
        _task("S2:review", "c1", "08:45", "09:00"),
        _task("S3:review", "c1", "09:00", "09:20"),
        _task("S5:review", "c1", "09:20", "09:40"),
        _task("S1:declare", "b1", "09:00", "09:20"),
        _task("S3:declare", "b1", "09:20", "09:40"),
        _task("S5:declare", "b1", "09:40", "10:00"),
        # S2's goods are in at 10:00 but its declaration waits until 13:30.
        _task("S2:declare", "b1", "13:30", "13:50"),
    ]
    unscheduled = [Unscheduled(shipment_id="S4", reason="no_licensed_broker")]
    return roster, tasks, unscheduled


def test_kpis_sla_attainment_counts_unscheduled_as_missed() -> None:
    """Tests SLA attainment per priority, with the unscheduled S4 as a miss."""
    kpis = compute_kpis(_request(), *_plan())

    # S2: truck at 09:00, deadline 13:00, released 13:50 + 20 = 14:10: 70 - 20 late.
    assert kpis["sla"]["express"] == {
        "shipments": 2,
        "met": 1,
        "missed": 1,
        "unscheduled": 0,
        "attainment": 0.5,
    }
    assert kpis["sla"]["standard"]["missed"] == 1
    assert kpis["sla"]["standard"]["unscheduled"] == 1
    assert kpis["sla"]["deferred"]["attainment"] == 1.0
    assert kpis["sla"]["all"]["attainment"] == 0.6  # 3 met of 5
    assert kpis["shipments"] == {
        "total": 5,
        "scheduled": 4,
        "unscheduled": 1,
        "released": 4,
    }
    assert kpis["unscheduled_by_reason"] == {"no_licensed_broker": 1}


def test_kpis_lateness_percentiles_over_scheduled() -> None:
    """Tests nearest-rank lateness percentiles over the four scheduled shipments."""
    kpis = compute_kpis(_request(), *_plan())

    # late_min of S1, S2, S3, S5 = 0, 50, 0, 0.
    assert kpis["lateness_min"]["all"] == {
        "count": 4,
        "p50": 0,
        "p90": 50,
        "p99": 50,
        "max": 50,
    }
    assert kpis["lateness_min"]["express"]["p50"] == 0
    assert kpis["lateness_min"]["express"]["p90"] == 50
    assert kpis["lateness_min"]["standard"]["count"] == 1
    assert kpis["lateness_min"]["deferred"]["max"] == 0


def test_kpis_utilisation_per_role_and_door() -> None:
    """Tests task minutes over rostered minutes and busy over open door minutes."""
    kpis = compute_kpis(_request(), *_plan())

    # A 08:00-16:00 shift with a 30 min break is 450 worked minutes.
    assert kpis["utilisation"]["roles"]["clerk"] == {
        "task_min": 70,
        "rostered_min": 450,
        "utilisation": 0.1556,
    }
    assert kpis["utilisation"]["roles"]["broker"]["task_min"] == 80
    assert kpis["utilisation"]["roles"]["broker"]["utilisation"] == 0.1778
    # D1 is always open; D2 is open 12 h less a 1 h outage.
    assert kpis["utilisation"]["doors"]["D1"] == {
        "busy_min": 20,
        "open_min": 1440,
        "utilisation": 0.0139,
    }
    assert kpis["utilisation"]["doors"]["D2"]["open_min"] == 660
    assert kpis["utilisation"]["doors"]["D2"]["utilisation"] == 0.0455


def test_kpis_door_waiting_from_eta() -> None:
    """Tests truck waiting: L1 waits 10 min, L2 waits 30 min."""
    kpis = compute_kpis(_request(), *_plan())

    assert kpis["door_waiting_min"] == {"trucks": 2, "mean": 20.0, "p90": 30, "max": 30}


def test_kpis_empty_plan_has_no_ratios() -> None:
    """Tests that a plan with nothing in it reports None, not a division error."""
    request = _request().model_copy(update={"shipments": [], "loads": []})

    kpis = compute_kpis(request, [], [], [])

    assert kpis["sla"]["all"]["attainment"] is None
    assert kpis["lateness_min"]["all"]["p50"] is None
    assert kpis["utilisation"]["roles"]["clerk"]["utilisation"] is None
    assert kpis["door_waiting_min"]["mean"] is None


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [
        ([5, 1, 3], 50, 3),  # rank ceil(1.5) = 2
        ([5, 1, 3], 90, 5),  # rank ceil(2.7) = 3
        (list(range(1, 101)), 90, 90),  # rank 90 exactly
        ([7], 99, 7),
    ],
)
def test_percentile_nearest_rank(values: list[int], pct: int, expected: int) -> None:
    """Tests the nearest-rank percentile on small lists."""
    assert percentile(values, pct) == expected
