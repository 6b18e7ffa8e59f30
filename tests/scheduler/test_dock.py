"""Tests of the dock schedule and of door opening times."""

from __future__ import annotations

import json
from datetime import datetime

from scheduler.dock import dates_touched, dock_schedule, door_open_intervals
from scheduler.models import Request, Task

HKT = "+08:00"


def _at(day: int, clock: str) -> datetime:
    return datetime.fromisoformat(f"2025-11-{day:02d}T{clock}:00{HKT}")


def _request() -> Request:
    return Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 2},
            "staff": [
                {"id": "b1", "name": "Wong Ka Ming", "role": "broker"},
            ],
            "doors": [
                {"id": "D1"},
                {"id": "D2"},
                {"id": "X1", "capabilities": ["exam"]},
            ],
            "loads": [
                {"id": "L1", "eta": "2025-11-11T23:00:00+08:00"},
                {"id": "L2", "eta": "2025-11-11T22:00:00+08:00", "pallets": 9},
            ],
            "shipments": [
                {
                    "id": "S2",
                    "load_id": "L1",
                    "pallets": 3,
                    "documents_ready_at": "2025-11-11T20:00:00+08:00",
                },
                {
                    "id": "S1",
                    "load_id": "L1",
                    "pallets": 2,
                    "lane": "physical",
                    "documents_ready_at": "2025-11-11T20:00:00+08:00",
                },
                {
                    "id": "S3",
                    "load_id": "L2",
                    "pallets": 4,
                    "documents_ready_at": "2025-11-11T20:00:00+08:00",
                },
            ],
        }
    )


def _tasks() -> list[Task]:
    return [
        Task(
            id="S1:exam",
            kind="exam",
            shipment_id="S1",
            person_id="b1",
            door_id="X1",
            start=_at(12, "10:00"),
            end=_at(12, "10:45"),
            work_min=45,
        ),
        Task(
            id="L1:unload",
            kind="unload",
            load_id="L1",
            door_id="D2",
            start=_at(11, "23:30"),
            end=_at(12, "00:30"),
            work_min=60,
        ),
        Task(
            id="L2:unload",
            kind="unload",
            load_id="L2",
            door_id="D1",
            start=_at(11, "23:30"),
            end=_at(12, "00:00"),
            work_min=30,
        ),
        Task(
            id="S1:review",
            kind="review",
            shipment_id="S1",
            person_id="c1",
            start=_at(11, "20:00"),
            end=_at(11, "20:30"),
            work_min=30,
        ),
    ]


def test_dock_schedule_unload_over_midnight_on_both_dates() -> None:
    """Tests that a truck unloading 23:30-00:30 is listed under both local dates."""
    schedule = dock_schedule(_request(), _tasks())

    assert list(schedule) == ["2025-11-11", "2025-11-12"]
    first = [(s.door_id, s.load_id, s.kind.value) for s in schedule["2025-11-11"]]
    second = [(s.door_id, s.load_id, s.kind.value) for s in schedule["2025-11-12"]]
    # Same start on D1 and D2: door order breaks the tie.
    assert first == [("D1", "L2", "unload"), ("D2", "L1", "unload")]
    # L2 ends exactly at midnight, so it does not touch the 12th.
    assert second == [("D2", "L1", "unload"), ("X1", "L1", "exam")]


def test_dock_schedule_fills_shipments_and_pallets() -> None:
    """Tests that slots carry the load's shipments and pallets from the request."""
    schedule = dock_schedule(_request(), _tasks())
    by_load = {(s.load_id, s.kind.value): s for s in schedule["2025-11-11"]}

    # L1 has no pallet count of its own: 2 + 3 from its shipments.
    assert by_load[("L1", "unload")].pallets == 5
    assert by_load[("L1", "unload")].shipment_ids == ["S1", "S2"]
    # L2 states 9 pallets, which wins over its shipments' 4.
    assert by_load[("L2", "unload")].pallets == 9
    exam = schedule["2025-11-12"][1]
    assert (exam.shipment_ids, exam.pallets) == (["S1"], 2)


def test_dock_schedule_has_no_personal_data() -> None:
    """Tests that no staff id or name reaches the dock schedule."""
    schedule = dock_schedule(_request(), _tasks())
    text = json.dumps(
        {
            day: [s.model_dump(mode="json") for s in slots]
            for day, slots in schedule.items()
        }
    )

    assert "b1" not in text and "c1" not in text
    assert "Wong" not in text
    assert "person" not in text


def test_dates_touched_half_open() -> None:
    """Tests that an interval ending at local midnight touches one date only."""
    tz = "Asia/Hong_Kong"

    assert [d.day for d in dates_touched(_at(11, "23:00"), _at(12, "00:00"), tz)] == [
        11
    ]
    assert [d.day for d in dates_touched(_at(11, "23:00"), _at(12, "00:01"), tz)] == [
        11,
        12,
    ]


def test_door_open_intervals_overnight_hours_and_outage() -> None:
    """Tests that 22:00-06:00 hours run into the next date and outages cut them."""
    request = Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 1},
            "doors": [
                {
                    "id": "D1",
                    "opening_hours": [{"open_local": "22:00", "close_local": "06:00"}],
                    "outages": [
                        {
                            "start": "2025-11-11T02:00:00+08:00",
                            "end": "2025-11-11T03:00:00+08:00",
                        }
                    ],
                }
            ],
        }
    )

    spans = door_open_intervals(request, request.doors[0])

    # The 10th's night runs to 06:00 on the 11th; the 11th's night is cut
    # at the end of the horizon.
    assert spans == [
        (_at(11, "00:00"), _at(11, "02:00")),
        (_at(11, "03:00"), _at(11, "06:00")),
        (_at(11, "22:00"), _at(12, "00:00")),
    ]
