"""The independent roster validator: a second reading of the roster rules.

Every hard rule and every objective term of ``docs/roster-rules.md`` is
re-derived here from the request and the roster alone, one function per
rule, in the order of that page. Nothing comes from ``solver/`` or from the
roster engine: only the formats (``scheduler.models``), the time arithmetic
(``scheduler.sitetime``, ``scheduler.shifts``) and the cover requirements
(``scheduler.demand``) are shared.

A bad roster never raises. A shift whose person or template is unknown, or
whose instants cannot be computed, is reported (rules ``unknown_person`` and
``template``) and left out of every other rule and term, since nothing else
about it can be read.

Readings this module makes where the rules page leaves a choice:

- a person-level rule (minutes, runs of days, weekends) names the person id
  as the violation's subject; a shift-level rule names the shift id;
- runs of working days and days off are read over the horizon's dates only,
  so a run that ended just before the horizon is the history's concern;
- rule ``shift_id`` also checks the derived numbers a shift may carry
  (``worked_min``, ``paid_min``, ``cost_cents``), each only when written;
- a request's ``roster`` fixes the roster whenever it is not ``None``, so an
  empty list fixes an empty roster;
- for fairness, a licence listing no commodities covers every commodity of
  its regimes, and a specific commodity it already covers adds nothing.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from scheduler import demand
from scheduler.models import (
    CoverageRow,
    CoverRequirement,
    DateRange,
    Interval,
    Licence,
    Objective,
    Person,
    Plan,
    Regime,
    Request,
    Role,
    RosterShift,
    ShiftTemplate,
    StaffHistory,
)
from scheduler.shifts import ShiftInstance, extension_options, instance, runs_on
from scheduler.sitetime import (
    local_midnight,
    minutes_between,
    overlap_minutes,
    split_by_local_day,
    to_utc,
    week_start,
    zone,
)

logger = logging.getLogger(__name__)

OBJECTIVE_TERMS: tuple[str, ...] = (
    "unscheduled",
    "lateness",
    "undercover",
    "overcover",
    "cost",
    "requests",
    "unavailability",
    "fairness",
    "stability",
)

# Day names for messages, independent of the machine's locale.
_WEEKDAY_NAMES = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)

# A licence listing no commodities covers them all; this stands for "all".
_ANY_COMMODITY = "*"


@dataclass(frozen=True)
class Violation:
    """One broken hard rule.

    Parameters
    ----------
    rule
        The rule id in brackets in ``docs/roster-rules.md``, or
        ``unknown_person``, ``objective_mismatch``, ``coverage_mismatch``.
    subject
        The person id or shift id the violation concerns.
    message
        One sentence a dispatcher can act on, with ids and never names.
    """

    rule: str
    subject: str
    message: str


@dataclass(frozen=True)
class RosterReport:
    """What the validator found about a roster.

    Parameters
    ----------
    valid
        True exactly when ``violations`` is empty.
    violations
        Every broken rule, grouped in the order of the rules page.
    objective
        The recomputed objective; ``terms`` holds every term key.
    coverage
        One row per cover requirement, request order then derived order.
    worked_min_by_person
        Worked minutes (regular and overtime) of every person on the staff.
    """

    valid: bool
    violations: list[Violation]
    objective: Objective
    coverage: list[CoverageRow]
    worked_min_by_person: dict[str, int]


@dataclass(frozen=True)
class _Placed:
    """A roster shift whose person and template are known, made real."""

    index: int
    shift: RosterShift
    person: Person
    template: ShiftTemplate
    real: ShiftInstance  # extension included
    regular: ShiftInstance  # the same shift without its extension

    @property
    def label(self) -> str:
        """The shift id this shift should carry."""
        return f"{self.person.id}:{self.shift.date.isoformat()}:{self.template.id}"


@dataclass
class _Context:
    """The request read once, and the roster's shifts made real."""

    request: Request
    roster: list[RosterShift]
    tz: str
    people: dict[str, Person]
    templates: dict[str, ShiftTemplate]
    history: dict[str, StaffHistory]
    dates: list[date]
    placed: list[_Placed] = field(default_factory=list)
    unplaceable: dict[int, str] = field(default_factory=dict)
    by_person: dict[str, list[_Placed]] = field(default_factory=dict)

    @property
    def first_date(self) -> date:
        return self.dates[0]

    @property
    def last_date(self) -> date:
        return self.dates[-1]


# --------------------------------------------------------------------------
# Entry points


def validate_roster(request: Request, roster: list[RosterShift]) -> RosterReport:
    """Check every hard rule and recompute every objective term of a roster.

    Parameters
    ----------
    request
        The request the roster answers.
    roster
        The shifts to check, as a plan holds them or as a caller sends them.

    Returns
    -------
    RosterReport
        Violations in the order of the rules page, the objective, the
        coverage table and worked minutes per person.
    """
    context = _place_shifts(request, roster)

    violations: list[Violation] = []
    for check in _HARD_RULES:
        violations.extend(check(context))

    coverage = _coverage(context)
    objective = _objective(context, coverage)
    worked = {
        person_id: sum(placed.real.worked_min for placed in shifts)
        for person_id, shifts in context.by_person.items()
    }

    logger.debug(
        "roster validator: request %s, %d shifts, %d violations, objective %d",
        request.request_id,
        len(roster),
        len(violations),
        objective.total,
    )
    return RosterReport(
        valid=not violations,
        violations=violations,
        objective=objective,
        coverage=[row for _, row in coverage],
        worked_min_by_person=worked,
    )


