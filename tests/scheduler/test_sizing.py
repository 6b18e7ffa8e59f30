"""Tests of the size estimate run before any model is built (C-05)."""

from __future__ import annotations

from typing import Any

import pytest
from task_site import at, broker, clerk, shipment, site_request

from scheduler.models import Request
from scheduler.sizing import GIB, ModelTooLarge, check_size, estimate


def _roster_request(staff: int, days: int, interval_min: int) -> Request:
    """Staff to roster over a horizon, no shipments."""
    people: list[dict[str, Any]] = [
        clerk(f"c{i}") if i % 2 else broker(f"b{i}") for i in range(staff)
    ]
    return Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-01", "days": days},
            "staff": people,
            "shift_templates": [
                {"id": "day", "start_local": "08:00", "end_local": "16:00"}
            ],
            "settings": {"interval_min": interval_min},
        }
    )


def test_estimate_counts_tasks_and_candidate_pairs_by_hand() -> None:
    """Two clerks and one broker: 2 shipments give 5 tasks and 10 pairs."""
    request = site_request(
        staff=[clerk("c1"), clerk("c2"), broker("b1")],
        loads=[{"id": "L1", "eta": at("09:00").isoformat()}],
        shipments=[
            # unload (2 doors) + review (2 clerks) + declare (1 broker)
            shipment("S1", load_id="L1", in_warehouse=False),
            # review (2) + exam (1 broker x 1 exam door); declare done
            shipment("S2", lane="physical", done_tasks=["declare"]),
        ],
    )

    size = estimate(request)

    assert size.tasks == 5
    assert size.candidate_pairs == 2 + 2 + 1 + 2 + 1
    assert size.roster_booleans == 0  # the request fixes its roster
    # Few pairs: one model of the whole day, 2 per pair and 4 per task.
    assert size.task_model_variables == 2 * 8 + 4 * 5


def test_estimate_c05_roster_booleans() -> None:
    """C-05: 400 staff x 31 days x 96 quarter-hour slots is 1,190,400 booleans."""
    size = estimate(_roster_request(400, 31, 15))

    assert size.roster_booleans == 400 * 31 * 96 == 1_190_400
    assert size.cp_variables == 1_190_400


def test_check_size_refuses_c05_in_2_gib_and_says_what_to_reduce() -> None:
    """C-05 in a 2 GiB container is refused, naming the slots and the fixes."""
    request = _roster_request(400, 31, 15)

    with pytest.raises(ModelTooLarge) as refused:
        check_size(request, 2 * GIB)

    message = str(refused.value)
    assert message.startswith("400 staff x 31 days x 96 quarter-hour slots needs about")
    assert "the limit is 2.0 GiB" in message
    assert "use 30-minute intervals" in message
    assert "shorten the horizon" in message
    assert isinstance(refused.value, ValueError)


def test_check_size_accepts_a_site_that_fits() -> None:
    """A week of 100 staff at half-hour slots fits in 2 GiB."""
    size = check_size(_roster_request(100, 7, 30), 2 * GIB)

    assert size.roster_booleans == 100 * 7 * 48
    assert size.peak_memory_bytes < 2 * GIB


def test_check_size_refuses_a_day_of_shipments_too_big_for_its_limit() -> None:
    """A task plan over the limit names shipments and tasks, not slots."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        shipments=[shipment(f"S{i}") for i in range(50)],
    )

    with pytest.raises(ModelTooLarge, match=r"^50 shipments \(100 tasks\) need about"):
        check_size(request, 1024)


def test_check_size_refuses_a_non_positive_limit() -> None:
    """A memory limit of 0 bytes is refused with the field named."""
    with pytest.raises(ValueError, match="memory_limit_bytes"):
        check_size(_roster_request(10, 1, 30), 0)
