"""Tests that the forecast turns into the right work, headcount and cover."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.demand import (
    Workload,
    cover_requirements,
    headcount,
    horizon_intervals,
    workload,
)
from scheduler.models import CoverRequirement, Request
from scheduler.sitetime import add_minutes, minutes_between, zone

HK = zone("Asia/Hong_Kong")

# Standards chosen so one shipment (2 pallets, 2 documents, 4 lines, half
# needing compliance) is round: review 5 + 2*2.5 = 10 min, compliance
# 0.5 * (8 + 2*1) = 5, declare 4 + 4*1.5 = 10, respond 10 + 2*5 = 20,
# exam 20 + 2*5 = 30, so broker 10 + 0.2*20 + 0.1*30 = 17; unload 6 + 2*2
# = 10 door minutes. Lead = 10 + 5 + 17 + 28 = 60 min.
STANDARDS: dict[str, Any] = {
    "review": {"base_min": 5, "per_document_min": 2.5},
    "compliance": {"base_min": 8, "per_document_min": 1},
    "declare": {"base_min": 4, "per_line_min": 1.5},
    "respond": {"base_min": 10, "per_document_min": 5},
    "exam": {"base_min": 20, "per_pallet_min": 5},
    "unload": {"base_min": 6, "per_pallet_min": 2},
    "customs_response_min": 28,
    "lane_mix": {"green": 0.7, "documentary": 0.2, "physical": 0.1},
}


def _item(start: str, end: str, shipments: float, **fields: Any) -> dict[str, Any]:
    return {
        "start": f"2025-11-{start}+08:00",
        "end": f"2025-11-{end}+08:00",
        "shipments": shipments,
        "pallets_per_shipment": 2,
        "documents_per_shipment": 2,
        "lines_per_shipment": 4,
        "compliance_share": 0.5,
        **fields,
    }


def _request(forecast: list[dict[str, Any]], days: int = 1, **fields: Any) -> Request:
    return Request.model_validate(
        {
            "site": {"id": "hkg", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-10", "days": days},
            "labour_standards": STANDARDS,
            "forecast": forecast,
            **fields,
        }
    )


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


def test_workload_express_hour_exact_minutes_per_skill_and_interval() -> None:
    """Ten express shipments 08:00-09:00 spread over a 180-minute window."""
    request = _request([_item("10T08:00", "10T09:00", 10, priority="express")])

    load = workload(request)

    # w = 240 - 60 = 180; r = 1/6 per minute. By 08:30 D = r * 30**2/360
    # = 0.41667 shipments; 08:30-09:00 adds r * (60**2 - 30**2)/360 = 1.25;
    # 09:00-11:00 is flat at r * 30 = 5/3; the ramp down mirrors the ramp up.
    shipments = [5 / 12, 5 / 4, 5 / 3, 5 / 3, 5 / 3, 5 / 3, 5 / 4, 5 / 12]
    window = slice(16, 24)  # 08:00 to 12:00
    assert _rounded(load.work_min["clerk"][window]) == _rounded(
        10 * np.array(shipments)
    )
    assert _rounded(load.work_min["compliance"][window]) == _rounded(
        5 * np.array(shipments)
    )
    assert _rounded(load.work_min["broker"][window]) == _rounded(
        17 * np.array(shipments)
    )
    assert round(load.work_min["clerk"][16], 4) == 4.1667
    assert round(load.work_min["broker"][18], 4) == 28.3333
    assert load.work_min["clerk"][:16].sum() == 0
    assert load.work_min["clerk"][24:].sum() == 0
    # Unloading happens as the goods arrive: 5 shipments x 10 min per half hour.
    assert _rounded(load.door_min[15:19]) == [0.0, 50.0, 50.0, 0.0]
    assert sorted(load.work_min) == ["broker", "clerk", "compliance"]


def test_workload_express_and_standard_arrival_windows() -> None:
    """An express arrival at 01:00 is worked within ~4 h, a standard in ~24 h."""
    express = _request([_item("10T01:00", "10T01:30", 1, priority="express")], days=2)
    standard = _request([_item("10T01:00", "10T01:30", 1, priority="standard")], days=2)

    fast = workload(express).work_min["clerk"]
    slow = workload(standard).work_min["clerk"]

    # Express: w = 180, r = 1/30. First interval 10 * r * 30**2/360 = 0.8333,
    # then 10 * 30/180 = 1.6667 until the ramp down ends at 04:30.
    assert _rounded(fast[2:9]) == [0.8333] + [1.6667] * 5 + [0.8333]
    assert fast[9:].sum() == 0
    # Standard: w = 1440 - 60 = 1380, ending at 01:30 + 23 h = 00:30 next day;
    # flat at 10 * 30/1380 = 0.2174, first and last at 10 * 30**2/2760/30.
    assert round(slow[2], 4) == 0.1087
    assert _rounded(slow[3:48]) == [0.2174] * 45
    assert round(slow[48], 4) == 0.1087
    assert slow[49:].sum() == 0
    assert round(fast.sum(), 9) == round(slow.sum(), 9) == 10


def test_workload_window_cut_at_horizon_end_keeps_work() -> None:
    """Work whose window runs past the horizon is squeezed into what is left."""
    request = _request([_item("10T23:00", "10T23:30", 1, priority="standard")])

    clerk = workload(request).work_min["clerk"]

    # Window [t, 24:00) for t in [23:00, 23:30): done by 23:30 is
    # r * (30 - 30 * ln(60/30)) = 1 - ln 2 shipments.
    assert round(clerk[46], 4) == round(10 * (1 - math.log(2)), 4) == 3.0685
    assert round(clerk[47], 4) == round(10 * math.log(2), 4) == 6.9315
    assert clerk[:46].sum() == 0


def test_workload_arrivals_before_horizon_leave_their_tail() -> None:
    """An arrival before the horizon counts with the work left inside it."""
    request = _request([_item("09T23:00", "09T23:30", 1, priority="express")])

    clerk = workload(request).work_min["clerk"]

    # s = -60, e = -30, w = 180, r = 1/30: by 00:00 D = (R(60) - R(30)) / 30
    # = (10 - 2.5) / 30 = 0.25, so 0.75 x 10 min fall inside; by 00:30
    # D = (R(90) - R(60)) / 30 = 0.4167, so the first interval has 1.6667.
    assert round(clerk.sum(), 9) == 7.5
    assert round(clerk[0], 4) == 1.6667
    assert round(clerk[4], 4) == round(10 * (30**2 / 360) / 30, 4) == 0.8333
    assert clerk[5:].sum() == 0


def test_workload_many_small_items_equal_one_large_item() -> None:
    """Splitting an hour of arrivals into 600 minute pieces changes nothing."""
    whole = _item("10T08:00", "10T09:00", 10, priority="express")
    # Ten copies of each minute 08:00-08:59, each 1/60 shipment, latest
    # first, so the items cross several blocks out of arrival order.
    pieces = []
    for _ in range(10):
        for minute in reversed(range(60)):
            piece = _item("10T08:00", "10T09:00", 1 / 60, priority="express")
            piece["start"] = f"2025-11-10T08:{minute:02d}:00+08:00"
            piece["end"] = _minute_after(piece["start"])
            pieces.append(piece)

    one = workload(_request([whole]))
    many = workload(_request(pieces))

    for skill in ("clerk", "compliance", "broker"):
        assert np.allclose(one.work_min[skill], many.work_min[skill], atol=1e-9)
    assert np.allclose(one.door_min, many.door_min, atol=1e-9)


def _minute_after(instant: str) -> str:
    return (datetime.fromisoformat(instant) + timedelta(minutes=1)).isoformat()


def test_workload_pharma_goes_to_commodity_post() -> None:
    """A pharma shipment needs a broker licensed for pharma, not any broker."""
    request = _request([_item("10T08:00", "10T09:00", 10, commodity="pharma")])

    load = workload(request)

    assert sorted(load.work_min) == ["clerk", "commodity:pharma", "compliance"]
    assert round(load.work_min["commodity:pharma"].sum(), 6) == 170.0


def test_workload_lane_mix_adds_respond_and_exam_minutes() -> None:
    """Documentary and physical lanes add respond and exam minutes to brokers."""
    all_green = {**STANDARDS, "lane_mix": {"green": 1.0, "documentary": 0.0}}
    all_green["lane_mix"]["physical"] = 0.0
    item = _item("10T08:00", "10T09:00", 10)

    green = workload(_request([item], labour_standards=all_green))
    mixed = workload(_request([item]))

    # 10 x declare 10 = 100; mixed adds 10 x (0.2 x 20 + 0.1 x 30) = 70.
    assert round(green.work_min["broker"].sum(), 6) == 100.0
    assert round(mixed.work_min["broker"].sum(), 6) == 170.0


def test_headcount_rounds_up_at_utilisation_target() -> None:
    """Persons = ceil(work / (30 min x 0.85)), exact multiples not rounded up."""
    starts = tuple(
        datetime(2025, 11, 10, tzinfo=HK) + timedelta(minutes=30 * k) for k in range(5)
    )
    ends = tuple(start + timedelta(minutes=30) for start in starts)
    load = Workload(
        interval_starts=starts,
        interval_ends=ends,
        work_min={"clerk": np.array([0.0, 25.5, 25.6, 51.0, 0.0001])},
        door_min=np.zeros(5),
    )

    assert headcount(load, 0.85) == {"clerk": [0, 1, 2, 2, 1]}
    assert headcount(load, 1.0) == {"clerk": [0, 1, 1, 2, 1]}
    with pytest.raises(ValueError, match="utilisation_target"):
        headcount(load, 0.0)


def test_cover_requirements_without_forecast_are_the_requests_own() -> None:
    """No forecast: the request's own requirements come back unchanged."""
    own = {"skill": "clerk", "persons": 3, "start": "2025-11-10T08:00:00+08:00"}
    own["end"] = "2025-11-10T12:00:00+08:00"
    request = _request([], cover_requirements=[own])

    assert cover_requirements(request) == [CoverRequirement.model_validate(own)]


