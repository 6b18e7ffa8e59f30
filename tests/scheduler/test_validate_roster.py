"""Tests of the independent roster validator, rule by rule and term by term.

Unless a test says otherwise the site is in Europe/Berlin (UTC+02:00 in
May), the horizon is the week Monday 2024-05-06 to Sunday 2024-05-12 and
the templates are early 06:00-14:00, late 14:00-22:00, night 22:00-06:00.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.models import Objective, Plan, Provenance, Request, RosterShift
from scheduler.roster_queries import on_duty
from scheduler.shifts import instance
from scheduler.sitetime import add_minutes, local_midnight, to_utc
from scheduler.validate_roster import (
    OBJECTIVE_TERMS,
    RosterReport,
    validate_roster,
    validate_roster_plan,
)

MON = "2024-05-06"
TUE = "2024-05-07"
WED = "2024-05-08"
THU = "2024-05-09"
FRI = "2024-05-10"
SAT = "2024-05-11"
SUN = "2024-05-12"


def _template(template_id: str, start: str, end: str, **fields: Any) -> dict[str, Any]:
    return {"id": template_id, "start_local": start, "end_local": end, **fields}


TEMPLATES = [
    _template("early", "06:00", "14:00"),
    _template("late", "14:00", "22:00"),
    _template("night", "22:00", "06:00"),
]


def _person(person_id: str, role: str = "clerk", **fields: Any) -> dict[str, Any]:
    return {"id": person_id, "name": f"Name of {person_id}", "role": role, **fields}


def _broker(person_id: str, **fields: Any) -> dict[str, Any]:
    fields.setdefault("licences", [{"jurisdiction": "DE"}])
    return _person(person_id, role="broker", **fields)


def _request(
    staff: list[dict[str, Any]],
    templates: list[dict[str, Any]] | None = None,
    start_date: str = MON,
    days: int = 7,
    timezone: str = "Europe/Berlin",
    **extra: Any,
) -> Request:
    return Request.model_validate(
        {
            "site": {"id": "SITE", "timezone": timezone, "jurisdiction": "DE"},
            "horizon": {"start_date": start_date, "days": days},
            "staff": staff,
            "shift_templates": TEMPLATES if templates is None else templates,
            **extra,
        }
    )


def _shift(
    request: Request,
    person_id: str,
    day: str,
    template_id: str,
    post: str | None = None,
    extension_min: int = 0,
    **fields: Any,
) -> RosterShift:
    """A shift as an engine would write it: id, approval and call-in filled."""
    person = next((p for p in request.staff if p.id == person_id), None)
    data: dict[str, Any] = {
        "id": f"{person_id}:{day}:{template_id}",
        "person_id": person_id,
        "date": day,
        "template_id": template_id,
        "post": post or (person.role.value if person else "clerk"),
        "extension_min": extension_min,
        "needs_approval": extension_min > 0,
        "call_in": bool(person and person.on_call),
    }
    data.update(fields)
    return RosterShift.model_validate(data)


def _rules(report: RosterReport) -> set[str]:
    return {violation.rule for violation in report.violations}


def _assert_only(report: RosterReport, rule: str) -> None:
    assert _rules(report) == {rule}, report.violations
    assert not report.valid


def _assert_valid(report: RosterReport) -> None:
    assert report.violations == []
    assert report.valid


# --------------------------------------------------------------------------
# Hard rules: each broken alone, then respected by a near-identical roster


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        # weekday: the template runs Monday to Friday only
        (dict(template_id="weekday", day=SAT), dict(template_id="weekday", day=FRI)),
        # role: the template is for brokers
        (dict(template_id="brokers", day=MON), dict(template_id="early", day=MON)),
        # horizon: the day after its last date
        (dict(day="2024-05-13"), dict(day=SUN)),
        # extension: 30 min is not a step of 60
        (dict(extension_min=30), dict(extension_min=60)),
        # approval: an extended shift needs approval
        (dict(extension_min=60, needs_approval=False), dict(extension_min=60)),
        # approval: an unextended shift does not
        (dict(needs_approval=True), dict()),
        # an unknown template
        (dict(template_id="nope"), dict(template_id="early")),
    ],
)
def test_template_rule_named_when_broken(
    broken: dict[str, Any], fixed: dict[str, Any]
) -> None:
    """Shows each part of [template] named alone, and the fixed shift valid."""
    templates = [
        _template("early", "06:00", "14:00", max_extension_min=120),
        _template(
            "weekday", "08:00", "16:00", weekdays=["mon", "tue", "wed", "thu", "fri"]
        ),
        _template("brokers", "06:00", "14:00", roles=["broker"]),
    ]
    request = _request(
        [_person("c1", contract={"max_overtime_min_per_week": 120})],
        templates=templates,
    )

    def build(change: dict[str, Any]) -> RosterShift:
        args: dict[str, Any] = {"day": MON, "template_id": "early", **change}
        return _shift(request, "c1", args.pop("day"), args.pop("template_id"), **args)

    _assert_only(validate_roster(request, [build(broken)]), "template")
    _assert_valid(validate_roster(request, [build(fixed)]))


def test_template_break_outside_shift_reported_not_raised() -> None:
    """Shows a template whose break lies outside its shift is a violation, no error."""
    request = _request(
        [_person("c1")],
        templates=[
            _template("odd", "06:00", "08:00", break_start_local="09:00", break_min=30)
        ],
    )

    report = validate_roster(request, [_shift(request, "c1", MON, "odd")])

    _assert_only(report, "template")
    assert "cannot be computed" in report.violations[0].message
    assert report.worked_min_by_person == {"c1": 0}


def test_unknown_person_named_not_raised() -> None:
    """Shows a shift of someone not on the staff is reported, not a traceback."""
    request = _request([_person("c1")])

    report = validate_roster(request, [_shift(request, "ghost", MON, "early")])

    _assert_only(report, "unknown_person")
    assert report.violations[0].subject == "ghost:2024-05-06:early"
    _assert_valid(validate_roster(request, [_shift(request, "c1", MON, "early")]))


def test_one_shift_per_day_rule_named_when_broken() -> None:
    """Shows two shifts starting the same date flagged even with no rest rule."""
    request = _request([_person("c1", contract={"min_rest_min": 0})])

    twice = [_shift(request, "c1", MON, "early"), _shift(request, "c1", MON, "late")]
    next_day = [_shift(request, "c1", MON, "early"), _shift(request, "c1", TUE, "late")]

    report = validate_roster(request, twice)
    _assert_only(report, "one_shift_per_day")
    assert report.violations[0].subject == "c1"
    _assert_valid(validate_roster(request, next_day))


def test_min_rest_c06_pairs() -> None:
    """Shows C-06: 8 h rest flagged, exactly 11 h and a 12 h night rest allowed."""
    templates = [
        _template("late", "14:00", "22:00"),
        _template("early", "06:00", "14:00"),
        _template("mid", "13:00", "21:00"),
        _template("day", "08:00", "16:00"),
        _template("night", "22:00", "06:00"),
        _template("evening", "18:00", "02:00"),
    ]
    request = _request([_person("c7")], templates=templates)

    pair_a = [_shift(request, "c7", MON, "late"), _shift(request, "c7", TUE, "early")]
    pair_b = [_shift(request, "c7", MON, "mid"), _shift(request, "c7", TUE, "day")]
    pair_c = [
        _shift(request, "c7", TUE, "night"),
        _shift(request, "c7", WED, "evening"),
    ]

    report = validate_roster(request, pair_a)
    _assert_only(report, "min_rest")
    assert report.violations[0].message == (
        "clerk c7: 8 h rest between shift c7:2024-05-06:late and "
        "c7:2024-05-07:early, minimum 11 h."
    )
    _assert_valid(validate_roster(request, pair_b))
    _assert_valid(validate_roster(request, pair_c))


def test_min_rest_after_history_last_shift_end() -> None:
    """Shows the rest after the last shift before the horizon counts too."""

    def with_history(last_end: str) -> Request:
        history = [{"person_id": "c1", "last_shift_end": last_end}]
        return _request([_person("c1")], staff_history=history)

    short = with_history("2024-05-05T22:00:00+02:00")  # 8 h before Mon 06:00
    enough = with_history("2024-05-05T19:00:00+02:00")  # exactly 11 h

    _assert_only(
        validate_roster(short, [_shift(short, "c1", MON, "early")]), "min_rest"
    )
    _assert_valid(validate_roster(enough, [_shift(enough, "c1", MON, "early")]))


def test_min_rest_overlap_flagged() -> None:
    """Shows two overlapping shifts on different dates break the rest rule."""
    templates = [
        _template("long", "20:00", "10:00"),
        _template("early", "06:00", "14:00"),
    ]
    request = _request(
        [_person("c1", contract={"min_rest_min": 0})], templates=templates
    )

    roster = [_shift(request, "c1", MON, "long"), _shift(request, "c1", TUE, "early")]

    report = validate_roster(request, roster)
    _assert_only(report, "min_rest")
    assert "overlap" in report.violations[0].message


def test_forbidden_succession_rule_named_when_broken() -> None:
    """Shows a forbidden template on the next date flagged though rest is 12 h."""
    templates = [
        _template("late", "14:00", "22:00", forbidden_successors=["day"]),
        _template("day", "10:00", "18:00"),
    ]
    request = _request([_person("c1")], templates=templates)

    broken = [_shift(request, "c1", MON, "late"), _shift(request, "c1", TUE, "day")]
    fixed = [_shift(request, "c1", MON, "late"), _shift(request, "c1", WED, "day")]

    report = validate_roster(request, broken)
    _assert_only(report, "forbidden_succession")
    assert report.violations[0].subject == "c1:2024-05-07:day"
    _assert_valid(validate_roster(request, fixed))


def test_max_shifts_per_template_rule_named_when_broken() -> None:
    """Shows three early shifts flagged under a cap of two, two allowed."""
    request = _request(
        [_person("c1", contract={"max_shifts_per_template": {"early": 2}})]
    )

    three = [_shift(request, "c1", day, "early") for day in (MON, TUE, WED)]

    _assert_only(validate_roster(request, three), "max_shifts_per_template")
    _assert_valid(validate_roster(request, three[:2]))


def test_max_shifts_per_template_zero_means_never() -> None:
    """Shows a cap of 0 forbids the template."""
    request = _request(
        [_person("c1", contract={"max_shifts_per_template": {"night": 0}})]
    )

    _assert_only(
        validate_roster(request, [_shift(request, "c1", MON, "night")]),
        "max_shifts_per_template",
    )
    _assert_valid(validate_roster(request, [_shift(request, "c1", MON, "early")]))


def test_minutes_total_rule_named_when_broken() -> None:
    """Shows 1,440 regular minutes flagged over 960; extensions are not counted."""
    templates = [_template("early", "06:00", "14:00", max_extension_min=120)]
    contract = {"max_minutes_total": 960, "max_overtime_min_per_week": 240}
    request = _request([_person("c1", contract=contract)], templates=templates)

    three = [_shift(request, "c1", day, "early") for day in (MON, TUE, WED)]
    two_extended = [
        _shift(request, "c1", d, "early", extension_min=120) for d in (MON, TUE)
    ]

    _assert_only(validate_roster(request, three), "minutes_total")
    _assert_valid(validate_roster(request, two_extended))


def test_minutes_total_minimum_counts_people_without_shifts() -> None:
    """Shows a person below the horizon's minimum is flagged even with no shift."""
    request = _request([_person("c1", contract={"min_minutes_total": 480})])

    report = validate_roster(request, [])

    _assert_only(report, "minutes_total")
    assert report.violations[0].message == (
        "clerk c1: 0 regular minutes over the horizon, allowed at least 480."
    )
    _assert_valid(validate_roster(request, [_shift(request, "c1", MON, "early")]))