def validate_roster_plan(plan: Plan) -> RosterReport:
    """Validate a plan's roster against its request and its reported results.

    Besides the hard rules, flags ``objective_mismatch`` when the plan's
    objective (total or any term) differs from the recomputed one and
    ``coverage_mismatch`` when its coverage rows differ.

    Parameters
    ----------
    plan
        A plan holding a roster.

    Returns
    -------
    RosterReport
        The report of :func:`validate_roster` with the mismatches added.
    """
    report = validate_roster(plan.request, plan.roster)

    violations = list(report.violations)
    violations.extend(_objective_mismatches(plan.objective, report.objective))
    violations.extend(_coverage_mismatches(plan.coverage, report.coverage))

    return RosterReport(
        valid=not violations,
        violations=violations,
        objective=report.objective,
        coverage=report.coverage,
        worked_min_by_person=report.worked_min_by_person,
    )


# --------------------------------------------------------------------------
# Placing the shifts in real time


def _place_shifts(request: Request, roster: list[RosterShift]) -> _Context:
    """Read the request once and make every readable shift real."""
    context = _Context(
        request=request,
        roster=roster,
        tz=request.site.timezone,
        people={person.id: person for person in request.staff},
        templates={template.id: template for template in request.shift_templates},
        history={entry.person_id: entry for entry in request.staff_history},
        dates=request.horizon.dates(),
    )

    # The same template on the same date is the same interval for everyone.
    cache: dict[tuple[str, date, int], ShiftInstance | str] = {}
    for index, shift in enumerate(roster):
        person = context.people.get(shift.person_id)
        template = context.templates.get(shift.template_id)
        if person is None or template is None:
            continue
        real = _cached_instance(
            cache, template, shift.date, context.tz, shift.extension_min
        )
        regular = _cached_instance(cache, template, shift.date, context.tz, 0)
        if isinstance(real, str) or isinstance(regular, str):
            context.unplaceable[index] = real if isinstance(real, str) else str(regular)
            continue
        context.placed.append(_Placed(index, shift, person, template, real, regular))

    # Every person on the staff has a list, empty when they do not work.
    context.by_person = {person.id: [] for person in request.staff}
    for placed in sorted(context.placed, key=_start_order):
        context.by_person[placed.person.id].append(placed)
    return context


def _cached_instance(
    cache: dict[tuple[str, date, int], ShiftInstance | str],
    template: ShiftTemplate,
    day: date,
    tz: str,
    extension_min: int,
) -> ShiftInstance | str:
    """The instance of a template on a date, or why it cannot be computed."""
    key = (template.id, day, extension_min)
    if key not in cache:
        try:
            cache[key] = instance(template, day, tz, extension_min)
        except (ValueError, OverflowError) as exc:
            cache[key] = str(exc) or type(exc).__name__
    return cache[key]


def _start_order(placed: _Placed) -> tuple[datetime, datetime, int]:
    # In UTC: aware datetimes sharing a zone compare by wall clock, which is
    # wrong in the hour a fall-back night repeats.
    return (to_utc(placed.real.start), to_utc(placed.real.end), placed.index)


# --------------------------------------------------------------------------
# Hard rules, in the order of docs/roster-rules.md


def _check_template(context: _Context) -> list[Violation]:
    """[template] known template, its weekday and role, horizon, extension."""
    violations = []
    for index, shift in enumerate(context.roster):
        subject = _raw_label(shift)
        for problem in _template_problems(context, index, shift):
            violations.append(
                Violation("template", subject, f"shift {subject}: {problem}.")
            )
    return violations


def _template_problems(context: _Context, index: int, shift: RosterShift) -> list[str]:
    """What is wrong with a shift's template, date or extension, if anything."""
    problems = []
    template = context.templates.get(shift.template_id)
    person = context.people.get(shift.person_id)
    if template is None:
        problems.append(f"template '{shift.template_id}' does not exist")
    else:
        if not runs_on(template, shift.date):
            weekday = _WEEKDAY_NAMES[shift.date.weekday()]
            problems.append(f"template {template.id} does not run on {weekday}")
        if person is not None and person.role not in template.roles:
            problems.append(f"template {template.id} is not for the role {person.role}")
        options = extension_options(template)
        if shift.extension_min not in options:
            problems.append(
                f"extension {shift.extension_min} min is not one of "
                f"{', '.join(str(x) for x in options)} min"
            )

    if not context.first_date <= shift.date <= context.last_date:
        problems.append(
            f"date {shift.date} lies outside the horizon "
            f"{context.first_date} to {context.last_date}"
        )
    if shift.needs_approval != (shift.extension_min > 0):
        problems.append(
            "needs_approval must be true exactly when the shift is extended"
        )
    if index in context.unplaceable:
        problems.append(
            f"its instants cannot be computed ({context.unplaceable[index]})"
        )
    return problems


