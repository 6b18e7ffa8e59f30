"""A small hand-checkable site for the task engine's tests.

Hong Kong (UTC+8, no DST), Tue 2025-11-11, one day. Shift template ``day``
runs 08:00-16:00 with an unpaid 12:00-12:30 break. Default labour
standards: unload 10 + 2/pallet, review 6 + 2/document + 0.25/line,
declare 10 + 0.5/line, respond 20 + 2/document, exam 30 + 5/pallet,
customs response 20 min.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler.models import Request, RosterShift


def at(clock: str, day: int = 11) -> datetime:
    """A local Hong Kong instant on 2025-11-`day`."""
    return datetime.fromisoformat(f"2025-11-{day:02d}T{clock}:00+08:00")


def clerk(person_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": person_id, "role": "clerk", **extra}


def broker(
    person_id: str, commodities: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    licence = {"jurisdiction": "HK", "commodities": commodities or []}
    return {"id": person_id, "role": "broker", "licences": [licence], **extra}


def shipment(shipment_id: str, **fields: Any) -> dict[str, Any]:
    """A shipment, by default ready at 08:00 and already in the warehouse."""
    data: dict[str, Any] = {
        "id": shipment_id,
        "documents_ready_at": at("08:00").isoformat(),
        "in_warehouse": True,
        "documents": 0,
        "declaration_lines": 0,
        "pallets": 1,
    }
    data.update(fields)
    return data


def site_request(
    *,
    staff: list[dict[str, Any]],
    shipments: list[dict[str, Any]],
    loads: list[dict[str, Any]] | None = None,
    doors: list[dict[str, Any]] | None = None,
    breaks: str = "no_straddle",
    time_limit_s: float = 2.0,
    seed: int = 0,
    reproducible: bool = False,
    num_workers: int = 2,
) -> Request:
    """A one-day request whose roster puts everyone on the day shift."""
    data: dict[str, Any] = {
        "request_id": "task-site",
        "site": {"id": "HKG", "timezone": "Asia/Hong_Kong", "jurisdiction": "HK"},
        "horizon": {"start_date": "2025-11-11", "days": 1},
        "staff": staff,
        "shift_templates": [
            {
                "id": "day",
                "start_local": "08:00",
                "end_local": "16:00",
                "break_start_local": "12:00",
                "break_min": 30,
            }
        ],
        "doors": doors
        if doors is not None
        else [
            {"id": "D1", "capabilities": ["standard"]},
            {"id": "X1", "capabilities": ["exam"]},
        ],
        "loads": loads or [],
        "shipments": shipments,
        "roster": [
            {
                "person_id": person["id"],
                "date": "2025-11-11",
                "template_id": "day",
                "post": person["role"],
            }
            for person in staff
        ],
        "settings": {
            "time_limit_s": time_limit_s,
            "seed": seed,
            "reproducible": reproducible,
            "num_workers": num_workers,
            "policies": {"breaks": breaks},
        },
    }
    return Request.model_validate(data)


def roster_of(request: Request) -> list[RosterShift]:
    return list(request.roster or [])