def test_minutes_per_week_maximum_named_when_broken() -> None:
    """Shows 1,440 minutes in a week flagged over a 960 maximum."""
    request = _request([_person("c1", contract={"max_minutes_per_week": 960})])

    three = [_shift(request, "c1", day, "early") for day in (MON, TUE, WED)]

    report = validate_roster(request, three)
    _assert_only(report, "minutes_per_week")
    assert "1440 regular minutes in the week of 2024-05-06, at most 960" in (
        report.violations[0].message
    )
    _assert_valid(validate_roster(request, three[:2]))


def test_minutes_per_week_minimum_only_for_whole_weeks() -> None:
    """Shows the weekly minimum binds the whole week, not a partial one."""
    contract = {"min_minutes_per_week": 960}
    whole_week = _request([_person("c1", contract=contract)])
    partial = _request([_person("c1", contract=contract)], start_date=TUE, days=6)

    one = [_shift(whole_week, "c1", WED, "early")]
    two = [
        _shift(whole_week, "c1", WED, "early"),
        _shift(whole_week, "c1", THU, "early"),
    ]

    _assert_only(validate_roster(whole_week, one), "minutes_per_week")
    _assert_valid(validate_roster(whole_week, two))
    _assert_valid(validate_roster(partial, one))


def test_overtime_per_week_rule_named_when_broken() -> None:
    """Shows 120 overtime minutes flagged under a 60 cap, 60 allowed."""
    templates = [_template("early", "06:00", "14:00", max_extension_min=120)]
    request = _request(
        [_person("c1", contract={"max_overtime_min_per_week": 60})], templates=templates
    )

    broken = [_shift(request, "c1", MON, "early", extension_min=120)]
    fixed = [_shift(request, "c1", MON, "early", extension_min=60)]

    _assert_only(validate_roster(request, broken), "overtime_per_week")
    _assert_valid(validate_roster(request, fixed))


