"""Tests of plan_roster on small requests worked out by hand."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler import demand
from scheduler.models import (
    Contract,
    CoverRequirement,
    DateRange,
    Horizon,
    Interval,
    Licence,
    OnCall,
    Person,
    PlanStatus,
    Request,
    RosterShift,
    Settings,
    ShiftRequest,
    ShiftTemplate,
    Site,
    StaffHistory,
    Weights,
)
from scheduler.roster import OBJECTIVE_KEYS, plan_roster
from scheduler.roster_options import build_problem
from scheduler.validate_roster import validate_roster

MONDAY = date(2024, 1, 8)


def at(day: date, hour: int, minute: int = 0, tz: str = "UTC") -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz))


def clerk(person_id: str, **contract) -> Person:
    return Person(id=person_id, role="clerk", contract=Contract(**contract))


def request_of(
    staff: list[Person],
    templates: list[ShiftTemplate],
    cover: list[CoverRequirement],
    *,
    start: date = MONDAY,
    days: int = 1,
    tz: str = "UTC",
    **settings_fields,
) -> Request:
    settings_fields.setdefault("time_limit_s", 5.0)
    return Request(
        site=Site(id="hkg", timezone=tz),
        horizon=Horizon(start_date=start, days=days),
        staff=staff,
        shift_templates=templates,
        cover_requirements=cover,
        settings=Settings(**settings_fields),
    )


def need(skill: str, start: datetime, end: datetime, persons: int = 1, **kw):
    return CoverRequirement(skill=skill, persons=persons, start=start, end=end, **kw)


def assert_validated(plan, request: Request) -> None:
    report = validate_roster(request, plan.roster)
    assert report.valid, [v.message for v in report.violations]
    assert plan.objective == report.objective


DAY = ShiftTemplate(id="D", start_local="08:00", end_local="16:00")


def test_roster_night_shift_minutes_fall_on_their_own_days():
    """A Sunday 22:00-06:00 shift puts 120 minutes in one week, 360 in the next."""
    night = ShiftTemplate(id="N", start_local="22:00", end_local="06:00")
    sunday = date(2024, 1, 7)
    request = request_of([clerk("c1")], [night], [], start=sunday, days=2)
    problem = build_problem(request, [])
    first = problem.options[0]
    assert (first.day, first.template.id) == (sunday, "N")
    assert problem.data.options[0].regular_min_by_week == ((0, 120), (1, 360))


def test_roster_night_shift_respects_the_weekly_cap_of_the_next_week():
    """With 300 minutes a week the Sunday night (360 on Monday) is not rostered."""
    night = ShiftTemplate(id="N", start_local="22:00", end_local="06:00")
    sunday = date(2024, 1, 7)
    cover = [need("clerk", at(sunday, 23), at(sunday + timedelta(days=1), 5))]
    capped = request_of(
        [clerk("c1", max_minutes_per_week=300)], [night], cover, start=sunday, days=2
    )
    roomy = request_of(
        [clerk("c1", max_minutes_per_week=400)], [night], cover, start=sunday, days=2
    )
    assert plan_roster(capped).roster == []
    plan = plan_roster(roomy)
    assert [s.id for s in plan.roster] == ["c1:2024-01-07:N"]
    assert plan.roster[0].worked_min == 480
    assert_validated(plan, roomy)


def test_roster_night_shift_over_dst_lasts_7_or_9_hours():
    """22:00-06:00 in Berlin lasts 7 h from 2024-03-30 and 9 h from 2024-10-26."""
    night = ShiftTemplate(id="N", start_local="22:00", end_local="06:00")
    tz = "Europe/Berlin"
    for first, hours in ((date(2024, 3, 30), 7), (date(2024, 10, 26), 9)):
        cover = [need("clerk", at(first, 23, tz=tz), at(first, 23, 30, tz=tz))]
        request = request_of([clerk("c1")], [night], cover, start=first, tz=tz)
        plan = plan_roster(request)
        assert plan.roster[0].worked_min == hours * 60
        assert_validated(plan, request)


def overtime_request(weight_under_late: int) -> Request:
    template = DAY.model_copy(update={"max_extension_min": 120})
    person = clerk(
        "c1",
        hourly_cost_cents=1000,
        overtime_rate_pct=150,
        max_overtime_min_per_week=120,
    )
    cover = [
        need("clerk", at(MONDAY, 8), at(MONDAY, 16), weight_under=100_000),
        need("clerk", at(MONDAY, 16), at(MONDAY, 18), weight_under=weight_under_late),
    ]
    return request_of([person], [template], cover)


def test_roster_overtime_used_when_cheaper_than_undercover():
    """Two hours at 150 % (3000 cents) beat a missing person of weight 10000."""
    request = overtime_request(10_000)
    plan = plan_roster(request)
    [shift] = plan.roster
    assert (shift.extension_min, shift.needs_approval) == (120, True)
    assert shift.cost_cents == 8000 + 3000
    assert plan.objective.total == 11_000
    assert plan.status == PlanStatus.optimal
    assert_validated(plan, request)


def test_roster_overtime_not_used_when_dearer_than_undercover():
    """Two hours at 3000 cents cost more than a missing person of weight 2000."""
    request = overtime_request(2_000)
    plan = plan_roster(request)
    [shift] = plan.roster
    assert (shift.extension_min, shift.needs_approval) == (0, False)
    assert plan.objective.total == 8000 + 2000
    assert plan.objective.terms["undercover"] == 2000
    assert_validated(plan, request)


def call_in_request(weight_under: int) -> Request:
    on_call = Person(
        id="c2", role="clerk", on_call=OnCall(kind="agency", call_in_cost_cents=5000)
    )
    cover = [need("clerk", at(MONDAY, 8), at(MONDAY, 16), 2, weight_under=weight_under)]
    return request_of([clerk("c1"), on_call], [DAY], cover)


def test_roster_call_in_used_when_cheaper():
    """Calling in the agency temp (5000 cents) beats a missing person (10000)."""
    request = call_in_request(10_000)
    plan = plan_roster(request)
    assert sorted((s.person_id, s.call_in) for s in plan.roster) == [
        ("c1", False),
        ("c2", True),
    ]
    assert plan.objective.total == 5000
    assert_validated(plan, request)


def test_roster_call_in_not_used_when_dearer():
    """A missing person of weight 3000 is cheaper than a 5000-cent call-in."""
    request = call_in_request(3_000)
    plan = plan_roster(request)
    assert [s.person_id for s in plan.roster] == ["c1"]
    assert plan.objective.total == 3000
    assert_validated(plan, request)


def test_roster_broker_with_three_licences_fills_one_post():
    """A broker licensed for three regimes counts toward one requirement only."""
    broker = Person(
        id="b1",
        role="broker",
        licences=[Licence(jurisdiction="HK", regimes=["import", "export", "transit"])],
    )
    cover = [
        need("regime:import", at(MONDAY, 8), at(MONDAY, 16), weight_under=10_000),
        need("regime:export", at(MONDAY, 8), at(MONDAY, 16), weight_under=9_000),
        need("regime:transit", at(MONDAY, 8), at(MONDAY, 16), weight_under=8_000),
    ]
    request = request_of([broker], [DAY], cover)
    plan = plan_roster(request)
    assert [s.post for s in plan.roster] == ["regime:import"]
    assert [row.planned for row in plan.coverage] == [1, 0, 0]
    assert plan.objective.total == 17_000
    assert_validated(plan, request)


def test_roster_rest_of_exactly_the_minimum_is_allowed():
    """C-06: 22:00 then 06:00 (8 h) is refused; 21:00 then 08:00 (11 h) is not."""
    tuesday = MONDAY + timedelta(days=1)
    for late, early, worked in (
        (("14:00", "22:00"), ("06:00", "14:00"), 1),
        (("13:00", "21:00"), ("08:00", "16:00"), 2),
    ):
        templates = [
            ShiftTemplate(
                id="L", start_local=late[0], end_local=late[1], weekdays=["mon"]
            ),
            ShiftTemplate(
                id="E", start_local=early[0], end_local=early[1], weekdays=["tue"]
            ),
        ]
        cover = [
            CoverRequirement(skill="clerk", persons=1, date=MONDAY, template_id="L"),
            CoverRequirement(skill="clerk", persons=1, date=tuesday, template_id="E"),
        ]
        request = request_of([clerk("c1", min_rest_min=660)], templates, cover, days=2)
        plan = plan_roster(request)
        assert len(plan.roster) == worked
        assert_validated(plan, request)


def test_roster_soft_unavailability_costs_overlapping_minutes():
    """C-09: Tue 18:00-Wed 02:00 against a Wednesday off costs 120 minutes."""
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    late = ShiftTemplate(id="X", start_local="18:00", end_local="02:00")
    person = clerk("c1").model_copy(
        update={
            "unavailability": [
                Interval(start=at(wednesday, 0), end=at(MONDAY + timedelta(days=3), 0))
            ]
        }
    )
    cover = [CoverRequirement(skill="clerk", persons=1, date=tuesday, template_id="X")]
    soft = request_of(
        [person], [late], cover, start=tuesday, policies={"unavailability": "soft"}
    )
    hard = request_of([person], [late], cover, start=tuesday)
    soft_plan = plan_roster(soft)
    assert len(soft_plan.roster) == 1
    assert soft_plan.objective.terms["unavailability"] == 120 * 50
    assert_validated(soft_plan, soft)
    assert plan_roster(hard).roster == []


def test_roster_week_of_a_toronto_site_lands_monday_to_friday():
    """C-10: a Mon-Fri 08:00 template in Toronto gives 4-8 Nov at 08:00 local."""
    tz = "America/Toronto"
    template = ShiftTemplate(
        id="W",
        start_local="08:00",
        end_local="16:00",
        weekdays=["mon", "tue", "wed", "thu", "fri"],
    )
    first = date(2024, 11, 4)
    cover = [
        CoverRequirement(
            skill="clerk", persons=1, date=first + timedelta(days=i), template_id="W"
        )
        for i in range(5)
    ]
    request = request_of([clerk("c1")], [template], cover, start=first, days=7, tz=tz)
    plan = plan_roster(request)
    starts = [s.start.astimezone(ZoneInfo(tz)) for s in plan.roster if s.start]
    assert [(s.date().day, s.hour) for s in starts] == [(d, 8) for d in range(4, 9)]
    assert_validated(plan, request)


def test_roster_shortfalls_merge_and_read_like_a_dispatcher():
    """Adjacent shortfalls of two brokers read "Tue 14:00-17:00: 2 brokers short"."""
    tuesday = MONDAY + timedelta(days=1)
    cover = [
        need("broker", at(tuesday, 14), at(tuesday, 15, 30), 2),
        need("broker", at(tuesday, 15, 30), at(tuesday, 17), 2),
    ]
    request = request_of([], [DAY], cover, start=tuesday)
    plan = plan_roster(request)
    [gap] = plan.understaffed
    assert (gap.start, gap.end, gap.missing) == (at(tuesday, 14), at(tuesday, 17), 2)
    assert [e.text for e in plan.explanations] == ["Tue 14:00-17:00: 2 brokers short"]
    assert plan.objective.total == 4 * 10_000


def test_roster_fixed_roster_comes_back_with_its_instants():
    """A request's own roster is returned as is, instants and minutes filled."""
    fixed = [RosterShift(person_id="c1", date=MONDAY, template_id="D", post="clerk")]
    request = request_of([clerk("c1", hourly_cost_cents=600)], [DAY], []).model_copy(
        update={"roster": fixed}
    )
    plan = plan_roster(request)
    [shift] = plan.roster
    assert (shift.id, shift.start, shift.end) == (
        "c1:2024-01-08:D",
        at(MONDAY, 8),
        at(MONDAY, 16),
    )
    assert (shift.worked_min, shift.cost_cents) == (480, 4800)
    assert plan.objective.total == 4800
    assert_validated(plan, request)