def _check_unknown_person(context: _Context) -> list[Violation]:
    """[unknown_person] every shift belongs to a person on the staff."""
    return [
        Violation(
            "unknown_person",
            _raw_label(shift),
            f"shift {_raw_label(shift)}: person '{shift.person_id}' is not on the "
            "staff of the request.",
        )
        for shift in context.roster
        if shift.person_id not in context.people
    ]


def _check_one_shift_per_day(context: _Context) -> list[Violation]:
    """[one_shift_per_day] at most one shift of a person starts on a date."""
    violations = []
    for person_id, shifts in context.by_person.items():
        by_date: dict[date, list[_Placed]] = defaultdict(list)
        for placed in shifts:
            by_date[placed.shift.date].append(placed)
        for day, same_day in sorted(by_date.items()):
            if len(same_day) > 1:
                labels = ", ".join(placed.label for placed in same_day)
                violations.append(
                    Violation(
                        "one_shift_per_day",
                        person_id,
                        f"{_who(same_day[0].person)}: {len(same_day)} shifts start "
                        f"on {day} ({labels}), at most one a day.",
                    )
                )
    return violations


def _check_min_rest(context: _Context) -> list[Violation]:
    """[min_rest] real rest between shifts, and after the history's last end."""
    violations = []
    for person_id, shifts in context.by_person.items():
        if not shifts:
            continue
        person = context.people[person_id]
        min_rest_min = person.contract.min_rest_min

        history = context.history.get(person_id)
        if history is not None and history.last_shift_end is not None:
            first = shifts[0]
            rest_min = minutes_between(history.last_shift_end, first.real.start)
            if rest_min < min_rest_min:
                violations.append(
                    Violation(
                        "min_rest",
                        first.label,
                        f"{_who(person)}: {_duration(rest_min)} rest between the "
                        f"last shift before the horizon and shift {first.label}, "
                        f"minimum {_duration(min_rest_min)}.",
                    )
                )

        # Compare each shift with the earlier one that ends last: if that
        # rest is enough, the rest after every earlier shift is enough.
        latest = shifts[0]
        for placed in shifts[1:]:
            rest_min = minutes_between(latest.real.end, placed.real.start)
            if rest_min < min_rest_min:
                if rest_min < 0:
                    what = f"shift {latest.label} and shift {placed.label} overlap"
                else:
                    what = (
                        f"{_duration(rest_min)} rest between shift {latest.label} "
                        f"and {placed.label}"
                    )
                violations.append(
                    Violation(
                        "min_rest",
                        placed.label,
                        f"{_who(person)}: {what}, minimum {_duration(min_rest_min)}.",
                    )
                )
            if to_utc(placed.real.end) > to_utc(latest.real.end):
                latest = placed
    return violations


def _check_forbidden_succession(context: _Context) -> list[Violation]:
    """[forbidden_succession] no forbidden template on the next local date."""
    violations = []
    for shifts in context.by_person.values():
        by_date: dict[date, list[_Placed]] = defaultdict(list)
        for placed in shifts:
            by_date[placed.shift.date].append(placed)
        for placed in shifts:
            forbidden = set(placed.template.forbidden_successors)
            for successor in by_date.get(placed.shift.date + timedelta(days=1), []):
                if successor.template.id in forbidden:
                    violations.append(
                        Violation(
                            "forbidden_succession",
                            successor.label,
                            f"{_who(placed.person)}: shift {successor.label} may "
                            f"not follow {placed.label} on the next day.",
                        )
                    )
    return violations


def _check_max_shifts_per_template(context: _Context) -> list[Violation]:
    """[max_shifts_per_template] a person's shifts of a template, capped."""
    violations = []
    for person_id, shifts in context.by_person.items():
        person = context.people[person_id]
        counts = Counter(placed.template.id for placed in shifts)
        for template_id, count in sorted(counts.items()):
            limit = person.contract.max_shifts_per_template.get(template_id)
            if limit is not None and count > limit:
                violations.append(
                    Violation(
                        "max_shifts_per_template",
                        person_id,
                        f"{_who(person)}: {count} shifts of template {template_id}, "
                        f"at most {limit}.",
                    )
                )
    return violations


def _check_minutes_total(context: _Context) -> list[Violation]:
    """[minutes_total] regular minutes over the horizon within the band."""
    violations = []
    for person_id, shifts in context.by_person.items():
        contract = context.people[person_id].contract
        regular_min = sum(placed.regular.worked_min for placed in shifts)
        low, high = contract.min_minutes_total, contract.max_minutes_total
        if regular_min < low or (high is not None and regular_min > high):
            band = f"at least {low}" if high is None else f"{low} to {high}"
            violations.append(
                Violation(
                    "minutes_total",
                    person_id,
                    f"{_who(context.people[person_id])}: {regular_min} regular "
                    f"minutes over the horizon, allowed {band}.",
                )
            )
    return violations


