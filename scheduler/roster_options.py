"""Turn a request into the roster engine's index-based data.

Each person's possible shifts are expanded from the shift templates with
`scheduler.shifts`: every template instance on every date of the horizon,
with every overtime extension the template allows. A shift the person may
not take at all (role, weekday, leave, licence, hard unavailability,
call-in notice, a template limit of 0, a start inside the rest after the
history's last shift) is not listed, so the solver never sees it.

For each listed shift this module works out its regular and overtime
minutes per week (where they really fall), its cost in cents, the posts
the person may fill that day, and the cover requirements it spans.
"""

from __future__ import annotations

import bisect
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from scheduler.models import (
    CoverRequirement,
    DateRange,
    Interval,
    Licence,
    Person,
    Regime,
    Request,
    Role,
    ShiftTemplate,
    StaffHistory,
)
from scheduler.shifts import ShiftInstance, extension_options, instance, runs_on
from scheduler.sitetime import (
    local_midnight,
    minutes_between,
    overlap_minutes,
    split_by_local_day,
    week_start,
)
from solver.roster import (
    CoverNeed,
    PersonRules,
    RequestWish,
    RosterData,
    ShiftOption,
    Weights,
)

logger = logging.getLogger(__name__)

_ANY_COMMODITY = "*"


@dataclass(frozen=True)
class OptionInfo:
    """What an option index stands for in the request."""

    person: Person
    template: ShiftTemplate
    day: date
    extension_min: int
    real: ShiftInstance
    regular: ShiftInstance
    call_in: bool
    cost_cents: int


@dataclass
class RosterProblem:
    """The engine's data and the tables that map its indices back."""

    data: RosterData
    options: list[OptionInfo]
    posts: list[str]
    requirements: list[CoverRequirement]
    requirement_spans: list[tuple[datetime, datetime]]
    dates: list[date]
    template_index: dict[str, int] = field(default_factory=dict)

    def option_index(self) -> dict[tuple[str, date, str, int], int]:
        """Option index by (person id, date, template id, extension)."""
        return {
            (o.person.id, o.day, o.template.id, o.extension_min): idx
            for idx, o in enumerate(self.options)
        }


def build_problem(
    request: Request, requirements: list[CoverRequirement]
) -> RosterProblem:
    """Map a request and its cover requirements onto `RosterData`.

    Parameters
    ----------
    request
        The request to roster.
    requirements
        Its cover requirements: the request's own, then the derived ones.

    Returns
    -------
    RosterProblem
        The data and the index tables.
    """
    builder = _Builder(request, requirements)
    return builder.build()