def test_max_consecutive_days_rule_named_when_broken() -> None:
    """Shows four working days in a row flagged under a maximum of three."""
    request = _request([_person("c1", contract={"max_consecutive_days": 3})])

    four = [_shift(request, "c1", day, "early") for day in (TUE, WED, THU, FRI)]

    _assert_only(validate_roster(request, four), "max_consecutive_days")
    _assert_valid(validate_roster(request, four[:3]))


def test_max_consecutive_days_counts_history() -> None:
    """Shows days worked before the horizon lengthen a run from its first date."""
    contract = {"max_consecutive_days": 3}
    history = [{"person_id": "c1", "consecutive_days_worked": 1}]
    request = _request([_person("c1", contract=contract)], staff_history=history)

    from_monday = [_shift(request, "c1", day, "early") for day in (MON, TUE, WED)]
    from_tuesday = [_shift(request, "c1", day, "early") for day in (TUE, WED, THU)]

    report = validate_roster(request, from_monday)
    _assert_only(report, "max_consecutive_days")
    assert "4 working days in a row ending 2024-05-08, at most 3" in (
        report.violations[0].message
    )
    _assert_valid(validate_roster(request, from_tuesday))


def test_min_consecutive_days_rule_named_when_broken() -> None:
    """Shows a lone working day inside the horizon flagged under a minimum of two."""
    request = _request([_person("c1", contract={"min_consecutive_days": 2})])

    lone = [_shift(request, "c1", WED, "early")]
    pair = [_shift(request, "c1", WED, "early"), _shift(request, "c1", THU, "early")]

    _assert_only(validate_roster(request, lone), "min_consecutive_days")
    _assert_valid(validate_roster(request, pair))


def test_min_consecutive_days_horizon_ends() -> None:
    """Shows the ends: the last date's run may go on; the first date's uses history."""
    contract = {"min_consecutive_days": 2}
    no_history = _request([_person("c1", contract=contract)])
    history = [{"person_id": "c1", "consecutive_days_worked": 1}]
    with_history = _request([_person("c1", contract=contract)], staff_history=history)
    fresh = [{"person_id": "c1", "consecutive_days_off": 3}]
    rested = _request([_person("c1", contract=contract)], staff_history=fresh)

    last_day = [_shift(no_history, "c1", SUN, "early")]
    first_day = [_shift(no_history, "c1", MON, "early")]

    _assert_valid(validate_roster(no_history, last_day))
    _assert_valid(validate_roster(no_history, first_day))
    _assert_valid(validate_roster(with_history, first_day))  # 1 + 1 = 2
    _assert_only(validate_roster(rested, first_day), "min_consecutive_days")


def test_min_consecutive_days_off_rule_named_when_broken() -> None:
    """Shows a single day off between working days flagged under a minimum of two."""
    request = _request([_person("c1", contract={"min_consecutive_days_off": 2})])

    one_off = [_shift(request, "c1", day, "early") for day in (MON, WED)]
    two_off = [_shift(request, "c1", day, "early") for day in (MON, THU)]

    report = validate_roster(request, one_off)
    _assert_only(report, "min_consecutive_days_off")
    assert "1 days off in a row ending 2024-05-07, at least 2" in (
        report.violations[0].message
    )
    _assert_valid(validate_roster(request, two_off))


def test_min_consecutive_days_off_counts_history() -> None:
    """Shows a day off on the first date is lengthened by days off before it."""
    contract = {"min_consecutive_days_off": 2}
    rested = _request(
        [_person("c1", contract=contract)],
        staff_history=[{"person_id": "c1", "consecutive_days_off": 1}],
    )
    worked = _request(
        [_person("c1", contract=contract)],
        staff_history=[{"person_id": "c1", "consecutive_days_worked": 2}],
    )

    from_tuesday = [_shift(rested, "c1", TUE, "early")]

    _assert_valid(validate_roster(rested, from_tuesday))
    _assert_only(validate_roster(worked, from_tuesday), "min_consecutive_days_off")


def test_max_working_weekends_rule_named_when_broken() -> None:
    """Shows two worked weekends flagged under a maximum of one, history included."""
    contract = {"max_working_weekends": 1}
    request = _request([_person("c1", contract=contract)], days=14)
    history = [{"person_id": "c1", "working_weekends": 1}]
    used_up = _request(
        [_person("c1", contract=contract)], days=14, staff_history=history
    )

    two = [
        _shift(request, "c1", SAT, "early"),
        _shift(request, "c1", "2024-05-19", "early"),
    ]
    one = [_shift(request, "c1", SAT, "early"), _shift(request, "c1", SUN, "early")]

    _assert_only(validate_roster(request, two), "max_working_weekends")
    _assert_valid(validate_roster(request, one))
    _assert_only(validate_roster(used_up, one), "max_working_weekends")


