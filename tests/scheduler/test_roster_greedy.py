"""Tests of the greedy roster: hard rules kept, cheapest cover first."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from scheduler import demand
from scheduler.curtois import load_instance
from scheduler.models import (
    Contract,
    CoverRequirement,
    Horizon,
    Person,
    Request,
    Settings,
    ShiftTemplate,
    Site,
)
from scheduler.roster_greedy import greedy_roster
from scheduler.roster_options import build_problem
from scheduler.validate_roster import validate_roster
from solver.roster import roster_terms

INSTANCES = Path(__file__).resolve().parents[2] / "benchmarks" / "curtois" / "instances"
MONDAY = date(2024, 1, 8)


def test_greedy_repairs_minimum_rules_on_curtois_instance1():
    """Instance1's minimum minutes and runs are all met by the greedy roster."""
    request = load_instance(INSTANCES / "Instance1.txt")
    problem = build_problem(request, demand.cover_requirements(request))
    greedy = greedy_roster(problem.data, time_limit_s=None, seed=0)
    assert greedy.valid, greedy.broken_rules
    # Every person must work at least 3360 minutes: 7 shifts of 480.
    assert len(greedy.chosen) >= 8 * 7
    objective = sum(roster_terms(problem.data, greedy.chosen).values())
    assert 607 <= objective < 7137


def test_greedy_fills_a_gap_with_the_cheapest_clerk():
    """Of two clerks for one post, the one at 10.00 an hour gets the shift."""
    staff = [
        Person(id="dear", role="clerk", contract=Contract(hourly_cost_cents=2000)),
        Person(id="cheap", role="clerk", contract=Contract(hourly_cost_cents=1000)),
    ]
    utc = ZoneInfo("UTC")
    request = Request(
        site=Site(id="hkg", timezone="UTC"),
        horizon=Horizon(start_date=MONDAY, days=1),
        staff=staff,
        shift_templates=[ShiftTemplate(id="D", start_local="08:00", end_local="16:00")],
        cover_requirements=[
            CoverRequirement(
                skill="clerk",
                persons=1,
                start=datetime(2024, 1, 8, 9, tzinfo=utc),
                end=datetime(2024, 1, 8, 12, tzinfo=utc),
            )
        ],
        settings=Settings(),
    )
    problem = build_problem(request, request.cover_requirements)
    greedy = greedy_roster(problem.data, time_limit_s=None)
    assert [problem.options[o].person.id for o, _ in greedy.chosen] == ["cheap"]
    assert greedy.valid


def test_greedy_reports_a_minimum_no_roster_can_meet():
    """A clerk asked for 600 minutes with one 480-minute shift breaks minutes_total."""
    request = Request(
        site=Site(id="hkg", timezone="UTC"),
        horizon=Horizon(start_date=MONDAY, days=1),
        staff=[Person(id="c1", role="clerk", contract=Contract(min_minutes_total=600))],
        shift_templates=[ShiftTemplate(id="D", start_local="08:00", end_local="16:00")],
    )
    problem = build_problem(request, [])
    greedy = greedy_roster(problem.data, time_limit_s=None)
    assert greedy.broken_rules == ("minutes_total",)
    report = validate_roster(request, [])
    assert [v.rule for v in report.violations] == ["minutes_total"]