def test_cover_requirements_own_first_then_derived_by_skill() -> None:
    """Derived requirements follow the request's, per skill in time order."""
    own = {"skill": "broker", "persons": 1, "date": "2025-11-10"}
    own["template_id"] = "early"
    request = _request(
        [_item("10T08:00", "10T09:00", 10, priority="express")],
        shift_templates=[{"id": "early", "start_local": "06:00", "end_local": "14:00"}],
        cover_requirements=[own],
    )

    requirements = cover_requirements(request)

    assert requirements[0] == CoverRequirement.model_validate(own)
    derived = requirements[1:]
    # Broker 17 x shipments / 25.5: [0.28, 0.83, 1.11 x4, 0.83, 0.28] -> ceil.
    assert [r.persons for r in derived if r.skill == "broker"] == [
        1,
        1,
        2,
        2,
        2,
        2,
        1,
        1,
    ]
    assert [r.skill for r in derived] == ["broker"] * 8 + ["clerk"] * 8 + [
        "compliance"
    ] * 8
    first = derived[0]
    assert first.start == datetime(2025, 11, 10, 8, 0, tzinfo=HK)
    assert first.end == datetime(2025, 11, 10, 8, 30, tzinfo=HK)
    assert first.weight_under is None and first.weight_over is None


def test_horizon_intervals_follow_dst_days() -> None:
    """A 23-hour and a 25-hour Berlin day have 46 and 50 half-hour intervals."""
    for start_date, count in (("2025-03-30", 46), ("2025-10-26", 50)):
        request = Request.model_validate(
            {
                "site": {"id": "ber", "timezone": "Europe/Berlin"},
                "horizon": {"start_date": start_date, "days": 1},
            }
        )
        intervals = horizon_intervals(request)
        assert len(intervals) == count
        assert {minutes_between(start, end) for start, end in intervals} == {30}