@pytest.mark.parametrize(
    ("person", "post", "holds"),
    [
        (_person("c1"), "clerk", True),
        (_person("c1"), "broker", False),
        (_person("c1", skills=["compliance"]), "compliance", True),
        (_person("c1"), "compliance", False),
        (_broker("b1"), "broker", True),
        (
            _broker("b1", licences=[{"jurisdiction": "DE", "regimes": ["import"]}]),
            "regime:import",
            True,
        ),
        (
            _broker("b1", licences=[{"jurisdiction": "DE", "regimes": ["import"]}]),
            "regime:export",
            False,
        ),
        (_broker("b1"), "commodity:pharma", True),  # no commodities listed: all
        (
            _broker("b1", licences=[{"jurisdiction": "DE", "commodities": ["food"]}]),
            "commodity:pharma",
            False,
        ),
        (_person("c1"), "regime:import", False),  # regime posts are for brokers
    ],
)
def test_post_rule_named_when_broken(
    person: dict[str, Any], post: str, holds: bool
) -> None:
    """Shows [post] named exactly when the person does not hold the post."""
    request = _request([person])

    report = validate_roster(
        request, [_shift(request, person["id"], MON, "early", post)]
    )

    if holds:
        _assert_valid(report)
    else:
        _assert_only(report, "post")


def test_licence_rule_named_when_broken() -> None:
    """Shows a broker working the day after the licence expires flagged."""
    licences = [{"jurisdiction": "DE", "expires": TUE}, {"jurisdiction": "HK"}]
    request = _request([_broker("b1", skills=["compliance"], licences=licences)])

    after = [_shift(request, "b1", WED, "early", post="compliance")]
    last_valid_day = [_shift(request, "b1", TUE, "early", post="compliance")]

    _assert_only(validate_roster(request, after), "licence")
    _assert_valid(validate_roster(request, last_valid_day))


def test_leave_rule_named_when_broken() -> None:
    """Shows leave on Wednesday catches a shift into it, not one ending at 00:00."""
    templates = [_template("to2", "18:00", "02:00"), _template("to0", "16:00", "00:00")]
    request = _request(
        [_person("c1", leave=[{"first_date": WED, "last_date": WED}])],
        templates=templates,
    )

    report = validate_roster(request, [_shift(request, "c1", TUE, "to2")])
    _assert_only(report, "leave")
    assert "by 120 min" in report.violations[0].message
    _assert_valid(validate_roster(request, [_shift(request, "c1", TUE, "to0")]))


def test_leave_interval_rule_named_when_broken() -> None:
    """Shows leave given as an interval is checked in real time, end exclusive."""
    leave = [{"start": "2024-05-06T13:00:00+02:00", "end": "2024-05-06T14:00:00+02:00"}]
    request = _request([_person("c1", leave=leave)])

    _assert_only(
        validate_roster(request, [_shift(request, "c1", MON, "early")]), "leave"
    )
    _assert_valid(validate_roster(request, [_shift(request, "c1", MON, "late")]))


def _unavailable_wednesday(policy: str, weight: int = 50) -> Request:
    """C-09: a clerk unavailable all of Wednesday, under a given policy."""
    templates = [_template("to2", "18:00", "02:00"), _template("to0", "16:00", "00:00")]
    wednesday = {
        "start": "2024-05-08T00:00:00+02:00",
        "end": "2024-05-09T00:00:00+02:00",
    }
    settings = {
        "policies": {"unavailability": policy},
        "weights": {"unavailability": weight},
    }
    return _request(
        [_person("c1", unavailability=[wednesday])],
        templates=templates,
        settings=settings,
    )


def test_unavailability_hard_c09() -> None:
    """Shows C-09 hard: Tue 18:00-Wed 02:00 flagged, Tue 16:00-Wed 00:00 allowed."""
    request = _unavailable_wednesday("hard")

    report = validate_roster(request, [_shift(request, "c1", TUE, "to2")])
    _assert_only(report, "unavailability")
    assert report.violations[0].subject == "c1:2024-05-07:to2"
    assert report.objective.terms["unavailability"] == 0
    _assert_valid(validate_roster(request, [_shift(request, "c1", TUE, "to0")]))


def test_unavailability_soft_c09_penalises_overlap_minutes() -> None:
    """Shows C-09 soft: 120 overlapping minutes times the weight, not 480."""
    request = _unavailable_wednesday("soft", weight=3)

    overlapping = validate_roster(request, [_shift(request, "c1", TUE, "to2")])
    touching = validate_roster(request, [_shift(request, "c1", TUE, "to0")])

    _assert_valid(overlapping)
    assert overlapping.objective.terms["unavailability"] == 120 * 3
    assert touching.objective.terms["unavailability"] == 0


def test_call_in_rule_named_when_broken() -> None:
    """Shows call-in marks must match on-call status and respect the notice."""
    on_call = {"call_in_cost_cents": 0, "notice_min": 720}
    request = _request(
        [_person("c1"), _person("oc", on_call=on_call)],
        settings={"planned_at": "2024-05-05T20:00:00+02:00"},
    )

    unmarked = [_shift(request, "oc", MON, "late", call_in=False)]
    not_on_call = [_shift(request, "c1", MON, "late", call_in=True)]
    short_notice = [_shift(request, "oc", MON, "early")]  # 10 h after planning
    enough_notice = [_shift(request, "oc", MON, "late")]  # 18 h after planning

    _assert_only(validate_roster(request, unmarked), "call_in")
    _assert_only(validate_roster(request, not_on_call), "call_in")
    report = validate_roster(request, short_notice)
    _assert_only(report, "call_in")
    assert "starts 600 min after the plan is made, notice at least 720 min" in (
        report.violations[0].message
    )
    _assert_valid(validate_roster(request, enough_notice))


def test_fixed_roster_rule_named_when_broken() -> None:
    """Shows moving a fixed shift's post is flagged; the same roster passes."""
    staff = [_person("c1", skills=["compliance"])]
    fixed = [{"person_id": "c1", "date": MON, "template_id": "early", "post": "clerk"}]
    request = _request(staff, roster=fixed)

    moved = [_shift(request, "c1", MON, "early", post="compliance")]
    kept = [_shift(request, "c1", MON, "early", post="clerk")]

    report = validate_roster(request, moved)
    _assert_only(report, "fixed_roster")
    assert len(report.violations) == 2  # one missing, one extra
    _assert_valid(validate_roster(request, kept))


