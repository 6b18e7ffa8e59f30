"""Tests that the synthetic Hong Kong site builds a valid, busy request."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

import simulations
from scheduler.demand import Workload, cover_requirements, headcount, workload
from scheduler.models import Request
from simulations.customs_site import HOURLY_COUNTS, customs_site_request

# Values below were computed once for seed 0 and checked for plausibility:
# about 1,850 shipments a day, Monday lowest (HKIA's Monday dip), the clerk
# peak in the small hours after the 00:00-02:00 freighter bank.


@pytest.fixture(scope="module")
def site() -> tuple[Request, float]:
    began = time.perf_counter()
    request = customs_site_request()
    return request, time.perf_counter() - began


@pytest.fixture(scope="module")
def site_workload(site: tuple[Request, float]) -> Workload:
    return workload(site[0])


def test_customs_site_builds_quickly_with_expected_staff(
    site: tuple[Request, float],
) -> None:
    """300 people: 165 clerks, 135 brokers, 6 agency and 6 on call."""
    request, build_s = site

    assert build_s < 15.0
    assert len(request.staff) == 300
    assert Counter(p.role.value for p in request.staff) == {
        "clerk": 165,
        "broker": 135,
    }
    assert Counter(p.on_call.kind for p in request.staff if p.on_call) == {
        "agency": 6,
        "on_call": 6,
    }
    assert [t.id for t in request.shift_templates] == ["early", "day", "late", "night"]
    assert request.template("night").forbidden_successors == ["early"]
    assert request.site.timezone == "Asia/Hong_Kong"
    assert request.settings.interval_min == 30


def test_customs_site_licences_and_weekly_minimums(
    site: tuple[Request, float],
) -> None:
    """Four broker licences lapse inside the horizon; their minimums drop."""
    request, _ = site
    horizon_end = date(2025, 11, 23)

    expiring = [
        p
        for p in request.staff
        if any(lic.expires and lic.expires <= horizon_end for lic in p.licences)
    ]

    assert [p.id for p in expiring] == [
        "broker-004",
        "broker-005",
        "broker-006",
        "broker-007",
    ]
    assert all(p.contract.min_minutes_per_week < 2400 for p in expiring)
    assert all(
        p.licences and p.licences[0].jurisdiction == "HK"
        for p in request.staff
        if p.role.value == "broker"
    )
    assert sum(1 for p in request.staff if "compliance" in p.skills) == 25
    assert sum(1 for p in request.staff if p.leave) == 28


def test_customs_site_forecast_follows_hkia_days(site: tuple[Request, float]) -> None:
    """Monday 10 Nov (99 flights) has fewer shipments than Wed 12 Nov (130)."""
    request, _ = site
    per_day: defaultdict[date, float] = defaultdict(float)
    for item in request.forecast:
        per_day[item.start.date()] += item.shipments

    assert len(request.forecast) == 8716
    assert round(per_day[date(2025, 11, 10)], 1) == 1616.0
    assert round(per_day[date(2025, 11, 12)], 1) == 2093.5


def test_customs_site_demand_is_busy(
    site: tuple[Request, float], site_workload: Workload
) -> None:
    """Derived demand: six posts every half hour, clerk peak at 04:00."""
    request, _ = site
    persons = headcount(site_workload, request.settings.utilisation_target)

    assert round(float(site_workload.work_min["clerk"].sum()), 1) == 414843.1
    assert sum(persons["clerk"]) == 16596
    assert sum(persons["broker"]) == 14961
    assert max(persons["clerk"]) == 32
    wednesday = range(2 * 48, 3 * 48)
    peak = max(wednesday, key=lambda k: site_workload.work_min["clerk"][k])
    assert site_workload.interval_starts[peak] == datetime.fromisoformat(
        "2025-11-12T04:00:00+08:00"
    )
    requirements = cover_requirements(request)
    assert len(requirements) == 6 * 672
    assert Counter(r.skill for r in requirements) == {
        skill: 672
        for skill in (
            "broker",
            "clerk",
            "commodity:dangerous_goods",
            "commodity:food",
            "commodity:pharma",
            "compliance",
        )
    }


def test_customs_site_is_deterministic_per_seed() -> None:
    """The same seed gives the same request; another seed other staff."""
    request = customs_site_request(staff=60, days=7)

    again = customs_site_request(staff=60, days=7)
    other = customs_site_request(staff=60, days=7, seed=1)

    assert again.model_dump() == request.model_dump()
    assert other.model_dump()["staff"] != request.model_dump()["staff"]
    assert other.forecast == request.forecast


def test_customs_site_round_trips_through_json(site: tuple[Request, float]) -> None:
    """The request survives its own JSON format unchanged."""
    request, _ = site

    assert Request.model_validate_json(request.model_dump_json()) == request


def test_customs_site_small_and_outside_the_data() -> None:
    """A small site on dates after the data uses weekday means and builds."""
    request = customs_site_request(staff=40, days=7, start_date=date(2026, 3, 4))

    load = workload(request)

    assert len(request.staff) == 40
    assert load.total_work_min() > 0
    assert load.num_intervals == 7 * 48
    with pytest.raises(ValueError, match="staff"):
        customs_site_request(staff=10)


def test_customs_site_reads_its_data_inside_the_package() -> None:
    """The flight counts are read next to the module, never from /work/shared."""
    package = Path(simulations.__file__).resolve().parent

    assert HOURLY_COUNTS.is_relative_to(package)
    assert HOURLY_COUNTS.is_file()
