"""Tests of the index-based roster model: small cases worked out by hand."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from solver.roster import (
    CoverNeed,
    PersonRules,
    RequestWish,
    RosterData,
    RosterStatus,
    ShiftOption,
    SolveParams,
    solve_roster,
)
from solver.roster.result import gap_of, roster_terms

DAY_MIN = 24 * 60


def day_shift(
    person: int, day: int, covers: tuple[int, ...] = (), **kw: Any
) -> ShiftOption:
    """An 08:00-16:00 shift (480 minutes) on `day`, covering `covers`."""
    fields: dict[str, Any] = {
        "person_idx": person,
        "day_idx": day,
        "shift_type_idx": 0,
        "start_min": day * DAY_MIN + 8 * 60,
        "end_min": day * DAY_MIN + 16 * 60,
        "regular_min": 480,
        "worked_min": 480,
        "covers": covers,
    }
    fields.update(kw)
    return ShiftOption(**fields)


def data_of(people, options, covers=(), num_days=1, **kw) -> RosterData:
    return RosterData(
        num_days=num_days,
        num_weeks=1,
        num_shift_types=2,
        num_posts=2,
        people=tuple(people),
        options=tuple(options),
        covers=tuple(covers),
        **kw,
    )


def solve(data: RosterData, **kw):
    kw.setdefault("time_limit_s", 5.0)
    return solve_roster(data, SolveParams(**kw))


def test_cover_shortage_is_slack_not_infeasibility():
    """One clerk for a need of two: one missing person costs weight_under."""
    data = data_of([PersonRules()], [day_shift(0, 0, (0,))], [CoverNeed(0, 2, 100, 1)])
    result = solve(data)
    assert result.status == RosterStatus.optimal
    assert result.chosen == ((0, 0),)
    assert result.objective == 100
    assert result.terms["undercover"] == 100
    assert result.bound == 100 and result.gap == 0.0


def test_cover_surplus_costs_weight_over():
    """Two clerks for a need of one: the second stays home (over-cover 5)."""
    options = [day_shift(0, 0, (0,)), day_shift(1, 0, (0,))]
    data = data_of([PersonRules(), PersonRules()], options, [CoverNeed(0, 1, 100, 5)])
    result = solve(data)
    assert result.objective == 0
    assert len(result.chosen) == 1


def test_rest_below_minimum_keeps_two_shifts_apart():
    """A late shift then an early one 8 h later cannot both be worked."""
    late = day_shift(0, 0, (0,), start_min=14 * 60, end_min=22 * 60)
    early = day_shift(0, 1, (1,), start_min=DAY_MIN + 6 * 60, end_min=DAY_MIN + 14 * 60)
    covers = [CoverNeed(0, 1, 10, 0), CoverNeed(0, 1, 7, 0)]
    data = data_of([PersonRules(min_rest_min=11 * 60)], [late, early], covers, 2)
    result = solve(data)
    assert result.objective == 7  # the late shift (weight 10) wins
    assert result.chosen == ((0, 0),)


def test_rest_of_exactly_the_minimum_is_allowed():
    """Rest of exactly 11 h (21:00 to 08:00) lets both shifts be worked."""
    late = day_shift(0, 0, (0,), start_min=13 * 60, end_min=21 * 60)
    early = day_shift(0, 1, (1,), start_min=DAY_MIN + 8 * 60, end_min=DAY_MIN + 16 * 60)
    covers = [CoverNeed(0, 1, 10, 0), CoverNeed(0, 1, 7, 0)]
    data = data_of([PersonRules(min_rest_min=11 * 60)], [late, early], covers, 2)
    assert solve(data).objective == 0


def three_days(rules: PersonRules, weights_over: tuple[int, int, int], need_day: int):
    """One person, three days; one person needed on `need_day` (weight 10)."""
    options = [day_shift(0, d, (d,)) for d in range(3)]
    covers = [
        CoverNeed(0, 1 if d == need_day else 0, 10, weights_over[d]) for d in range(3)
    ]
    return data_of([rules], options, covers, 3)


def test_min_consecutive_days_forbids_a_lone_working_day():
    """Min 2 days: day 1 alone is banned, so days 1-2 are worked (over 1)."""
    rules = PersonRules(min_consecutive_days=2, has_history=True, days_off_before=9)
    result = solve(three_days(rules, (3, 0, 1), need_day=1))
    assert result.objective == 1
    assert [option for option, _ in result.chosen] == [1, 2]


def test_min_consecutive_days_exempts_a_run_ending_on_the_last_day():
    """Min 2 days: a lone working day on the last day may go on after."""
    rules = PersonRules(min_consecutive_days=2, has_history=True, days_off_before=9)
    result = solve(three_days(rules, (3, 3, 0), need_day=2))
    assert result.objective == 0
    assert [option for option, _ in result.chosen] == [2]


def test_min_consecutive_days_counts_the_history_run():
    """One day worked before the horizon makes day 0 alone a run of two."""
    rules = PersonRules(min_consecutive_days=2, has_history=True, days_worked_before=1)
    result = solve(three_days(rules, (0, 3, 3), need_day=0))
    assert result.objective == 0
    assert [option for option, _ in result.chosen] == [0]


def test_min_consecutive_days_off_forbids_a_lone_day_off():
    """Min 2 days off: working days 0 and 2 around one day off is banned."""
    rules = PersonRules(min_consecutive_days_off=2, has_history=True)
    options = [day_shift(0, d, (d,)) for d in range(4)]
    covers = [CoverNeed(0, 1, 10, 0), CoverNeed(0, 0, 0, 0), CoverNeed(0, 1, 6, 0)]
    covers.append(CoverNeed(0, 0, 0, 2))
    result = solve(data_of([rules], options, covers, 4))
    # Day 0 alone then days off 1-3 (under 6), or days 0-2 worked (over 0).
    assert result.objective == 0
    assert [option for option, _ in result.chosen] == [0, 1, 2]


def test_max_consecutive_days_is_a_sliding_window():
    """At most two days in a row over three needed days leaves one short."""
    options = [day_shift(0, d, (d,)) for d in range(3)]
    covers = [CoverNeed(0, 1, 10 + d, 0) for d in range(3)]
    result = solve(data_of([PersonRules(max_consecutive_days=2)], options, covers, 3))
    assert result.objective == 10  # day 0, the cheapest miss, is left out


def test_forbidden_succession_keeps_the_heavier_shift():
    """Type 1 may not start the day after type 0: only one of the two works."""
    first = day_shift(0, 0, (0,))
    second = day_shift(0, 1, (1,), shift_type_idx=1)
    covers = [CoverNeed(0, 1, 10, 0), CoverNeed(0, 1, 4, 0)]
    data = data_of(
        [PersonRules()], [first, second], covers, 2, forbidden_successions=((0, 1),)
    )
    assert solve(data).objective == 4


def test_one_post_per_shift():
    """A shift able to fill two posts counts toward one requirement only."""
    option = day_shift(0, 0, (0, 1), posts=(0, 1))
    covers = [CoverNeed(0, 1, 30, 0), CoverNeed(1, 1, 20, 0)]
    result = solve(data_of([PersonRules()], [option], covers))
    assert result.objective == 20
    assert result.chosen == ((0, 0),)


def test_wishes_count_their_weight_when_unmet():
    """An off wish (weight 3) beats a need of weight 2; an on wish adds 5."""
    options = [day_shift(0, 0, (0,)), day_shift(0, 1, ())]
    wishes = (RequestWish(0, 0, -1, False, 3), RequestWish(0, 1, 0, True, 5))
    covers = [CoverNeed(0, 1, 2, 0)]
    data = data_of([PersonRules()], options, covers, 2, wishes=wishes)
    result = solve(data)
    assert result.objective == 2  # stays off on day 0, works day 1
    assert result.terms["requests"] == 0


def test_min_minutes_total_beyond_reach_is_proved_infeasible():
    """Asking 600 minutes of a person who can work 480 is infeasible."""
    data = data_of([PersonRules(min_minutes_total=600)], [day_shift(0, 0)])
    result = solve(data)
    assert result.status == RosterStatus.infeasible
    assert result.chosen == ()


def random_data(seed: int, num_people: int = 8, num_days: int = 14) -> RosterData:
    """A roster with cover, min runs and wishes, hard enough to take a while."""
    rng = random.Random(seed)
    people = [
        PersonRules(
            min_consecutive_days=2,
            min_consecutive_days_off=2,
            max_consecutive_days=5,
            has_history=True,
            days_off_before=5,
            max_minutes_total=480 * 10,
        )
        for _ in range(num_people)
    ]
    options = [
        day_shift(p, d, (d,)) for p in range(num_people) for d in range(num_days)
    ]
    covers = [
        CoverNeed(0, rng.randint(2, num_people - 2), 100, 1) for _ in range(num_days)
    ]
    wishes = tuple(
        RequestWish(
            rng.randrange(num_people),
            rng.randrange(num_days),
            -1,
            rng.random() < 0.5,
            3,
        )
        for _ in range(num_people * 3)
    )
    return data_of(people, options, covers, num_days, wishes=wishes)


def test_reproducible_mode_gives_the_same_roster_twice():
    """Same data, seed and deterministic limit: the same roster and objective."""
    data = random_data(1)
    first = solve(data, time_limit_s=1.0, reproducible=True, seed=3)
    second = solve(data, time_limit_s=1.0, reproducible=True, seed=3)
    assert first.chosen == second.chosen
    assert first.objective == second.objective
    assert first.status == second.status


def test_stop_flag_gives_cancelled_with_the_roster_so_far():
    """Setting the stop flag at the first roster ends the solve as cancelled."""
    stop = threading.Event()
    seen: list[int] = []

    def on_progress(objective: int, bound: int, elapsed_s: float) -> None:
        seen.append(objective)
        stop.set()

    result = solve(
        random_data(2, 12, 21), time_limit_s=20.0, on_progress=on_progress, stop=stop
    )
    assert result.status == RosterStatus.cancelled
    assert result.objective is not None and seen
    assert result.runtime_s < 10.0


def test_terms_recomputed_from_the_chosen_roster():
    """The result's terms are those of its roster over the data."""
    data = random_data(4)
    result = solve(data, time_limit_s=2.0)
    assert result.terms == roster_terms(data, result.chosen)
    assert result.objective == sum(result.terms.values())


@pytest.mark.parametrize(
    ("objective", "bound", "gap"),
    [(100, 90, 0.1), (0, 0, 0.0), (5, None, None), (100, 120, 0.0)],
)
def test_gap_of_objective_and_bound(objective, bound, gap):
    """The gap is (objective - bound) / max(1, |objective|), never negative."""
    assert gap_of(objective, bound) == gap


def test_data_refuses_an_option_of_an_unknown_person():
    """An option pointing past the staff fails with a message naming the field."""
    with pytest.raises(ValueError, match="person_idx"):
        data_of([PersonRules()], [day_shift(3, 0)])