def test_shift_id_rule_named_when_broken() -> None:
    """Shows a wrong id or instant flagged, and the recomputed ones accepted."""
    templates = [
        _template("day", "08:00", "16:30", break_start_local="12:00", break_min=30)
    ]
    request = _request([_person("c1")], templates=templates)
    real = instance(request.template("day"), date(2024, 5, 6), "Europe/Berlin")
    right: dict[str, Any] = {
        "start": real.start,
        "end": real.end,
        "break_start": real.break_start,
        "break_end": real.break_end,
        "worked_min": 480,
        "paid_min": 480,
        "cost_cents": 0,
    }

    wrong_id = _shift(request, "c1", MON, "day", id="c1:2024-05-07:day")
    wrong_end = _shift(
        request, "c1", MON, "day", **{**right, "end": "2024-05-06T16:30:00+00:00"}
    )
    wrong_worked = _shift(request, "c1", MON, "day", **{**right, "worked_min": 510})

    for shift in (wrong_id, wrong_end, wrong_worked):
        _assert_only(validate_roster(request, [shift]), "shift_id")
    _assert_valid(
        validate_roster(request, [_shift(request, "c1", MON, "day", **right)])
    )


# --------------------------------------------------------------------------
# Time: night shifts, DST, end-of-day (C-07, C-10, issue 2)


def test_shift_id_instants_in_the_repeated_hour_match() -> None:
    """Shows a shift starting 02:30 on the fall-back night matches its +02:00 text."""
    request = _request(
        [_person("c1")],
        templates=[_template("small", "02:30", "06:00")],
        start_date="2024-10-27",
        days=1,
    )
    first_0230 = _shift(
        request, "c1", "2024-10-27", "small", start="2024-10-27T02:30:00+02:00"
    )
    second_0230 = _shift(
        request, "c1", "2024-10-27", "small", start="2024-10-27T02:30:00+01:00"
    )

    _assert_valid(validate_roster(request, [first_0230]))
    _assert_only(validate_roster(request, [second_0230]), "shift_id")


def test_night_shift_c07_lasts_8_h_and_is_on_duty_after_midnight() -> None:
    """Shows C-07: a 22:00-06:00 shift of 7 May lasts 8 h and is on duty at 01:30."""
    templates = [
        _template("night", "22:00", "06:00"),
        _template("eve", "18:00", "22:00"),
    ]
    request = _request([_person("A"), _person("B")], templates=templates)
    night = _shift(request, "A", TUE, "night")
    evening = _shift(request, "A", WED, "eve")

    report = validate_roster(request, [night, evening])

    _assert_valid(report)  # rest 12 h, and no double booking on 8 May
    assert report.worked_min_by_person == {"A": 480 + 240, "B": 0}
    at_0130 = datetime.fromisoformat("2024-05-08T01:30:00+02:00")
    assert on_duty(request, [night, evening], at_0130) == ["A"]
    at_0600 = datetime.fromisoformat("2024-05-08T06:00:00+02:00")
    assert on_duty(request, [night, evening], at_0600) == []
    at_2130_utc = datetime.fromisoformat("2024-05-08T19:30:00+00:00")
    assert on_duty(request, [night, evening], at_2130_utc) == ["A"]


def test_night_shift_counts_on_its_start_date() -> None:
    """Shows a night shift is one shift of its start date for day rules."""
    request = _request([_person("c1", contract={"max_consecutive_days": 2})])

    # Night Tuesday (into Wednesday) and early Tuesday 06:00-14:00: same date.
    same_date = [
        _shift(request, "c1", TUE, "early"),
        _shift(request, "c1", TUE, "night"),
    ]
    # Nights Monday and Tuesday fall on three local dates but start on two.
    two_nights = [
        _shift(request, "c1", MON, "night"),
        _shift(request, "c1", TUE, "night"),
    ]
    three_nights = two_nights + [_shift(request, "c1", WED, "night")]

    assert "one_shift_per_day" in _rules(validate_roster(request, same_date))
    _assert_valid(validate_roster(request, two_nights))
    _assert_only(validate_roster(request, three_nights), "max_consecutive_days")


@pytest.mark.parametrize(
    ("day", "worked_min"), [("2024-03-30", 420), ("2024-10-26", 540)]
)
def test_night_shift_over_dst_lasts_7_or_9_h(day: str, worked_min: int) -> None:
    """Shows Berlin 22:00-06:00 lasts 7 h into summer time, 9 h out (weekly cap)."""
    within = _request(
        [_person("c1", contract={"max_minutes_per_week": worked_min})],
        start_date=day,
        days=2,
    )
    below = _request(
        [_person("c1", contract={"max_minutes_per_week": worked_min - 1})],
        start_date=day,
        days=2,
    )

    report = validate_roster(within, [_shift(within, "c1", day, "night")])

    _assert_valid(report)
    assert report.worked_min_by_person == {"c1": worked_min}
    _assert_only(
        validate_roster(below, [_shift(below, "c1", day, "night")]), "minutes_per_week"
    )


def test_night_shift_minutes_split_over_weeks() -> None:
    """Shows a Sunday night's minutes count 120 in its week and 360 in the next."""

    def request(history_min: int) -> Request:
        return _request(
            [_person("c1", contract={"max_minutes_per_week": 360})],
            start_date="2024-03-25",
            days=14,
            staff_history=[
                {"person_id": "c1", "minutes_worked_this_week": history_min}
            ],
        )

    fits = request(240)  # 240 + 120 = 360 in the week of 25 March
    over = request(241)

    _assert_valid(validate_roster(fits, [_shift(fits, "c1", "2024-03-31", "night")]))
    report = validate_roster(over, [_shift(over, "c1", "2024-03-31", "night")])
    _assert_only(report, "minutes_per_week")
    assert (
        "361 regular minutes in the week of 2024-03-25" in report.violations[0].message
    )


def test_weekday_template_c10_toronto_after_fall_back() -> None:
    """Shows C-10: Mon-Fri 08:00-16:00 in Toronto lands on 4-8 Nov, not Saturday."""
    templates = [
        _template("day", "08:00", "16:00", weekdays=["mon", "tue", "wed", "thu", "fri"])
    ]
    request = _request(
        [_person("c1", contract={"max_consecutive_days": 7})],
        templates=templates,
        start_date="2024-11-04",
        timezone="America/Toronto",
    )
    week = [
        _shift(
            request,
            "c1",
            f"2024-11-0{d}",
            "day",
            start=f"2024-11-0{d}T08:00:00-05:00",
            end=f"2024-11-0{d}T16:00:00-05:00",
        )
        for d in range(4, 9)
    ]

    _assert_valid(validate_roster(request, week))
    saturday = _shift(request, "c1", "2024-11-09", "day")
    report = validate_roster(request, [saturday])
    _assert_only(report, "template")
    assert "does not run on Saturday" in report.violations[0].message