def _check_minutes_per_week(context: _Context) -> list[Violation]:
    """[minutes_per_week] regular minutes per Monday-to-Monday week."""
    violations = []
    weeks = sorted({week_start(day) for day in context.dates})
    for person_id, shifts in context.by_person.items():
        person = context.people[person_id]
        contract = person.contract

        # Minutes count on the local days they really fall on.
        by_week: Counter[date] = Counter()
        for placed in shifts:
            for day, minutes in placed.regular.worked_by_local_day(context.tz).items():
                by_week[week_start(day)] += minutes
        history = context.history.get(person_id)
        if history is not None:
            by_week[week_start(context.first_date)] += history.minutes_worked_this_week

        for monday in weeks:
            minutes = by_week[monday]
            whole = monday >= context.first_date and (
                monday + timedelta(days=6) <= context.last_date
            )
            if minutes > contract.max_minutes_per_week:
                limit = f"at most {contract.max_minutes_per_week}"
            elif whole and minutes < contract.min_minutes_per_week:
                limit = f"at least {contract.min_minutes_per_week}"
            else:
                continue
            violations.append(
                Violation(
                    "minutes_per_week",
                    person_id,
                    f"{_who(person)}: {minutes} regular minutes in the week of "
                    f"{monday}, {limit}.",
                )
            )
    return violations


def _check_overtime_per_week(context: _Context) -> list[Violation]:
    """[overtime_per_week] extension minutes per week, capped."""
    violations = []
    for person_id, shifts in context.by_person.items():
        person = context.people[person_id]
        by_week: Counter[date] = Counter()
        for placed in shifts:
            if placed.shift.extension_min == 0:
                continue
            overtime = split_by_local_day(
                placed.regular.end, placed.real.end, context.tz
            )
            for day, minutes in overtime.items():
                by_week[week_start(day)] += minutes
        limit = person.contract.max_overtime_min_per_week
        for monday, minutes in sorted(by_week.items()):
            if minutes > limit:
                violations.append(
                    Violation(
                        "overtime_per_week",
                        person_id,
                        f"{_who(person)}: {minutes} overtime minutes in the week of "
                        f"{monday}, at most {limit}.",
                    )
                )
    return violations


def _check_max_consecutive_days(context: _Context) -> list[Violation]:
    """[max_consecutive_days] runs of working days, history included."""
    violations = []
    for person_id, shifts in context.by_person.items():
        person = context.people[person_id]
        history = context.history.get(person_id)
        limit = person.contract.max_consecutive_days
        for first, length in _runs(context, shifts, working=True):
            last = _run_last(first, length)
            if first == context.first_date and history is not None:
                length += history.consecutive_days_worked
            if length > limit:
                violations.append(
                    Violation(
                        "max_consecutive_days",
                        person_id,
                        f"{_who(person)}: {length} working days in a row ending "
                        f"{last}, at most {limit}.",
                    )
                )
    return violations


def _check_min_consecutive_days(context: _Context) -> list[Violation]:
    """[min_consecutive_days] runs of working days long enough."""
    return _check_min_run(context, working=True)


def _check_min_consecutive_days_off(context: _Context) -> list[Violation]:
    """[min_consecutive_days_off] runs of days off long enough."""
    return _check_min_run(context, working=False)


def _check_min_run(context: _Context, working: bool) -> list[Violation]:
    """Runs of working days (or days off) at least their contract minimum.

    A run ending on the horizon's last date may go on after it; a run
    starting on the first date is lengthened by the history, and exempt
    when the person has no history entry.
    """
    rule = "min_consecutive_days" if working else "min_consecutive_days_off"
    kind = "working days" if working else "days off"
    violations = []
    for person_id, shifts in context.by_person.items():
        person = context.people[person_id]
        history = context.history.get(person_id)
        if working:
            limit = person.contract.min_consecutive_days
        else:
            limit = person.contract.min_consecutive_days_off
        for first, length in _runs(context, shifts, working=working):
            last = _run_last(first, length)
            if last == context.last_date:
                continue
            if first == context.first_date:
                if history is None:
                    continue
                before = (
                    history.consecutive_days_worked
                    if working
                    else history.consecutive_days_off
                )
                length += before
            if length < limit:
                violations.append(
                    Violation(
                        rule,
                        person_id,
                        f"{_who(person)}: {length} {kind} in a row ending {last}, "
                        f"at least {limit}.",
                    )
                )
    return violations