def test_roster_plan_carries_every_term_provenance_and_timings():
    """The plan names every objective term, the solver, hashes and timings."""
    request = call_in_request(10_000)
    plan = plan_roster(request)
    assert set(plan.objective.terms) == set(OBJECTIVE_KEYS)
    assert plan.provenance.solver == "cp-sat"
    assert plan.provenance.input_hash.startswith("sha256:")
    assert plan.provenance.fingerprint.startswith("sha256:")
    assert set(plan.timings) == {"build_s", "solve_s", "total_s"}
    assert plan.kpis["shifts"] == 2 and plan.kpis["cover_attainment"] == {"clerk": 1.0}


def test_roster_reproducible_mode_gives_the_same_fingerprint():
    """The same request planned twice in reproducible mode has one fingerprint."""
    request = overtime_request(10_000).model_copy(
        update={"settings": Settings(time_limit_s=2.0, reproducible=True, seed=7)}
    )
    assert plan_roster(request).provenance.fingerprint == (
        plan_roster(request).provenance.fingerprint
    )


# --------------------------------------------------------------------------
# Property: every roster passes the validator with the same objective.

TEMPLATES = [
    ShiftTemplate(id="E", start_local="06:00", end_local="14:00", max_extension_min=60),
    ShiftTemplate(
        id="L",
        start_local="14:00",
        end_local="22:00",
        break_start_local="18:00",
        break_min=30,
        forbidden_successors=["E"],
    ),
    ShiftTemplate(id="N", start_local="22:00", end_local="06:00", break_paid=True),
]