def _expected_minutes(item: dict[str, Any]) -> tuple[float, float]:
    """Staff and door minutes of one shipment under the default standards."""
    pallets = item["pallets_per_shipment"]
    documents = item["documents_per_shipment"]
    lines = item["lines_per_shipment"]
    review = 6 + 2.0 * documents + 0.25 * lines
    compliance = 15 + 1.0 * documents
    declare = 10 + 0.5 * lines
    respond = 20 + 2.0 * documents
    exam = 30 + 5.0 * pallets
    staff = (
        review
        + item["compliance_share"] * compliance
        + declare
        + 0.08 * respond
        + 0.04 * exam
    )
    return staff, 10 + 2.0 * pallets


# Two sites: Hong Kong keeps its offset, Berlin's 2025-03-30 has 23 hours.
SITES = {
    "Asia/Hong_Kong": (datetime(2025, 11, 10, tzinfo=HK), 48 * 60),
    "Europe/Berlin": (datetime(2025, 3, 29, tzinfo=zone("Europe/Berlin")), 47 * 60),
}


@st.composite
def _forecast_items(draw: st.DrawFn, tz: str) -> dict[str, Any]:
    origin, horizon_min = SITES[tz]
    start = draw(st.integers(0, horizon_min - 1))
    end = draw(st.integers(start + 1, horizon_min))
    return {
        "start": add_minutes(origin, start).isoformat(),
        "end": add_minutes(origin, end).isoformat(),
        "shipments": draw(st.floats(0, 500)),
        "priority": draw(st.sampled_from(["express", "standard", "deferred"])),
        "commodity": draw(st.sampled_from(["general", "pharma", "food"])),
        "pallets_per_shipment": draw(st.floats(0, 20)),
        "documents_per_shipment": draw(st.floats(0, 20)),
        "lines_per_shipment": draw(st.floats(0, 100)),
        "compliance_share": draw(st.floats(0, 1)),
    }


@st.composite
def _sites_and_forecasts(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    tz = draw(st.sampled_from(sorted(SITES)))
    return tz, draw(st.lists(_forecast_items(tz), min_size=1, max_size=6))


@settings(max_examples=60, deadline=None)
@given(
    site_and_items=_sites_and_forecasts(),
    interval_min=st.sampled_from([15, 30, 60]),
)
def test_workload_conserves_work_minutes(
    site_and_items: tuple[str, list[dict[str, Any]]], interval_min: int
) -> None:
    """Spreading moves work in time but keeps every minute inside the horizon."""
    tz, items = site_and_items
    origin, horizon_min = SITES[tz]
    request = Request.model_validate(
        {
            "site": {"id": "site", "timezone": tz},
            "horizon": {"start_date": origin.date().isoformat(), "days": 2},
            "forecast": items,
            "settings": {"interval_min": interval_min},
        }
    )

    load = workload(request)

    expected_staff = sum(i["shipments"] * _expected_minutes(i)[0] for i in items)
    expected_door = sum(i["shipments"] * _expected_minutes(i)[1] for i in items)
    assert load.total_work_min() == pytest.approx(expected_staff, rel=1e-9, abs=1e-6)
    assert float(load.door_min.sum()) == pytest.approx(
        expected_door, rel=1e-9, abs=1e-6
    )
    assert all((minutes >= -1e-9).all() for minutes in load.work_min.values())
    assert sum(load.interval_len_min()) == horizon_min