def _check_max_working_weekends(context: _Context) -> list[Violation]:
    """[max_working_weekends] worked weekends, history included, capped."""
    violations = []
    horizon = set(context.dates)
    saturdays = sorted(
        {
            day - timedelta(days=day.weekday() - 5)
            for day in context.dates
            if day.weekday() >= 5
        }
    )
    for person_id, shifts in context.by_person.items():
        person = context.people[person_id]
        limit = person.contract.max_working_weekends
        if limit is None:
            continue
        working = {placed.shift.date for placed in shifts} & horizon
        worked = sum(
            1
            for saturday in saturdays
            if saturday in working or saturday + timedelta(days=1) in working
        )
        history = context.history.get(person_id)
        before = history.working_weekends if history is not None else 0
        if worked + before > limit:
            violations.append(
                Violation(
                    "max_working_weekends",
                    person_id,
                    f"{_who(person)}: {worked + before} working weekends "
                    f"({before} before the horizon), at most {limit}.",
                )
            )
    return violations


def _check_post(context: _Context) -> list[Violation]:
    """[post] the post is a skill the person holds on the shift's date."""
    violations = []
    for placed in context.placed:
        if not _holds_post(
            context, placed.person, placed.shift.post, placed.shift.date
        ):
            violations.append(
                Violation(
                    "post",
                    placed.label,
                    f"{_who(placed.person)}: shift {placed.label} fills post "
                    f"'{placed.shift.post}', which the person does not hold on "
                    f"{placed.shift.date}.",
                )
            )
    return violations


def _check_licence(context: _Context) -> list[Violation]:
    """[licence] a broker works only with a licence valid that day."""
    violations = []
    jurisdiction = context.request.site.jurisdiction
    for placed in context.placed:
        if placed.person.role != Role.broker:
            continue
        if not _licences_on(placed.person, jurisdiction, placed.shift.date):
            violations.append(
                Violation(
                    "licence",
                    placed.label,
                    f"{_who(placed.person)}: no licence in {jurisdiction} valid on "
                    f"{placed.shift.date} for shift {placed.label}.",
                )
            )
    return violations


def _check_leave(context: _Context) -> list[Violation]:
    """[leave] no shift overlaps the person's leave."""
    violations = []
    for placed in context.placed:
        for item in placed.person.leave:
            start, end = _leave_interval(item, context.tz)
            overlap_min = overlap_minutes(
                placed.real.start, placed.real.end, start, end
            )
            if overlap_min > 0:
                violations.append(
                    Violation(
                        "leave",
                        placed.label,
                        f"{_who(placed.person)}: shift {placed.label} overlaps leave "
                        f"{_local(start, context.tz)} to {_local(end, context.tz)} "
                        f"by {overlap_min} min.",
                    )
                )
    return violations


def _check_unavailability(context: _Context) -> list[Violation]:
    """[unavailability] under the hard policy, no shift overlaps it."""
    if context.request.settings.policies.unavailability != "hard":
        return []
    violations = []
    for placed in context.placed:
        for item in placed.person.unavailability:
            overlap_min = overlap_minutes(
                placed.real.start, placed.real.end, item.start, item.end
            )
            if overlap_min > 0:
                violations.append(
                    Violation(
                        "unavailability",
                        placed.label,
                        f"{_who(placed.person)}: shift {placed.label} overlaps "
                        f"unavailability {_local(item.start, context.tz)} to "
                        f"{_local(item.end, context.tz)} by {overlap_min} min.",
                    )
                )
    return violations


def _check_call_in(context: _Context) -> list[Violation]:
    """[call_in] call-ins are exactly the on-call shifts, given notice."""
    violations = []
    planned_at = context.request.settings.planned_at
    for placed in context.placed:
        on_call = placed.person.on_call
        who = _who(placed.person)
        if placed.shift.call_in and on_call is None:
            message = f"shift {placed.label} is a call-in but the person is not on call"
        elif not placed.shift.call_in and on_call is not None:
            message = (
                f"shift {placed.label} of on-call staff must be marked as a call-in"
            )
        elif (
            on_call is not None
            and planned_at is not None
            and minutes_between(planned_at, placed.real.start) < on_call.notice_min
        ):
            notice_min = minutes_between(planned_at, placed.real.start)
            message = (
                f"call-in shift {placed.label} starts {notice_min} min after the "
                f"plan is made, notice at least {on_call.notice_min} min"
            )
        else:
            continue
        violations.append(Violation("call_in", placed.label, f"{who}: {message}."))
    return violations


def _check_fixed_roster(context: _Context) -> list[Violation]:
    """[fixed_roster] a roster the request fixes is the roster, unchanged."""
    fixed = context.request.roster
    if fixed is None:
        return []

    def key(shift: RosterShift) -> tuple[str, date, str, str, int]:
        return (
            shift.person_id,
            shift.date,
            shift.template_id,
            shift.post,
            shift.extension_min,
        )

    wanted = Counter(key(shift) for shift in fixed)
    given = Counter(key(shift) for shift in context.roster)
    violations = []
    for (person_id, day, template_id, post, extension_min), count in sorted(
        (wanted - given).items()
    ):
        subject = f"{person_id}:{day.isoformat()}:{template_id}"
        violations.append(
            Violation(
                "fixed_roster",
                subject,
                f"fixed shift {subject} on post '{post}' with {extension_min} min "
                f"extension is missing from the roster ({count} missing).",
            )
        )
    for (person_id, day, template_id, post, extension_min), count in sorted(
        (given - wanted).items()
    ):
        subject = f"{person_id}:{day.isoformat()}:{template_id}"
        violations.append(
            Violation(
                "fixed_roster",
                subject,
                f"shift {subject} on post '{post}' with {extension_min} min "
                f"extension is not in the fixed roster ({count} extra).",
            )
        )
    return violations