# --------------------------------------------------------------------------
# Objective terms worked out by hand


def test_cover_under_and_over_with_requirement_weights() -> None:
    """Shows under- and over-cover per requirement, own weights first, one post each."""
    templates = [
        _template("early", "06:00", "14:00", max_extension_min=60),
        _template("late", "14:00", "22:00"),
    ]
    staff = [
        _person("c1", contract={"max_overtime_min_per_week": 60}),
        _person("c2"),
        _person("c3", skills=["compliance"]),
    ]
    cover = [
        # c1 06:00-15:00 holds it, c2 does not: 1 missing x 7
        {"skill": "clerk", "persons": 2, "weight_under": 7,
         "start": "2024-05-06T08:00:00+02:00", "end": "2024-05-06T10:00:00+02:00"},
        # late ends at 22:00: 1 missing x default 10,000
        {"skill": "clerk", "persons": 1,
         "start": "2024-05-06T21:30:00+02:00", "end": "2024-05-06T22:30:00+02:00"},
        # c3 on the compliance post: 1 surplus x 3
        {"skill": "compliance", "persons": 0, "weight_over": 3,
         "date": MON, "template_id": "early"},
        # c2 on the late slot: exactly met
        {"skill": "clerk", "persons": 1, "date": MON, "template_id": "late"},
        # only c1 counts (c3 fills compliance): 1 surplus x default 100
        {"skill": "clerk", "persons": 0,
         "start": "2024-05-06T09:00:00+02:00", "end": "2024-05-06T09:30:00+02:00"},
        # c1's extension and c2's late both hold 14:00-15:00: met
        {"skill": "clerk", "persons": 2,
         "start": "2024-05-06T14:00:00+02:00", "end": "2024-05-06T15:00:00+02:00"},
    ]  # fmt: skip
    settings = {"weights": {"fairness": 0}}
    request = _request(staff, templates, cover_requirements=cover, settings=settings)
    roster = [
        _shift(request, "c1", MON, "early", extension_min=60),
        _shift(request, "c2", MON, "late"),
        _shift(request, "c3", MON, "early", post="compliance"),
    ]

    report = validate_roster(request, roster)

    _assert_valid(report)
    assert [row.planned for row in report.coverage] == [1, 0, 1, 1, 1, 2]
    assert [row.required for row in report.coverage] == [2, 1, 0, 1, 0, 2]
    slot = report.coverage[2]
    assert (slot.start, slot.end) == (
        datetime.fromisoformat("2024-05-06T06:00:00+02:00"),
        datetime.fromisoformat("2024-05-06T14:00:00+02:00"),
    )
    assert report.objective.terms["undercover"] == 7 + 10_000
    assert report.objective.terms["overcover"] == 3 + 100
    assert report.objective.total == 10_110


def test_cost_with_paid_break_floored_per_shift() -> None:
    """Shows 510 paid minutes at 10.01/h cost 8,508 cents a shift (8,508.5 floored)."""
    templates = [
        _template(
            "day", "08:00", "16:30", break_start_local="12:00", break_min=30,
            break_paid=True,
        )
    ]  # fmt: skip
    request = _request(
        [_person("c1", contract={"hourly_cost_cents": 1001})],
        templates,
        settings={"weights": {"cost": 2}},
    )
    roster = [
        _shift(request, "c1", MON, "day", cost_cents=8508),
        _shift(request, "c1", TUE, "day", cost_cents=8508),
    ]

    report = validate_roster(request, roster)

    _assert_valid(report)
    assert report.objective.terms["cost"] == 2 * (8508 + 8508)  # not 2 * 17,017
    assert report.worked_min_by_person == {"c1": 960}


def test_cost_overtime_at_150_pct_and_call_in() -> None:
    """Shows 480 min + 60 min overtime at 150 % of 10.01/h plus a 50.00 call-in."""
    templates = [_template("day", "08:00", "16:00", max_extension_min=120)]
    person = _person(
        "oc",
        contract={
            "hourly_cost_cents": 1001,
            "overtime_rate_pct": 150,
            "max_overtime_min_per_week": 120,
        },
        on_call={"call_in_cost_cents": 5000},
    )
    request = _request([person], templates)

    report = validate_roster(
        request, [_shift(request, "oc", MON, "day", extension_min=60)]
    )

    _assert_valid(report)
    # (480 * 1001 * 100 + 60 * 1001 * 150) // 6000 = 57,057,000 // 6000 = 9509
    assert report.objective.terms["cost"] == 9509 + 5000
    assert report.worked_min_by_person == {"oc": 540}


def test_requests_on_and_off_with_and_without_template() -> None:
    """Shows which shift requests are unmet and their weights summed."""
    wishes = [
        {"date": MON, "template_id": "early", "kind": "on", "weight": 3},  # works late
        {"date": TUE, "kind": "on", "weight": 5},  # works late: met
        {"date": WED, "kind": "off", "weight": 7},  # works late: unmet
        {"date": THU, "template_id": "early", "kind": "off", "weight": 11},  # met
        {"date": FRI, "kind": "on", "weight": 13},  # no shift: unmet
    ]
    request = _request([_person("c1", shift_requests=wishes)])
    roster = [_shift(request, "c1", day, "late") for day in (MON, TUE, WED, THU)]

    report = validate_roster(request, roster)

    _assert_valid(report)
    assert report.objective.terms["requests"] == 500 * (3 + 7 + 13)
    assert report.objective.total == 11_500