class _Builder:
    def __init__(self, request: Request, requirements: list[CoverRequirement]):
        self.request = request
        self.requirements = requirements
        self.tz = request.site.timezone
        self.dates = request.horizon.dates()
        self.origin = local_midnight(self.dates[0], self.tz)
        self.first_monday = week_start(self.dates[0])
        self.num_weeks = (week_start(self.dates[-1]) - self.first_monday).days // 7 + 1
        self.template_index = {t.id: i for i, t in enumerate(request.shift_templates)}
        self.history = {h.person_id: h for h in request.staff_history}
        self.posts: list[str] = []
        self.post_index: dict[str, int] = {}
        self._instances: dict[tuple[str, date, int], ShiftInstance] = {}

    # ------------------------------------------------------------------

    def build(self) -> RosterProblem:
        for requirement in self.requirements:
            self._post(requirement.skill)
        spans = [self._span(r) for r in self.requirements]
        covers = tuple(self._cover_need(r) for r in self.requirements)
        self._index_requirements(spans)

        infos: list[OptionInfo] = []
        options: list[ShiftOption] = []
        for person_idx, person in enumerate(self.request.staff):
            for info, option in self._person_options(person_idx, person):
                infos.append(info)
                options.append(option)

        data = RosterData(
            num_days=len(self.dates),
            num_weeks=self.num_weeks,
            num_shift_types=max(1, len(self.request.shift_templates)),
            num_posts=max(1, len(self.posts)),
            people=tuple(self._rules(p) for p in self.request.staff),
            options=tuple(options),
            covers=covers,
            wishes=self._wishes(),
            forbidden_successions=self._successions(),
            weekends=self._weekends(),
            fairness_groups=self._fairness_groups(),
            weights=self._weights(),
            unmet_wishes_fixed=self._wishes_outside(),
        )
        logger.debug(
            "roster data: request %s, %d options, %d requirements, %d posts",
            self.request.request_id,
            len(options),
            len(covers),
            len(self.posts),
        )
        return RosterProblem(
            data=data,
            options=infos,
            posts=self.posts,
            requirements=self.requirements,
            requirement_spans=spans,
            dates=self.dates,
            template_index=self.template_index,
        )

    def _post(self, skill: str) -> int:
        if skill not in self.post_index:
            self.post_index[skill] = len(self.posts)
            self.posts.append(skill)
        return self.post_index[skill]

    # ------------------------------------------------------------------
    # Cover requirements

    def _span(self, requirement: CoverRequirement) -> tuple[datetime, datetime]:
        if requirement.start is not None and requirement.end is not None:
            return requirement.start, requirement.end
        assert requirement.date is not None and requirement.template_id is not None
        slot = self._instance(
            self.request.template(requirement.template_id), requirement.date, 0
        )
        return slot.start, slot.end

    def _cover_need(self, requirement: CoverRequirement) -> CoverNeed:
        weights = self.request.settings.weights
        return CoverNeed(
            post_idx=self.post_index[requirement.skill],
            persons=requirement.persons,
            weight_under=(
                weights.undercover
                if requirement.weight_under is None
                else requirement.weight_under
            ),
            weight_over=(
                weights.overcover
                if requirement.weight_over is None
                else requirement.weight_over
            ),
        )

    def _index_requirements(self, spans: list[tuple[datetime, datetime]]) -> None:
        """Interval requirements sorted by start; slot requirements by key."""
        self._by_start: list[tuple[float, float, int]] = []
        self._by_slot: dict[tuple[date, str], list[int]] = defaultdict(list)
        for idx, requirement in enumerate(self.requirements):
            if requirement.date is not None and requirement.template_id is not None:
                self._by_slot[(requirement.date, requirement.template_id)].append(idx)
            else:
                start, end = spans[idx]
                self._by_start.append((start.timestamp(), end.timestamp(), idx))
        self._by_start.sort()
        self._starts = [s for s, _, _ in self._by_start]
        self._spanned: dict[tuple[str, date, int], tuple[int, ...]] = {}

    def _spanned_requirements(self, real: ShiftInstance) -> tuple[int, ...]:
        """Requirements a shift instance spans, whatever the post."""
        key = (real.template_id, real.date, real.extension_min)
        if key not in self._spanned:
            start_s, end_s = real.start.timestamp(), real.end.timestamp()
            low = bisect.bisect_left(self._starts, start_s)
            high = bisect.bisect_right(self._starts, end_s)
            held = [idx for _, e, idx in self._by_start[low:high] if e <= end_s]
            held += self._by_slot.get((real.date, real.template_id), [])
            self._spanned[key] = tuple(sorted(held))
        return self._spanned[key]

    # ------------------------------------------------------------------
    # Options

    def _instance(self, template: ShiftTemplate, day: date, ext: int) -> ShiftInstance:
        key = (template.id, day, ext)
        if key not in self._instances:
            self._instances[key] = instance(template, day, self.tz, ext)
        return self._instances[key]

    def _person_options(
        self, person_idx: int, person: Person
    ) -> list[tuple[OptionInfo, ShiftOption]]:
        result = []
        contract = person.contract
        history = self.history.get(person.id)
        for day_idx, day in enumerate(self.dates):
            posts = self._posts_on(person, day)
            if not posts:
                continue  # a broker without a valid licence that day
            for template in self.request.shift_templates:
                if not self._may_take(person, template, day):
                    continue
                extensions = extension_options(template)
                if contract.max_overtime_min_per_week == 0:
                    extensions = [0]
                regular = self._instance(template, day, 0)
                for ext in extensions:
                    real = self._instance(template, day, ext)
                    if not self._allowed(person, history, real):
                        continue
                    info, option = self._option(
                        person_idx, person, template, day_idx, real, regular, posts
                    )
                    result.append((info, option))
        return result

    def _may_take(self, person: Person, template: ShiftTemplate, day: date) -> bool:
        if person.role not in template.roles or not runs_on(template, day):
            return False
        return person.contract.max_shifts_per_template.get(template.id) != 0

    def _allowed(
        self, person: Person, history: StaffHistory | None, real: ShiftInstance
    ) -> bool:
        """Leave, hard unavailability, call-in notice, rest after the history."""
        for item in person.leave:
            start, end = _leave_span(item, self.tz)
            if overlap_minutes(real.start, real.end, start, end) > 0:
                return False
        if self.request.settings.policies.unavailability == "hard":
            for item in person.unavailability:
                if overlap_minutes(real.start, real.end, item.start, item.end) > 0:
                    return False
        planned_at = self.request.settings.planned_at
        if (
            person.on_call is not None
            and planned_at is not None
            and minutes_between(planned_at, real.start) < person.on_call.notice_min
        ):
            return False
        if history is not None and history.last_shift_end is not None:
            rest = minutes_between(history.last_shift_end, real.start)
            if rest < person.contract.min_rest_min:
                return False
        return True

    def _option(
        self,
        person_idx: int,
        person: Person,
        template: ShiftTemplate,
        day_idx: int,
        real: ShiftInstance,
        regular: ShiftInstance,
        posts: tuple[int, ...],
    ) -> tuple[OptionInfo, ShiftOption]:
        contract = person.contract
        ext = real.extension_min
        call_in = person.on_call is not None
        cost = (
            regular.paid_min * contract.hourly_cost_cents * 100
            + ext * contract.hourly_cost_cents * contract.overtime_rate_pct
        ) // 6000
        if call_in and person.on_call is not None:
            cost += person.on_call.call_in_cost_cents
        unavailable_min = 0
        if self.request.settings.policies.unavailability == "soft":
            unavailable_min = sum(
                overlap_minutes(real.start, real.end, item.start, item.end)
                for item in person.unavailability
            )
        spanned = self._spanned_requirements(real)
        post_set = set(posts)
        covers = tuple(
            r
            for r in spanned
            if self.post_index[self.requirements[r].skill] in post_set
        )
        option = ShiftOption(
            person_idx=person_idx,
            day_idx=day_idx,
            shift_type_idx=self.template_index[template.id],
            start_min=minutes_between(self.origin, real.start),
            end_min=minutes_between(self.origin, real.end),
            regular_min=regular.worked_min,
            worked_min=real.worked_min,
            regular_min_by_week=self._by_week(regular.worked_by_local_day(self.tz)),
            overtime_min_by_week=self._by_week(
                split_by_local_day(regular.end, real.end, self.tz) if ext else {}
            ),
            cost=cost,
            unavailability_min=unavailable_min,
            posts=posts,
            covers=covers,
        )
        info = OptionInfo(
            person=person,
            template=template,
            day=real.date,
            extension_min=ext,
            real=real,
            regular=regular,
            call_in=call_in,
            cost_cents=cost,
        )
        return info, option

    def _by_week(self, minutes_by_day: dict[date, int]) -> tuple[tuple[int, int], ...]:
        """Minutes per week index; weeks not touching the horizon are dropped."""
        weeks: dict[int, int] = defaultdict(int)
        for day, minutes in minutes_by_day.items():
            week = (week_start(day) - self.first_monday).days // 7
            if 0 <= week < self.num_weeks and minutes > 0:
                weeks[week] += minutes
        return tuple(sorted(weeks.items()))

    def _posts_on(self, person: Person, day: date) -> tuple[int, ...]:
        """Posts the person may fill on `day`: role first, then skills."""
        licences = _licences_on(person, self.request.site.jurisdiction, day)
        if person.role == Role.broker and not licences:
            return ()
        names = [str(person.role)] + list(person.skills)
        for skill in self.posts:
            if _licensed_for(skill, person, licences):
                names.append(skill)
        ordered = list(dict.fromkeys(names))
        return tuple(self._post(name) for name in ordered)

    # ------------------------------------------------------------------
    # People

    def _rules(self, person: Person) -> PersonRules:
        contract = person.contract
        history = self.history.get(person.id)
        carried_min = history.minutes_worked_this_week if history else 0
        max_by_week = []
        min_by_week = []
        for week in range(self.num_weeks):
            monday = self.first_monday + timedelta(days=7 * week)
            carried = carried_min if week == 0 else 0
            max_by_week.append(contract.max_minutes_per_week - carried)
            whole = monday >= self.dates[0] and monday + timedelta(6) <= self.dates[-1]
            minimum = contract.min_minutes_per_week - carried if whole else 0
            min_by_week.append(max(0, minimum))
        max_weekends = contract.max_working_weekends
        if max_weekends is not None and history is not None:
            max_weekends -= history.working_weekends
        return PersonRules(
            min_rest_min=contract.min_rest_min,
            max_shifts_by_type=tuple(
                (self.template_index[t], limit)
                for t, limit in sorted(contract.max_shifts_per_template.items())
            ),
            min_minutes_total=contract.min_minutes_total,
            max_minutes_total=contract.max_minutes_total,
            max_minutes_by_week=tuple(max_by_week),
            min_minutes_by_week=tuple(min_by_week),
            max_overtime_by_week=(contract.max_overtime_min_per_week,) * self.num_weeks,
            max_consecutive_days=contract.max_consecutive_days,
            min_consecutive_days=contract.min_consecutive_days,
            min_consecutive_days_off=contract.min_consecutive_days_off,
            has_history=history is not None,
            days_worked_before=history.consecutive_days_worked if history else 0,
            days_off_before=history.consecutive_days_off if history else 0,
            max_weekends=max_weekends,
        )

    def _wishes(self) -> tuple[RequestWish, ...]:
        day_index = {day: i for i, day in enumerate(self.dates)}
        wishes = []
        for person_idx, person in enumerate(self.request.staff):
            for wish in person.shift_requests:
                if wish.date not in day_index:
                    continue
                wishes.append(
                    RequestWish(
                        person_idx=person_idx,
                        day_idx=day_index[wish.date],
                        shift_type_idx=(
                            -1
                            if wish.template_id is None
                            else self.template_index[wish.template_id]
                        ),
                        on=wish.kind == "on",
                        weight=wish.weight,
                    )
                )
        return tuple(wishes)

    def _wishes_outside(self) -> int:
        """Wishes to work on a day outside the horizon can never be met."""
        dates = set(self.dates)
        return sum(
            wish.weight
            for person in self.request.staff
            for wish in person.shift_requests
            if wish.kind == "on" and wish.date not in dates
        )

    def _successions(self) -> tuple[tuple[int, int], ...]:
        return tuple(
            (self.template_index[t.id], self.template_index[after])
            for t in self.request.shift_templates
            for after in t.forbidden_successors
        )

    def _weekends(self) -> tuple[tuple[int, ...], ...]:
        """Day indices of each Saturday-Sunday pair touching the horizon."""
        day_index = {day: i for i, day in enumerate(self.dates)}
        weekends = []
        saturday = self.dates[0] - timedelta(days=(self.dates[0].weekday() - 5) % 7)
        while saturday <= self.dates[-1]:
            days = tuple(
                day_index[d]
                for d in (saturday, saturday + timedelta(days=1))
                if d in day_index
            )
            if days:
                weekends.append(days)
            saturday += timedelta(days=7)
        return tuple(weekends)

    def _fairness_groups(self) -> tuple[tuple[int, ...], ...]:
        jurisdiction = self.request.site.jurisdiction
        groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
        for person_idx, person in enumerate(self.request.staff):
            if person.on_call is not None:
                continue
            key = (
                str(person.role),
                tuple(sorted(person.skills)),
                _licence_pairs(person.licences, jurisdiction),
                person.contract.max_minutes_per_week,
            )
            groups[key].append(person_idx)
        return tuple(tuple(g) for g in groups.values() if len(g) >= 2)

    def _weights(self) -> Weights:
        weights = self.request.settings.weights
        soft = self.request.settings.policies.unavailability == "soft"
        return Weights(
            cost=weights.cost,
            requests=weights.requests,
            unavailability=weights.unavailability if soft else 0,
            fairness=weights.fairness,
        )


