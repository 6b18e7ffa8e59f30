"""Tests of release, SLA deadline and lateness, worked out by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler.models import Request, Task
from scheduler.release import shipment_times


def _at(clock: str, day: int = 11) -> datetime:
    return datetime.fromisoformat(f"2025-11-{day:02d}T{clock}:00+08:00")


def _request(shipment: dict[str, Any], loads: list[dict[str, Any]]) -> Request:
    return Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 1},
            "loads": loads,
            "shipments": [shipment],
        }
    )


def _task(task_id: str, start: str, end: str) -> Task:
    owner, kind = task_id.split(":")
    return Task(
        id=task_id,
        kind=kind,
        shipment_id=None if kind == "unload" else owner,
        load_id=owner if kind == "unload" else None,
        start=_at(start),
        end=_at(end),
        work_min=0,
    )


def test_release_green_express_late_by_ten() -> None:
    """Tests a green express shipment: clock at the truck's ETA, 10 min late."""
    request = _request(
        {
            "id": "S1",
            "load_id": "L1",
            "priority": "express",
            "lane": "green",
            "documents_ready_at": "2025-11-11T08:30:00+08:00",
        },
        [{"id": "L1", "eta": "2025-11-11T09:00:00+08:00"}],
    )
    tasks = [
        _task("L1:unload", "09:10", "09:30"),
        _task("S1:review", "09:00", "09:20"),
        _task("S1:declare", "12:50", "13:10"),
    ]

    times = shipment_times(request, tasks)["S1"]

    assert times.actionable == _at("09:00")  # documents 08:30, truck 09:00
    assert times.deadline == _at("13:00")  # + 4 h express
    assert times.goods_in == _at("09:30")
    assert times.release == _at("13:30")  # declare end 13:10 + 20 min response
    assert times.customs_wait_min == 20
    assert times.late_min == 10  # 30 min after the deadline less 20 min customs


def test_release_documentary_in_warehouse_with_deadline() -> None:
    """Tests a documentary shipment already in, against its own SLA deadline."""
    request = _request(
        {
            "id": "S1",
            "in_warehouse": True,
            "lane": "documentary",
            "sla_deadline": "2025-11-11T12:00:00+08:00",
            "documents_ready_at": "2025-11-11T07:00:00+08:00",
        },
        [],
    )
    tasks = [
        _task("S1:review", "07:00", "07:20"),
        _task("S1:declare", "07:30", "07:45"),
        _task("S1:respond", "12:00", "12:30"),
    ]

    times = shipment_times(request, tasks)["S1"]

    assert times.actionable == _at("07:00")
    assert times.goods_in == _at("00:00")
    assert times.deadline == _at("12:00")
    assert times.release == _at("12:50")
    assert times.customs_wait_min == 40  # two decisions
    assert times.late_min == 10  # 50 - 40


def test_release_physical_waits_for_the_appointment() -> None:
    """Tests that the wait for a late exam appointment is not lateness."""
    request = _request(
        {
            "id": "S1",
            "load_id": "L2",
            "priority": "express",
            "lane": "physical",
            "exam_window": {
                "start": "2025-11-11T12:00:00+08:00",
                "end": "2025-11-11T16:00:00+08:00",
            },
            "documents_ready_at": "2025-11-11T09:00:00+08:00",
        },
        [{"id": "L2", "eta": "2025-11-11T10:00:00+08:00"}],
    )
    tasks = [
        _task("L2:unload", "10:00", "10:20"),
        _task("S1:review", "09:00", "09:20"),
        _task("S1:declare", "10:00", "10:20"),
        _task("S1:exam", "15:10", "15:50"),
    ]

    times = shipment_times(request, tasks)["S1"]

    assert times.deadline == _at("14:00")
    assert times.release == _at("16:10")  # exam end + 20
    # Two responses (40) and the appointment: 12:00 - (10:20 + 20) = 80.
    assert times.customs_wait_min == 120
    assert times.late_min == 10  # 130 - 120


def test_release_backlog_clock_starts_at_horizon() -> None:
    """Tests a backlog shipment with review and declare done before the horizon."""
    request = _request(
        {
            "id": "S1",
            "in_warehouse": True,
            "priority": "express",
            "lane": "documentary",
            "done_tasks": ["review", "declare"],
            "documents_ready_at": "2025-11-10T15:00:00+08:00",
        },
        [],
    )
    tasks = [_task("S1:respond", "05:00", "05:30")]

    times = shipment_times(request, tasks)["S1"]

    assert times.actionable == _at("00:00")
    assert times.deadline == _at("04:00")
    assert times.release == _at("05:50")
    assert times.late_min == 70  # 110 - 40


def test_release_missing_task_leaves_shipment_out() -> None:
    """Tests that a shipment without its declare has no release."""
    request = _request(
        {
            "id": "S1",
            "in_warehouse": True,
            "documents_ready_at": "2025-11-11T07:00:00+08:00",
        },
        [],
    )

    assert shipment_times(request, [_task("S1:review", "07:00", "07:20")]) == {}
