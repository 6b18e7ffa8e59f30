"""Small hand-checkable site scenarios for the simulation tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from scheduler.models import Role
from simulations.scenario import Scenario

DAY = date(2025, 11, 11)


def instant(minute: int) -> str:
    """An instant `minute` minutes after midnight UTC on DAY."""
    return f"2025-11-11T{minute // 60:02d}:{minute % 60:02d}:00+00:00"


def tiny_site(
    shipments: list[dict[str, Any]],
    loads: list[dict[str, Any]] | None = None,
    *,
    brokers: int = 1,
    clerks: int = 1,
    doors: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Scenario:
    """A UTC site, one 24 h shift per person, no task-time spread.

    Defaults: one clerk, one broker, one standard door open all day; lanes
    as given on the shipments; customs answer in 20 min exactly.
    """
    staff = [
        {"id": f"clerk-{i}", "role": Role.clerk.value, "languages": ["en"]}
        for i in range(clerks)
    ] + [
        {
            "id": f"broker-{i}",
            "role": Role.broker.value,
            "licences": [{"jurisdiction": "HK"}],
        }
        for i in range(brokers)
    ]
    roster = [
        {
            "person_id": person["id"],
            "date": DAY.isoformat(),
            "template_id": "all-day",
            "post": person["role"],
        }
        for person in staff
    ]
    data: dict[str, Any] = {
        "site": {"id": "tiny", "timezone": "UTC"},
        "horizon": {"start_date": DAY.isoformat(), "days": 1},
        "staff": staff,
        "shift_templates": [
            {"id": "all-day", "start_local": "00:00", "end_local": "24:00"}
        ],
        "doors": doors if doors is not None else [{"id": "D1"}],
        "loads": loads or [],
        "shipments": shipments,
        "roster": roster,
        "lanes": "given",
        "task_time_cv": {
            "unload": 0,
            "review": 0,
            "compliance": 0,
            "declare": 0,
            "respond": 0,
            "exam": 0,
            "customs_response": 0,
        },
    }
    data.update(fields)
    return Scenario.model_validate(data)


def shipment(
    shipment_id: str, ready_min: int, priority: str = "express", **fields: Any
) -> dict[str, Any]:
    """A green shipment of 1 pallet, 3 documents and 5 lines.

    Default standards: review 6 + 2 x 3 + 0.25 x 5 = 13.25, so 14 min;
    declare 10 + 0.5 x 5 = 12.5, so 13 min.
    """
    data = {
        "id": shipment_id,
        "priority": priority,
        "documents_ready_at": instant(ready_min),
        "in_warehouse": True,
        "lane": "green",
    }
    data.update(fields)
    return data