# --------------------------------------------------------------------------
# Licences and leave


def _licences_on(person: Person, jurisdiction: str, day: date) -> list[Licence]:
    return [
        licence
        for licence in person.licences
        if licence.jurisdiction == jurisdiction and licence.valid_on(day)
    ]


def _licensed_for(skill: str, person: Person, licences: list[Licence]) -> bool:
    """Whether a broker's licences that day hold a regime or commodity post."""
    if person.role != Role.broker or ":" not in skill:
        return False
    kind, _, value = skill.partition(":")
    if kind == "regime":
        return any(not lic.regimes or value in lic.regimes for lic in licences)
    if kind == "commodity":
        return any(not lic.commodities or value in lic.commodities for lic in licences)
    return False


def _licence_pairs(
    licences: list[Licence], jurisdiction: str
) -> tuple[tuple[str, str], ...]:
    """(regime, commodity) pairs the licences cover in the jurisdiction.

    A licence with no commodities covers all of them ("*"), which makes any
    specific commodity of the same regime redundant.
    """
    pairs: set[tuple[str, str]] = set()
    for licence in licences:
        if licence.jurisdiction != jurisdiction:
            continue
        regimes = [str(r) for r in licence.regimes] or [str(r) for r in Regime]
        commodities = list(licence.commodities) or [_ANY_COMMODITY]
        pairs.update((r, c) for r in regimes for c in commodities)
    general = {r for r, c in pairs if c == _ANY_COMMODITY}
    return tuple(
        sorted((r, c) for r, c in pairs if c == _ANY_COMMODITY or r not in general)
    )


def _leave_span(item: DateRange | Interval, tz: str) -> tuple[datetime, datetime]:
    if isinstance(item, DateRange):
        return (
            local_midnight(item.first_date, tz),
            local_midnight(item.last_date + timedelta(days=1), tz),
        )
    return item.start, item.end