def test_fairness_spread_among_equally_qualified() -> None:
    """Shows the spread of worked minutes per group of equally qualified people."""
    templates = [_template("early", "06:00", "14:00", max_extension_min=60)]
    overtime = {"max_overtime_min_per_week": 60}
    general = [{"jurisdiction": "DE"}]
    every_regime = [
        {"jurisdiction": "DE", "regimes": ["import", "export", "transit", "bonded"]}
    ]
    plus_food = [*general, {"jurisdiction": "DE", "regimes": ["import"],
                            "commodities": ["food"]}]  # fmt: skip
    staff = [
        _person("c1", skills=["compliance"], contract=overtime),  # 480 + 60 + 480
        _person("c2", skills=["compliance"]),  # 480
        _person("c3", skills=["compliance"]),  # 0
        _person("c4"),  # alone: other skills
        _person("c5", skills=["compliance"], on_call={}),  # on call: in no group
        _broker("b1", licences=general),  # 480
        _broker("b2", licences=every_regime),  # 0
        _broker("b3", licences=plus_food),  # 960: food adds nothing to "all"
        _broker("b4", licences=[{"jurisdiction": "DE", "regimes": ["import"]}]),
    ]
    request = _request(staff, templates)
    roster = [
        _shift(request, "c1", MON, "early", extension_min=60),
        _shift(request, "c1", TUE, "early"),
        _shift(request, "c2", MON, "early"),
        _shift(request, "c4", MON, "early"),
        _shift(request, "c5", MON, "early"),
        _shift(request, "c5", TUE, "early"),
        _shift(request, "b1", MON, "early"),
        _shift(request, "b3", MON, "early"),
        _shift(request, "b3", TUE, "early"),
        _shift(request, "b4", MON, "early"),
    ]

    report = validate_roster(request, roster)

    _assert_valid(report)
    assert report.worked_min_by_person["c1"] == 1020
    assert report.objective.terms["fairness"] == 5 * ((1020 - 0) + (960 - 0))
    assert report.objective.total == 9900


def test_objective_holds_every_term() -> None:
    """Shows an empty roster reports every term, roster-only terms at 0."""
    request = _request([_person("c1")])

    report = validate_roster(request, [])

    assert set(report.objective.terms) == set(OBJECTIVE_TERMS)
    assert report.objective.total == 0
    assert report.worked_min_by_person == {"c1": 0}


# --------------------------------------------------------------------------
# A plan's own figures


def _plan(request: Request, roster: list[RosterShift], report: RosterReport) -> Plan:
    return Plan(
        plan_id="p1",
        request=request,
        status="feasible",
        objective=report.objective,
        roster=roster,
        coverage=report.coverage,
        provenance=Provenance(
            solver="test", solver_version="0", clearplan_version="0", input_hash="x"
        ),
    )


def test_validate_roster_plan_flags_reported_figures() -> None:
    """Shows a plan passes with its own figures and is flagged when they differ."""
    cover = [{"skill": "clerk", "persons": 2, "date": MON, "template_id": "early"}]
    request = _request([_person("c1")], cover_requirements=cover)
    roster = [_shift(request, "c1", MON, "early")]
    plan = _plan(request, roster, validate_roster(request, roster))

    _assert_valid(validate_roster_plan(plan))

    terms = {**plan.objective.terms, "undercover": 0}
    wrong_term = plan.model_copy(update={"objective": Objective(total=0, terms=terms)})
    report = validate_roster_plan(wrong_term)
    assert {(v.rule, v.subject) for v in report.violations} == {
        ("objective_mismatch", "total"),
        ("objective_mismatch", "undercover"),
    }

    missing = {k: v for k, v in plan.objective.terms.items() if k != "stability"}
    no_key = plan.model_copy(
        update={"objective": Objective(total=plan.objective.total, terms=missing)}
    )
    _assert_only(validate_roster_plan(no_key), "objective_mismatch")

    rows = [plan.coverage[0].model_copy(update={"planned": 2})]
    wrong_row = plan.model_copy(update={"coverage": rows})
    _assert_only(validate_roster_plan(wrong_row), "coverage_mismatch")
    _assert_only(
        validate_roster_plan(plan.model_copy(update={"coverage": []})),
        "coverage_mismatch",
    )


# --------------------------------------------------------------------------
# Invariants over random rosters, and size


def _varied_request(policy: str, fixed: bool) -> Request:
    """A small request touching every rule: DST week, leave, history, on call."""
    templates = [
        _template("early", "06:00", "14:30", break_start_local="10:00", break_min=30,
                  max_extension_min=120, forbidden_successors=["night"]),
        _template("night", "22:00", "06:00", break_paid=True, break_min=30,
                  break_start_local="02:00", weekdays=["fri", "sat", "sun"]),
        _template("odd", "06:00", "08:00", break_start_local="09:00", break_min=30),
    ]  # fmt: skip
    contract = {
        "max_consecutive_days": 2, "min_consecutive_days": 2,
        "min_consecutive_days_off": 2, "max_working_weekends": 0,
        "max_minutes_per_week": 900, "min_minutes_per_week": 100,
        "max_shifts_per_template": {"night": 1}, "hourly_cost_cents": 1999,
        "max_overtime_min_per_week": 60, "min_minutes_total": 60,
    }  # fmt: skip
    staff = [
        _person("c1", contract=contract, skills=["compliance"],
                leave=[{"first_date": "2024-10-23", "last_date": "2024-10-23"}],
                unavailability=[{"start": "2024-10-26T23:00:00+02:00",
                                 "end": "2024-10-27T04:00:00+01:00"}],
                shift_requests=[{"date": "2024-10-26", "kind": "on", "weight": 2}]),
        _broker("b1", licences=[{"jurisdiction": "DE", "regimes": ["import"],
                                 "expires": "2024-10-24"}]),
        _person("oc", on_call={"call_in_cost_cents": 900, "notice_min": 600}),
        _person("c2", skills=["compliance"]),
    ]  # fmt: skip
    cover = [
        {"skill": "clerk", "persons": 1, "weight_under": 3,
         "start": "2024-10-27T01:00:00+02:00", "end": "2024-10-27T03:00:00+01:00"},
        {"skill": "compliance", "persons": 2, "date": "2024-10-25",
         "template_id": "night"},
        {"skill": "broker", "persons": 0,
         "start": "2024-10-22T07:00:00+02:00", "end": "2024-10-22T08:00:00+02:00"},
    ]  # fmt: skip
    roster = [{"person_id": "c2", "date": "2024-10-22", "template_id": "early",
               "post": "clerk"}]  # fmt: skip
    return _request(
        staff,
        templates,
        start_date="2024-10-21",
        days=7,
        cover_requirements=cover,
        staff_history=[
            {
                "person_id": "c1",
                "consecutive_days_worked": 1,
                "last_shift_end": "2024-10-20T23:00:00+02:00",
                "minutes_worked_this_week": 300,
            }
        ],  # fmt: skip
        roster=roster if fixed else None,
        settings={
            "policies": {"unavailability": policy},
            "planned_at": "2024-10-21T00:00:00+02:00",
        },  # fmt: skip
    )