def _check_shift_id(context: _Context) -> list[Violation]:
    """[shift_id] the id and whatever instants and numbers a shift carries."""
    violations = []
    for placed in context.placed:
        shift, real = placed.shift, placed.real
        problems = []
        if shift.id is not None and shift.id != placed.label:
            problems.append(f"id '{shift.id}' should be '{placed.label}'")
        written: list[tuple[str, object, object]] = [
            ("start", shift.start, real.start),
            ("end", shift.end, real.end),
            ("break_start", shift.break_start, real.break_start),
            ("break_end", shift.break_end, real.break_end),
            ("worked_min", shift.worked_min, real.worked_min),
            ("paid_min", shift.paid_min, real.paid_min),
            ("cost_cents", shift.cost_cents, _shift_cost_cents(placed)),
        ]
        for name, value, expected in written:
            if value is not None and not _same(value, expected):
                problems.append(
                    f"{name} is {_show(value, context.tz)}, "
                    f"recomputed {_show(expected, context.tz)}"
                )
        for problem in problems:
            violations.append(
                Violation("shift_id", placed.label, f"shift {placed.label}: {problem}.")
            )
    return violations


_HARD_RULES = (
    _check_template,
    _check_unknown_person,
    _check_one_shift_per_day,
    _check_min_rest,
    _check_forbidden_succession,
    _check_max_shifts_per_template,
    _check_minutes_total,
    _check_minutes_per_week,
    _check_overtime_per_week,
    _check_max_consecutive_days,
    _check_min_consecutive_days,
    _check_min_consecutive_days_off,
    _check_max_working_weekends,
    _check_post,
    _check_licence,
    _check_leave,
    _check_unavailability,
    _check_call_in,
    _check_fixed_roster,
    _check_shift_id,
)


# --------------------------------------------------------------------------
# Cover


def _coverage(context: _Context) -> list[tuple[CoverRequirement, CoverageRow]]:
    """Required against planned persons for every cover requirement.

    Interval requirements count shifts on the post whose real interval,
    extension included and break ignored, holds the whole requirement; slot
    requirements count shifts on the post with that date and template.
    """
    # Index shifts by post, sorted by start, so each interval requirement
    # looks only at shifts that start at most one shift length before it.
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    slots: Counter[tuple[str, date, str]] = Counter()
    for placed in context.placed:
        post = placed.shift.post
        spans[post].append((placed.real.start.timestamp(), placed.real.end.timestamp()))
        slots[(post, placed.shift.date, placed.template.id)] += 1
    index = {post: _SpanIndex(sorted(items)) for post, items in spans.items()}

    rows = []
    for requirement in demand.cover_requirements(context.request):
        if requirement.start is not None and requirement.end is not None:
            start, end = requirement.start, requirement.end
            post_index = index.get(requirement.skill)
            planned = post_index.holding(start, end) if post_index else 0
        else:
            assert requirement.date is not None and requirement.template_id is not None
            start, end = _slot_instants(
                context, requirement.date, requirement.template_id
            )
            planned = slots[
                (requirement.skill, requirement.date, requirement.template_id)
            ]
        row = CoverageRow(
            skill=requirement.skill,
            start=start,
            end=end,
            required=requirement.persons,
            planned=planned,
        )
        rows.append((requirement, row))
    return rows


class _SpanIndex:
    """Shift spans of one post, sorted by start, as POSIX seconds."""

    def __init__(self, spans: list[tuple[float, float]]) -> None:
        self.starts = [start for start, _ in spans]
        self.ends = [end for _, end in spans]
        self.longest_s = max(end - start for start, end in spans)

    def holding(self, start: datetime, end: datetime) -> int:
        """How many spans hold all of [start, end)."""
        start_s, end_s = start.timestamp(), end.timestamp()
        low = bisect_left(self.starts, start_s - self.longest_s)
        high = bisect_right(self.starts, start_s)
        return sum(1 for i in range(low, high) if self.ends[i] >= end_s)


def _slot_instants(
    context: _Context, day: date, template_id: str
) -> tuple[datetime, datetime]:
    """The instants of a slot requirement: its template instance that day."""
    template = context.templates.get(template_id)
    if template is not None:
        try:
            slot = instance(template, day, context.tz)
            return slot.start, slot.end
        except (ValueError, OverflowError):
            pass
    # A template that cannot be read still gets a row: the whole local day.
    return local_midnight(day, context.tz), local_midnight(
        day + timedelta(days=1), context.tz
    )


# --------------------------------------------------------------------------
# Objective terms


