"""Index-based problem data of the roster (shift-plan) model.

Everything here is plain integers and tuples: people, days, shift types,
posts, weeks and cover requirements are indices. The domain wrapper
(`scheduler.roster`) turns templates, staff and requirements into these
arrays; this package never sees a person or a date.

A *shift option* is one shift a person may take: a shift type started on a
day, with one overtime extension. Options the person may not take at all
(wrong role or weekday, leave, licence, notice, a template limit of zero)
are simply not listed, so the model never creates a variable for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class ShiftOption:
    """One shift a person may take.

    Parameters
    ----------
    person_idx, day_idx, shift_type_idx
        Who, on which day of the horizon, which shift type (template).
    start_min, end_min
        Real start and end (extension included) in minutes from the start
        of the horizon's first day; used for the minimum rest.
    regular_min
        Worked minutes without the extension (minutes rules).
    worked_min
        Worked minutes with the extension (fairness).
    regular_min_by_week, overtime_min_by_week
        ``(week_idx, minutes)`` pairs: where the regular and the overtime
        minutes really fall.
    cost
        Cost of the shift in cents, before the cost weight.
    unavailability_min
        Minutes overlapping soft unavailability, before its weight.
    posts
        The posts (skills) the person may fill on this shift.
    covers
        Cover requirements whose interval or slot this shift spans; the
        shift counts toward one of them only when its post is theirs.
    """

    person_idx: int
    day_idx: int
    shift_type_idx: int
    start_min: int
    end_min: int
    regular_min: int
    worked_min: int
    regular_min_by_week: tuple[tuple[int, int], ...] = ()
    overtime_min_by_week: tuple[tuple[int, int], ...] = ()
    cost: int = 0
    unavailability_min: int = 0
    posts: tuple[int, ...] = (0,)
    covers: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _require(self.person_idx >= 0, "person_idx must be >= 0")
        _require(self.day_idx >= 0, "day_idx must be >= 0")
        _require(self.shift_type_idx >= 0, "shift_type_idx must be >= 0")
        _require(self.end_min > self.start_min, "end_min must be after start_min")
        _require(self.regular_min >= 0, "regular_min must be >= 0")
        _require(
            self.worked_min >= self.regular_min,
            "worked_min must be at least regular_min",
        )
        _require(self.cost >= 0, "cost must be >= 0")
        _require(self.unavailability_min >= 0, "unavailability_min must be >= 0")
        _require(len(self.posts) > 0, "posts must name at least one post")
        _require(len(set(self.posts)) == len(self.posts), "posts must be distinct")


@dataclass(frozen=True)
class PersonRules:
    """The hard rules of one person, already net of their history.

    Parameters
    ----------
    min_rest_min
        Minimum real minutes between the end of a shift and the next start.
    max_shifts_by_type
        ``(shift_type_idx, max)`` pairs; a type not listed has no limit.
    min_minutes_total, max_minutes_total
        Regular minutes over the horizon; ``None`` is no maximum.
    max_minutes_by_week, min_minutes_by_week
        Regular minutes allowed per week index (history already taken off);
        a minimum of 0 where the rule does not apply.
    max_overtime_by_week
        Overtime minutes allowed per week index.
    max_consecutive_days
        Longest run of working days.
    min_consecutive_days, min_consecutive_days_off
        Shortest run of working days and of days off; runs that end on the
        last day are exempt (they may go on).
    has_history
        Whether the days before the horizon are known; without it a run
        starting on the first day is exempt from the minimum rules.
    days_worked_before, days_off_before
        Length of the run of working days (days off) just before the
        horizon; they lengthen a run starting on the first day.
    max_weekends
        Worked weekends still allowed, ``None`` for no limit.
    """

    min_rest_min: int = 0
    max_shifts_by_type: tuple[tuple[int, int], ...] = ()
    min_minutes_total: int = 0
    max_minutes_total: int | None = None
    max_minutes_by_week: tuple[int, ...] = ()
    min_minutes_by_week: tuple[int, ...] = ()
    max_overtime_by_week: tuple[int, ...] = ()
    max_consecutive_days: int = 10**6
    min_consecutive_days: int = 1
    min_consecutive_days_off: int = 1
    has_history: bool = False
    days_worked_before: int = 0
    days_off_before: int = 0
    max_weekends: int | None = None

    def __post_init__(self) -> None:
        _require(self.min_rest_min >= 0, "min_rest_min must be >= 0")
        _require(self.min_minutes_total >= 0, "min_minutes_total must be >= 0")
        _require(self.max_consecutive_days >= 0, "max_consecutive_days must be >= 0")
        _require(self.min_consecutive_days >= 1, "min_consecutive_days must be >= 1")
        _require(
            self.min_consecutive_days_off >= 1,
            "min_consecutive_days_off must be >= 1",
        )
        _require(
            self.days_worked_before >= 0 and self.days_off_before >= 0,
            "days_worked_before and days_off_before must be >= 0",
        )
        for _, limit in self.max_shifts_by_type:
            _require(limit >= 0, "max_shifts_by_type limits must be >= 0")


@dataclass(frozen=True)
class CoverNeed:
    """Persons needed on one post over an interval or a shift slot."""

    post_idx: int
    persons: int
    weight_under: int
    weight_over: int

    def __post_init__(self) -> None:
        _require(self.post_idx >= 0, "post_idx must be >= 0")
        _require(self.persons >= 0, "persons must be >= 0")
        _require(
            self.weight_under >= 0 and self.weight_over >= 0,
            "weight_under and weight_over must be >= 0",
        )


@dataclass(frozen=True)
class RequestWish:
    """A wish to work (``on=True``) or not to work on a day.

    ``shift_type_idx`` of -1 means any shift type.
    """

    person_idx: int
    day_idx: int
    shift_type_idx: int
    on: bool
    weight: int

    def __post_init__(self) -> None:
        _require(self.weight >= 0, "weight must be >= 0")
        _require(self.shift_type_idx >= -1, "shift_type_idx must be >= -1")


@dataclass(frozen=True)
class Weights:
    """Weights of the cost-like objective terms (cover carries its own)."""

    cost: int = 1
    requests: int = 1
    unavailability: int = 1
    fairness: int = 0

    def __post_init__(self) -> None:
        _require(
            min(self.cost, self.requests, self.unavailability, self.fairness) >= 0,
            "weights must be >= 0",
        )


@dataclass(frozen=True)
class RosterData:
    """The whole roster problem over index-based arrays.

    Parameters
    ----------
    num_days, num_weeks, num_shift_types, num_posts
        Sizes; people are ``len(people)``.
    people
        Rules per person.
    options
        Every shift a person may take.
    covers
        Cover requirements; ``ShiftOption.covers`` refers to them by index.
    wishes
        Shift requests (on / off wishes).
    forbidden_successions
        ``(a, b)``: type ``b`` may not start the day after type ``a``.
    weekends
        Day indices of each weekend inside the horizon (one or two days).
    fairness_groups
        Groups of two or more equally qualified people.
    weights
        Weights of cost, requests, unavailability and fairness.
    unmet_wishes_fixed
        Weight of wishes unmet whatever the roster (a wish to work on a
        day outside the horizon); added to the requests term.
    """

    num_days: int
    num_weeks: int
    num_shift_types: int
    num_posts: int
    people: tuple[PersonRules, ...]
    options: tuple[ShiftOption, ...]
    covers: tuple[CoverNeed, ...] = ()
    wishes: tuple[RequestWish, ...] = ()
    forbidden_successions: tuple[tuple[int, int], ...] = ()
    weekends: tuple[tuple[int, ...], ...] = ()
    fairness_groups: tuple[tuple[int, ...], ...] = ()
    weights: Weights = field(default_factory=Weights)
    unmet_wishes_fixed: int = 0

    def __post_init__(self) -> None:
        _require(self.num_days >= 1, "num_days must be >= 1")
        _require(self.unmet_wishes_fixed >= 0, "unmet_wishes_fixed must be >= 0")
        _require(self.num_weeks >= 1, "num_weeks must be >= 1")
        num_people = len(self.people)
        for person in self.people:
            for name in ("max_minutes_by_week", "max_overtime_by_week"):
                values = getattr(person, name)
                _require(
                    len(values) in (0, self.num_weeks),
                    f"{name} must have one value per week ({self.num_weeks})",
                )
            _require(
                len(person.min_minutes_by_week) in (0, self.num_weeks),
                f"min_minutes_by_week must have one value per week ({self.num_weeks})",
            )
        for option in self.options:
            _require(option.person_idx < num_people, "options.person_idx out of range")
            _require(option.day_idx < self.num_days, "options.day_idx out of range")
            _require(
                option.shift_type_idx < self.num_shift_types,
                "options.shift_type_idx out of range",
            )
            _require(
                all(0 <= k < self.num_posts for k in option.posts),
                "options.posts out of range",
            )
            _require(
                all(0 <= r < len(self.covers) for r in option.covers),
                "options.covers out of range",
            )
            weeks = option.regular_min_by_week + option.overtime_min_by_week
            _require(
                all(0 <= w < self.num_weeks for w, _ in weeks),
                "options week index out of range",
            )
        for cover in self.covers:
            _require(cover.post_idx < self.num_posts, "covers.post_idx out of range")
        for wish in self.wishes:
            _require(wish.person_idx < num_people, "wishes.person_idx out of range")
            _require(wish.day_idx < self.num_days, "wishes.day_idx out of range")
        for group in self.fairness_groups:
            _require(
                all(0 <= p < num_people for p in group),
                "fairness_groups person index out of range",
            )
        for days in self.weekends:
            _require(
                all(0 <= d < self.num_days for d in days),
                "weekends day index out of range",
            )

    @property
    def num_people(self) -> int:
        return len(self.people)

    def options_by_person_day(self) -> list[list[list[int]]]:
        """Option indices per person and day."""
        table: list[list[list[int]]] = [
            [[] for _ in range(self.num_days)] for _ in self.people
        ]
        for option_idx, option in enumerate(self.options):
            table[option.person_idx][option.day_idx].append(option_idx)
        return table