def _lenient_request() -> Request:
    """The same people and templates under default contracts: rosters can pass."""
    varied = _varied_request("hard", False)
    staff = [
        _person("c1", skills=["compliance"]),
        _broker("b1"),
        _person("oc", on_call={}),
        _person("c2", skills=["compliance"]),
    ]
    templates = [template.model_dump() for template in varied.shift_templates]
    return _request(staff, templates, start_date="2024-10-21", days=7)


_REQUESTS = [
    _varied_request("hard", False),
    _varied_request("soft", True),
    _lenient_request(),
]
_NAMES = [person.name for person in _REQUESTS[0].staff]


@st.composite
def _random_shift(draw: st.DrawFn) -> RosterShift:
    person_id = draw(st.sampled_from(["c1", "b1", "oc", "c2", "ghost"]))
    template_id = draw(st.sampled_from(["early", "night", "odd", "gone"]))
    day = date(2024, 10, 19) + timedelta(days=draw(st.integers(0, 11)))
    label = f"{person_id}:{day.isoformat()}:{template_id}"
    written = draw(st.sampled_from([None, "2024-10-21T06:00:00+02:00"]))
    return RosterShift(
        id=draw(st.sampled_from([None, label, "c1:2024-10-21:early"])),
        person_id=person_id,
        date=day,
        template_id=template_id,
        post=draw(st.sampled_from(["clerk", "broker", "compliance", "regime:import"])),
        extension_min=draw(st.sampled_from([0, 30, 60, 120, 240])),
        call_in=draw(st.booleans()),
        needs_approval=draw(st.booleans()),
        start=None if written is None else datetime.fromisoformat(written),
        worked_min=draw(st.sampled_from([None, 480, 510])),
        cost_cents=draw(st.sampled_from([None, 0, 15_000])),
    )


@settings(max_examples=50, deadline=None)
@given(
    request_index=st.integers(0, len(_REQUESTS) - 1),
    roster=st.lists(_random_shift(), max_size=12),
)
def test_validator_never_raises_and_valid_iff_no_violations(
    request_index: int, roster: list[RosterShift]
) -> None:
    """Shows, for random small rosters, a full report with no error and no names."""
    request = _REQUESTS[request_index]

    report = validate_roster(request, roster)

    assert report.valid == (report.violations == [])
    assert set(report.objective.terms) == set(OBJECTIVE_TERMS)
    assert report.objective.total == sum(report.objective.terms.values())
    assert all(value >= 0 for value in report.objective.terms.values())
    assert len(report.coverage) == len(request.cover_requirements)
    assert set(report.worked_min_by_person) == {"c1", "b1", "oc", "c2"}
    for violation in report.violations:
        assert violation.rule in _RULE_IDS
        assert not any(name in violation.message for name in _NAMES)
    # A report on the same roster is the same report: nothing hidden in order.
    assert validate_roster(request, roster) == report


_RULE_IDS = {
    "template", "unknown_person", "one_shift_per_day", "min_rest",
    "forbidden_succession", "max_shifts_per_template", "minutes_total",
    "minutes_per_week", "overtime_per_week", "max_consecutive_days",
    "min_consecutive_days", "min_consecutive_days_off", "max_working_weekends",
    "post", "licence", "leave", "unavailability", "call_in", "fixed_roster",
    "shift_id",
}  # fmt: skip


def _site_of_300(days: int = 14) -> tuple[Request, list[RosterShift]]:
    """300 staff over 14 days, cover per 30 min for three skills, 3,000 shifts."""
    start = date(2024, 10, 21)  # the fall-back night falls inside
    templates = [
        _template("early", "06:00", "14:30", break_start_local="10:00", break_min=30),
        _template("late", "14:00", "22:30", break_start_local="18:00", break_min=30),
        _template("night", "22:00", "06:30", break_start_local="02:00", break_min=30),
    ]
    staff = [
        _broker(f"p{i}") if i % 3 == 0 else _person(f"p{i}", skills=["compliance"])
        for i in range(300)
    ]
    cover = []
    for day in range(days):
        # In UTC: zoneinfo instants compare by wall clock on the fall-back night.
        moment = to_utc(local_midnight(start + timedelta(days=day), "Europe/Berlin"))
        day_end = to_utc(
            local_midnight(start + timedelta(days=day + 1), "Europe/Berlin")
        )
        while moment < day_end:
            end = add_minutes(moment, 30)
            for skill in ("clerk", "broker", "compliance"):
                cover.append(
                    {"skill": skill, "persons": 30, "start": moment, "end": end}
                )
            moment = end
    request = _request(
        staff, templates, start_date=start.isoformat(), days=days,
        cover_requirements=cover,
    )  # fmt: skip
    roster = []
    for number, person in enumerate(request.staff):
        template_id = ("early", "late", "night")[number % 3]
        post = "compliance" if person.skills and number % 4 == 0 else person.role.value
        for day in range(days):
            if (day + number) % 7 not in (5, 6):
                shift_date = (start + timedelta(days=day)).isoformat()
                roster.append(_shift(request, person.id, shift_date, template_id, post))
    return request, roster


def test_validator_handles_a_site_of_300_in_seconds() -> None:
    """Shows 300 staff x 14 days x 30-min cover validated well within seconds."""
    request, roster = _site_of_300()

    began = time.perf_counter()
    report = validate_roster(request, roster)
    elapsed_s = time.perf_counter() - began

    assert elapsed_s < 10.0  # about 0.5 s measured on one busy core
    _assert_valid(report)
    # 14 days of 48 half hours, and the fall-back day has two more.
    assert len(report.coverage) == 3 * (14 * 48 + 2)
    # p0 is a broker on early shifts, working 10 of 14 days, 480 min each.
    assert report.worked_min_by_person["p0"] == 4800
    # p2 works nights; the one of Sat 26 Oct lasts an hour longer.
    assert report.worked_min_by_person["p2"] == 10 * 480 + 60