def _objective(
    context: _Context, coverage: list[tuple[CoverRequirement, CoverageRow]]
) -> Objective:
    """Every objective term, weighted, and their sum."""
    terms = dict.fromkeys(OBJECTIVE_TERMS, 0)
    terms["undercover"] = _undercover(context, coverage)
    terms["overcover"] = _overcover(context, coverage)
    terms["cost"] = _cost(context)
    terms["requests"] = _requests(context)
    terms["unavailability"] = _unavailability_penalty(context)
    terms["fairness"] = _fairness(context)
    return Objective(total=sum(terms.values()), terms=terms)


def _undercover(
    context: _Context, coverage: list[tuple[CoverRequirement, CoverageRow]]
) -> int:
    """Weight times persons missing, per requirement."""
    default = context.request.settings.weights.undercover
    return sum(
        _weight(requirement.weight_under, default) * max(0, row.required - row.planned)
        for requirement, row in coverage
    )


def _overcover(
    context: _Context, coverage: list[tuple[CoverRequirement, CoverageRow]]
) -> int:
    """Weight times persons surplus, per requirement."""
    default = context.request.settings.weights.overcover
    return sum(
        _weight(requirement.weight_over, default) * max(0, row.planned - row.required)
        for requirement, row in coverage
    )


def _cost(context: _Context) -> int:
    """The cost weight times wages, overtime and call-ins in cents."""
    weight = context.request.settings.weights.cost
    return weight * sum(_shift_cost_cents(placed) for placed in context.placed)


def _shift_cost_cents(placed: _Placed) -> int:
    """Cents of one shift: paid regular minutes, overtime, call-in.

    The floor is taken once per shift, over wages and overtime together.
    """
    contract = placed.person.contract
    paid_regular_min = placed.regular.paid_min
    overtime_min = placed.shift.extension_min
    wages = (
        paid_regular_min * contract.hourly_cost_cents * 100
        + overtime_min * contract.hourly_cost_cents * contract.overtime_rate_pct
    ) // 6000
    call_in = 0
    if placed.shift.call_in and placed.person.on_call is not None:
        call_in = placed.person.on_call.call_in_cost_cents
    return wages + call_in


def _requests(context: _Context) -> int:
    """The requests weight times the weights of unmet shift requests."""
    unmet = 0
    for person_id, shifts in context.by_person.items():
        for wish in context.people[person_id].shift_requests:
            has_shift = any(
                placed.shift.date == wish.date
                and (wish.template_id is None or placed.template.id == wish.template_id)
                for placed in shifts
            )
            if has_shift != (wish.kind == "on"):
                unmet += wish.weight
    return context.request.settings.weights.requests * unmet


def _unavailability_penalty(context: _Context) -> int:
    """Under the soft policy, the weight times overlapping minutes."""
    if context.request.settings.policies.unavailability != "soft":
        return 0
    overlap_min = sum(
        overlap_minutes(placed.real.start, placed.real.end, item.start, item.end)
        for placed in context.placed
        for item in placed.person.unavailability
    )
    return context.request.settings.weights.unavailability * overlap_min


def _fairness(context: _Context) -> int:
    """The fairness weight times the spread of worked minutes per group.

    A group is two or more equally qualified people: same role, skills,
    licence coverage in the jurisdiction and weekly maximum, none on call.
    """
    jurisdiction = context.request.site.jurisdiction
    groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for person_id, shifts in context.by_person.items():
        person = context.people[person_id]
        if person.on_call is not None:
            continue
        key = (
            str(person.role),
            tuple(sorted(person.skills)),
            _licence_coverage(person.licences, jurisdiction),
            person.contract.max_minutes_per_week,
        )
        groups[key].append(sum(placed.real.worked_min for placed in shifts))
    spread = sum(
        max(worked) - min(worked) for worked in groups.values() if len(worked) > 1
    )
    return context.request.settings.weights.fairness * spread


def _licence_coverage(
    licences: Iterable[Licence], jurisdiction: str
) -> tuple[tuple[str, str], ...]:
    """The (regime, commodity) pairs a person's licences cover, dates ignored."""
    pairs: set[tuple[str, str]] = set()
    for licence in licences:
        if licence.jurisdiction != jurisdiction:
            continue
        regimes = [str(r) for r in licence.regimes] or [str(r) for r in Regime]
        commodities = list(licence.commodities) or [_ANY_COMMODITY]
        pairs.update(
            (regime, commodity) for regime in regimes for commodity in commodities
        )
    # A commodity already covered by "all commodities" of its regime adds nothing.
    general = {regime for regime, commodity in pairs if commodity == _ANY_COMMODITY}
    return tuple(
        sorted(
            (regime, commodity)
            for regime, commodity in pairs
            if commodity == _ANY_COMMODITY or regime not in general
        )
    )


# --------------------------------------------------------------------------
# Checking a plan's own figures