@st.composite
def small_requests(draw) -> Request:
    days = draw(st.integers(1, 4))
    first = date(2024, 3, 28) + timedelta(days=draw(st.integers(0, 6)))
    templates = draw(
        st.lists(
            st.sampled_from(TEMPLATES), min_size=1, max_size=3, unique_by=lambda t: t.id
        )
    )
    names = {t.id for t in templates}
    templates = [
        t.model_copy(
            update={
                "forbidden_successors": [
                    s for s in t.forbidden_successors if s in names
                ]
            }
        )
        for t in templates
    ]
    staff = []
    history = []
    for i in range(draw(st.integers(1, 4))):
        role = draw(st.sampled_from(["clerk", "broker"]))
        contract = Contract(
            min_rest_min=draw(st.sampled_from([0, 480, 660])),
            max_consecutive_days=draw(st.integers(1, 3)),
            min_consecutive_days=draw(st.integers(1, 2)),
            min_consecutive_days_off=draw(st.integers(1, 2)),
            max_minutes_per_week=draw(st.sampled_from([600, 1500, 2880])),
            hourly_cost_cents=draw(st.sampled_from([0, 900, 2000])),
            max_overtime_min_per_week=draw(st.sampled_from([0, 60])),
            max_working_weekends=draw(st.sampled_from([None, 0, 1])),
        )
        expires = first + timedelta(days=draw(st.integers(-1, 3)))
        person = Person(
            id=f"p{i}",
            role=role,
            contract=contract,
            licences=[Licence(jurisdiction="HK", regimes=["import"], expires=expires)]
            if role == "broker"
            else [],
            on_call=OnCall(call_in_cost_cents=3000)
            if draw(st.booleans()) and i
            else None,
            leave=[
                DateRange(
                    first_date=first + timedelta(days=1),
                    last_date=first + timedelta(days=1),
                )
            ]
            if draw(st.booleans())
            else [],
            shift_requests=[
                ShiftRequest(
                    date=first, kind=draw(st.sampled_from(["on", "off"])), weight=3
                )
            ],
        )
        staff.append(person)
        if draw(st.booleans()):
            history.append(
                StaffHistory(
                    person_id=person.id,
                    consecutive_days_worked=draw(st.integers(0, 2)),
                    last_shift_end=at(first, 0)
                    - timedelta(hours=draw(st.integers(1, 12))),
                )
            )
    cover = []
    for _ in range(draw(st.integers(1, 5))):
        day = first + timedelta(days=draw(st.integers(0, days - 1)))
        skill = draw(st.sampled_from(["clerk", "broker", "regime:import"]))
        if draw(st.booleans()):
            cover.append(
                CoverRequirement(
                    skill=skill,
                    persons=draw(st.integers(0, 3)),
                    date=day,
                    template_id=draw(st.sampled_from(sorted(names))),
                )
            )
        else:
            hour = draw(st.integers(0, 20))
            cover.append(
                need(skill, at(day, hour), at(day, hour + 2), draw(st.integers(1, 3)))
            )
    return Request(
        site=Site(id="hkg", timezone="Europe/Berlin"),
        horizon=Horizon(start_date=first, days=days),
        staff=staff,
        shift_templates=templates,
        cover_requirements=cover,
        staff_history=history,
        settings=Settings(
            time_limit_s=1.0,
            weights=Weights(fairness=draw(st.sampled_from([0, 5]))),
            policies={"unavailability": "hard"},
        ),
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_requests())
def test_roster_every_plan_passes_the_validator(request):
    """Every roster plan_roster returns passes the validator with its objective."""
    plan = plan_roster(request)
    report = validate_roster(request, plan.roster)
    assert plan.objective == report.objective
    assert len(plan.coverage) == len(demand.cover_requirements(request))
    if plan.status not in (PlanStatus.failed, PlanStatus.infeasible):
        assert report.valid, [v.message for v in report.violations]
    else:
        assert plan.roster == [] and plan.status_reason


def test_roster_unreachable_minimum_is_infeasible_with_a_reason():
    """600 minutes asked of one 480-minute shift: infeasible, naming the rule."""
    request = request_of([clerk("c1", min_minutes_total=600)], [DAY], [])
    plan = plan_roster(request)
    assert plan.status == PlanStatus.infeasible
    assert "minutes_total" in plan.status_reason
    assert plan.roster == []


def test_roster_stop_before_the_search_returns_the_greedy_roster_cancelled():
    """A stop flag already set gives a cancelled plan holding the greedy roster."""
    stop = threading.Event()
    stop.set()
    request = call_in_request(10_000)
    plan = plan_roster(request, stop=stop)
    assert plan.status == PlanStatus.cancelled
    assert plan.objective.total == 5000  # the greedy roster is already optimal
    assert_validated(plan, request)