def _objective_mismatches(
    reported: Objective, recomputed: Objective
) -> list[Violation]:
    """A violation per objective figure the plan reports differently."""
    violations = []
    if reported.total != recomputed.total:
        violations.append(
            Violation(
                "objective_mismatch",
                "total",
                f"the plan reports an objective of {reported.total}, recomputed "
                f"{recomputed.total}.",
            )
        )
    for term in sorted(set(reported.terms) | set(recomputed.terms)):
        value = reported.terms.get(term)
        expected = recomputed.terms.get(term)
        if value != expected:
            violations.append(
                Violation(
                    "objective_mismatch",
                    term,
                    f"the plan reports objective term {term} as {value}, recomputed "
                    f"{expected}.",
                )
            )
    return violations


def _coverage_mismatches(
    reported: list[CoverageRow], recomputed: list[CoverageRow]
) -> list[Violation]:
    """A violation per coverage row the plan reports differently."""
    violations = []
    if len(reported) != len(recomputed):
        violations.append(
            Violation(
                "coverage_mismatch",
                "coverage",
                f"the plan has {len(reported)} coverage rows, one per cover "
                f"requirement gives {len(recomputed)}.",
            )
        )
    for number, (row, expected) in enumerate(zip(reported, recomputed, strict=False)):
        if _row_key(row) != _row_key(expected):
            violations.append(
                Violation(
                    "coverage_mismatch",
                    f"coverage[{number}]",
                    f"coverage row {number} reads {_row_text(row)}, recomputed "
                    f"{_row_text(expected)}.",
                )
            )
    return violations


def _row_key(row: CoverageRow) -> tuple[str, float, float, int, int]:
    return (
        row.skill,
        row.start.timestamp(),
        row.end.timestamp(),
        row.required,
        row.planned,
    )


def _row_text(row: CoverageRow) -> str:
    return (
        f"{row.skill} {row.start.isoformat()} to {row.end.isoformat()} "
        f"required {row.required} planned {row.planned}"
    )


# --------------------------------------------------------------------------
# Small readings shared by the rules above


def _runs(
    context: _Context, shifts: list[_Placed], working: bool
) -> list[tuple[date, int]]:
    """Runs of working days (or days off) over the horizon: (first date, length)."""
    working_days = {placed.shift.date for placed in shifts}
    runs: list[tuple[date, int]] = []
    for day in context.dates:
        if (day in working_days) != working:
            continue
        if runs and runs[-1][0] + timedelta(days=runs[-1][1]) == day:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((day, 1))
    return runs


def _run_last(first: date, length: int) -> date:
    """The last date of a run of `length` days from `first`."""
    return first + timedelta(days=length - 1)


def _licences_on(person: Person, jurisdiction: str, day: date) -> list[Licence]:
    """The person's licences in the jurisdiction valid on a local date."""
    return [
        licence
        for licence in person.licences
        if licence.jurisdiction == jurisdiction and licence.valid_on(day)
    ]


def _holds_post(context: _Context, person: Person, post: str, day: date) -> bool:
    """Whether a person may fill a post on a local date."""
    jurisdiction = context.request.site.jurisdiction
    if post == person.role:
        return person.role == Role.clerk or bool(
            _licences_on(person, jurisdiction, day)
        )
    if post in person.skills:
        return True
    kind, _, value = post.partition(":")
    if person.role != Role.broker or kind not in ("regime", "commodity") or not value:
        return False
    for licence in _licences_on(person, jurisdiction, day):
        covered = licence.regimes if kind == "regime" else licence.commodities
        if not covered or value in covered:
            return True
    return False


def _leave_interval(item: DateRange | Interval, tz: str) -> tuple[datetime, datetime]:
    """Leave in real time: whole local days, or the interval as given."""
    if isinstance(item, DateRange):
        return local_midnight(item.first_date, tz), local_midnight(
            item.last_date + timedelta(days=1), tz
        )
    return item.start, item.end


def _weight(own: int | None, default: int) -> int:
    return default if own is None else own


def _who(person: Person) -> str:
    """A person as messages name them: role and id, never the name."""
    return f"{person.role} {person.id}"


def _raw_label(shift: RosterShift) -> str:
    """The shift id a shift should carry, from its own fields."""
    return f"{shift.person_id}:{shift.date.isoformat()}:{shift.template_id}"


def _duration(minutes: int) -> str:
    """Minutes as hours for a dispatcher: 480 -> '8 h', 450 -> '7 h 30 min'."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    if rest == 0:
        return f"{sign}{hours} h"
    if hours == 0:
        return f"{sign}{rest} min"
    return f"{sign}{hours} h {rest} min"


def _local(instant: datetime, tz: str) -> str:
    """An instant as site-local wall-clock text."""
    return instant.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")


def _same(value: object, expected: object) -> bool:
    """Equality, instants compared in UTC.

    An instant in the repeated hour of a fall-back night never equals an
    instant of another zone under ``==`` (PEP 495), however real the match.
    """
    if isinstance(value, datetime) and isinstance(expected, datetime):
        return to_utc(value) == to_utc(expected)
    return value == expected


def _show(value: object, tz: str) -> str:
    if isinstance(value, datetime):
        return _local(value, tz)
    return str(value)
