"""A greedy roster: the CP-SAT hint and the fallback when it finds nothing.

It works on the engine's index data (`solver.roster.RosterData`) and keeps
every hard rule of each person:

1. *Fill*: take the cover requirement with the largest weighted gap and
   give it the shift that lowers the objective most (the least cost for
   the cover gained); a shift that would break a rule capping something
   (rest, successions, per-template and minute maxima, runs, weekends) is
   never taken. Requirements nothing can improve are set aside.
2. *Improve and repair*: sweep over people and days trying every change of
   one day (another shift, another post, a day off) and of a block of days
   (work a run, take a run off). The score counts the rules asking for a
   minimum (minutes, shortest runs of working days and days off) as a
   penalty far above any objective term, so repairs come first; a change
   is kept only when it lowers the score.
3. *Re-plan a person*: a person whose minimum rules the moves could not
   satisfy gets the best days the others leave them, found exactly by
   CP-SAT on that person alone (the others' shifts fixed, their cover
   counted); then the sweeps run again.

What is left broken afterwards is a minimum rule of a person that no
roster of theirs can satisfy; the wrapper then reports the plan as
failed, naming that rule.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import random
import time
from dataclasses import dataclass

from solver.roster import (
    CoverNeed,
    RequestWish,
    RosterData,
    SolveParams,
    solve_roster,
)
from solver.roster.data import PersonRules

logger = logging.getLogger(__name__)

# Score of one unit of a broken minimum rule: above any objective change.
_REPAIR_WEIGHT = 10**12
# Days of shortfall on a shortest-run rule weigh like this many minutes.
_DAY_UNITS = 600
# Candidate shifts fully checked per requirement filled, when there are
# more than _FILL_EXHAUSTIVE of them (below that, all are checked: a shift
# may pay for itself by repairing a minimum rule, not by its cover).
_FILL_CHECKS = 8
_FILL_EXHAUSTIVE = 64

Choice = tuple[int, int] | None  # (option_idx, post_idx) or a day off


@dataclass(frozen=True)
class GreedyRoster:
    """A greedy roster and the minimum rules it still breaks.

    Parameters
    ----------
    chosen
        ``(option_idx, post_idx)`` pairs, by option index.
    broken_rules
        Names of minimum rules still broken (empty when the roster keeps
        every hard rule): ``minutes_total``, ``minutes_per_week``,
        ``min_consecutive_days``, ``min_consecutive_days_off``.
    """

    chosen: tuple[tuple[int, int], ...]
    broken_rules: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.broken_rules


def greedy_roster(
    data: RosterData,
    *,
    time_limit_s: float | None = 10.0,
    max_sweeps: int = 30,
    seed: int = 0,
) -> GreedyRoster:
    """Build a roster keeping every hard rule, filling the largest gaps first.

    Parameters
    ----------
    data
        The index-based roster problem.
    time_limit_s
        Wall-clock cap; ``None`` for none (reproducible runs rely on
        `max_sweeps` alone so the result does not depend on the machine).
    max_sweeps
        Cap on improvement sweeps.
    seed
        Seed of the order in which people are visited.
    """
    started = time.monotonic()
    state = _State(data)

    def out_of_time() -> bool:
        return time_limit_s is not None and time.monotonic() - started > time_limit_s

    state.fill(out_of_time)
    rng = random.Random(seed)
    for _ in range(max_sweeps):
        if out_of_time() or not state.sweep(rng, out_of_time):
            break
    replanned = [
        person_idx
        for person_idx in range(data.num_people)
        if state.short[person_idx] > 0
        and not out_of_time()
        and state.replan_person(person_idx, deterministic=time_limit_s is None)
    ]
    if replanned:
        for _ in range(max_sweeps):
            if out_of_time() or not state.sweep(rng, out_of_time):
                break
    broken = state.broken_rules()
    logger.debug(
        "greedy roster: %d shifts, broken %s, %.2fs",
        len(state.chosen()),
        broken or "none",
        time.monotonic() - started,
    )
    return GreedyRoster(chosen=state.chosen(), broken_rules=broken)


class _Rules:
    """The per-person hard rules, evaluated on one person's days."""

    def __init__(self, data: RosterData, rules: PersonRules) -> None:
        self.data = data
        self.rules = rules
        self.type_limits = dict(rules.max_shifts_by_type)
        successors: dict[int, set[int]] = {}
        for before, after in data.forbidden_successions:
            successors.setdefault(before, set()).add(after)
        self.successors = successors

    def check(self, days: list[Choice]) -> tuple[int, dict[str, int]]:
        """Excess over the capping rules, and shortfall per minimum rule."""
        options = self.data.options
        rules = self.rules
        excess = 0
        short: dict[str, int] = {}
        worked = [c is not None for c in days]

        # Rest and successions between consecutive shifts.
        previous = None
        for day_idx, choice in enumerate(days):
            if choice is None:
                continue
            option = options[choice[0]]
            if previous is not None:
                before = options[previous[1]]
                if option.start_min - before.end_min < rules.min_rest_min:
                    excess += 1
                if previous[0] == day_idx - 1 and option.shift_type_idx in (
                    self.successors.get(before.shift_type_idx, ())
                ):
                    excess += 1
            previous = (day_idx, choice[0])

        # Counts and minutes.
        per_type: dict[int, int] = {}
        total = 0
        regular = [0] * self.data.num_weeks
        overtime = [0] * self.data.num_weeks
        for choice in days:
            if choice is None:
                continue
            option = options[choice[0]]
            per_type[option.shift_type_idx] = per_type.get(option.shift_type_idx, 0) + 1
            total += option.regular_min
            for week, minutes in option.regular_min_by_week:
                regular[week] += minutes
            for week, minutes in option.overtime_min_by_week:
                overtime[week] += minutes
        for type_idx, count in per_type.items():
            excess += max(0, count - self.type_limits.get(type_idx, count))
        if rules.max_minutes_total is not None:
            excess += max(0, total - rules.max_minutes_total)
        _add(short, "minutes_total", max(0, rules.min_minutes_total - total))
        for week in range(self.data.num_weeks):
            if rules.max_minutes_by_week:
                excess += max(0, regular[week] - rules.max_minutes_by_week[week])
            if rules.max_overtime_by_week:
                excess += max(0, overtime[week] - rules.max_overtime_by_week[week])
            if rules.min_minutes_by_week:
                _add(
                    short,
                    "minutes_per_week",
                    max(0, rules.min_minutes_by_week[week] - regular[week]),
                )

        excess += self._runs(worked, short)
        if rules.max_weekends is not None:
            weekends = sum(
                1 for days_idx in self.data.weekends if any(worked[d] for d in days_idx)
            )
            excess += max(0, weekends - rules.max_weekends)
        return excess, short

    def _runs(self, worked: list[bool], short: dict[str, int]) -> int:
        """Excess over the longest run; shortfall of the shortest runs."""
        rules = self.rules
        excess = 0
        num_days = len(worked)
        day_idx = 0
        while day_idx < num_days:
            kind = worked[day_idx]
            end = day_idx
            while end < num_days and worked[end] == kind:
                end += 1
            length = end - day_idx
            if day_idx == 0:
                before = rules.days_worked_before if kind else rules.days_off_before
                length += before
            if kind and length > rules.max_consecutive_days:
                excess += length - rules.max_consecutive_days
            exempt = end == num_days or (day_idx == 0 and not rules.has_history)
            if not exempt:
                shortest = (
                    rules.min_consecutive_days
                    if kind
                    else rules.min_consecutive_days_off
                )
                name = "min_consecutive_days" if kind else "min_consecutive_days_off"
                _add(short, name, _DAY_UNITS * max(0, shortest - length))
            day_idx = end
        return excess


def _add(short: dict[str, int], name: str, amount: int) -> None:
    if amount > 0:
        short[name] = short.get(name, 0) + amount


class _State:
    """The roster being built: choices, planned cover and scores."""

    def __init__(self, data: RosterData) -> None:
        self.data = data
        self.by_person_day = data.options_by_person_day()
        self.rules = [_Rules(data, person) for person in data.people]
        self.days: list[list[Choice]] = [[None] * data.num_days for _ in data.people]
        self.planned = [0] * len(data.covers)
        self.cover_post = [cover.post_idx for cover in data.covers]
        self.counted = [self._counted_posts(o) for o in range(len(data.options))]
        self.wishes: dict[tuple[int, int], list[int]] = {}
        for idx, wish in enumerate(data.wishes):
            self.wishes.setdefault((wish.person_idx, wish.day_idx), []).append(idx)
        self.short = [self._shortfall(p) for p in range(data.num_people)]

    def _counted_posts(self, option_idx: int) -> dict[int, list[int]]:
        """Per post worth choosing, the requirements it would count toward."""
        option = self.data.options[option_idx]
        cover_post = self.cover_post
        if len(option.posts) == 1:
            # Most people hold one post: one pass, no grouping.
            post = option.posts[0]
            return {post: [r for r in option.covers if cover_post[r] == post]}
        counted: dict[int, list[int]] = {}
        for cover_idx in option.covers:
            counted.setdefault(cover_post[cover_idx], []).append(cover_idx)
        idle = [k for k in option.posts if k not in counted]
        result = {k: v for k, v in counted.items() if k in option.posts}
        if idle:
            result[idle[0]] = []
        return result

    def _shortfall(self, person_idx: int) -> int:
        _, short = self.rules[person_idx].check(self.days[person_idx])
        return sum(short.values())

    # ------------------------------------------------------------------
    # Scores

    def _cover_score(self, cover_idx: int, planned: int) -> int:
        cover = self.data.covers[cover_idx]
        return cover.weight_under * max(0, cover.persons - planned) + (
            cover.weight_over * max(0, planned - cover.persons)
        )

    def _choice_score(self, person_idx: int, day_idx: int, choice: Choice) -> int:
        """Cost, unavailability and wishes of one day's choice."""
        weights = self.data.weights
        score = 0
        option = None
        if choice is not None:
            option = self.data.options[choice[0]]
            score += weights.cost * option.cost
            score += weights.unavailability * option.unavailability_min
        for wish_idx in self.wishes.get((person_idx, day_idx), ()):
            wish = self.data.wishes[wish_idx]
            matches = option is not None and (
                wish.shift_type_idx < 0 or option.shift_type_idx == wish.shift_type_idx
            )
            if matches != wish.on:
                score += weights.requests * wish.weight
        return score

    def delta(self, person_idx: int, changes: dict[int, Choice]) -> int | None:
        """Score change of setting some days of a person; None if not allowed."""
        row = self.days[person_idx]
        new_row = list(row)
        for day_idx, choice in changes.items():
            new_row[day_idx] = choice
        excess, short = self.rules[person_idx].check(new_row)
        if excess > 0:
            return None
        score = _REPAIR_WEIGHT * (sum(short.values()) - self.short[person_idx])
        count_change: dict[int, int] = {}
        for day_idx, choice in changes.items():
            old = row[day_idx]
            score += self._choice_score(person_idx, day_idx, choice)
            score -= self._choice_score(person_idx, day_idx, old)
            for sign, item in ((-1, old), (1, choice)):
                if item is not None:
                    for cover_idx in self.counted[item[0]].get(item[1], ()):
                        count_change[cover_idx] = count_change.get(cover_idx, 0) + sign
        for cover_idx, change in count_change.items():
            if change:
                now = self.planned[cover_idx]
                score += self._cover_score(cover_idx, now + change)
                score -= self._cover_score(cover_idx, now)
        return score

    def apply(self, person_idx: int, changes: dict[int, Choice]) -> None:
        row = self.days[person_idx]
        for day_idx, choice in changes.items():
            old = row[day_idx]
            if old is not None:
                for cover_idx in self.counted[old[0]].get(old[1], ()):
                    self.planned[cover_idx] -= 1
            if choice is not None:
                for cover_idx in self.counted[choice[0]].get(choice[1], ()):
                    self.planned[cover_idx] += 1
            row[day_idx] = choice
        self.short[person_idx] = self._shortfall(person_idx)

    def alternatives(self, person_idx: int, day_idx: int) -> list[Choice]:
        choices: list[Choice] = [None]
        for option_idx in self.by_person_day[person_idx][day_idx]:
            for post in self.counted[option_idx]:
                choices.append((option_idx, post))
        return choices

    # ------------------------------------------------------------------
    # Phase 1: fill the largest gaps

    def fill(self, out_of_time: object) -> None:
        """Give the largest weighted gap its best shift until nothing helps."""
        assert callable(out_of_time)
        takers: list[list[tuple[int, int]]] = [[] for _ in self.data.covers]
        for option_idx, posts in enumerate(self.counted):
            for post, cover_idxs in posts.items():
                pair = (option_idx, post)
                for cover_idx in cover_idxs:
                    takers[cover_idx].append(pair)
        # A max-heap of weighted gaps; entries go stale as shifts are added
        # and are checked against the current gap when they come up.
        heap = [(-self._gap(idx), idx) for idx in range(len(self.data.covers))]
        heap = [entry for entry in heap if entry[0] < 0]
        heapq.heapify(heap)
        while heap and not out_of_time():
            negative_gap, cover_idx = heapq.heappop(heap)
            gap = self._gap(cover_idx)
            if gap <= 0:
                continue
            if gap != -negative_gap:
                heapq.heappush(heap, (-gap, cover_idx))
                continue
            if self._fill_one(takers[cover_idx]) and self._gap(cover_idx) > 0:
                heapq.heappush(heap, (-self._gap(cover_idx), cover_idx))

    def _gap(self, cover_idx: int) -> int:
        cover = self.data.covers[cover_idx]
        return cover.weight_under * max(0, cover.persons - self.planned[cover_idx])

    def _fill_one(self, candidates: list[tuple[int, int]]) -> bool:
        """Give one requirement the best of its cheapest candidate shifts.

        Candidates are ranked by their objective change alone (cover gained
        against cost), which is cheap; when there are many, the full check
        of the person's rules runs only on the best few, so a large site
        fills in seconds.
        """
        options = self.data.options
        # Shifts of one template instance on one post span the same
        # requirements, whoever works them: price their cover once.
        cover_gain: dict[tuple[int, int, int, int], int] = {}
        ranked = []
        for option_idx, post in candidates:
            option = options[option_idx]
            if self.days[option.person_idx][option.day_idx] is not None:
                continue
            key = (option.day_idx, option.shift_type_idx, option.end_min, post)
            gain = cover_gain.get(key)
            if gain is None:
                gain = cover_gain[key] = self._single_gain(
                    option.person_idx, option.day_idx, (option_idx, post)
                ) - self._choice_score(
                    option.person_idx, option.day_idx, (option_idx, post)
                )
            choice = (option_idx, post)
            own = self._choice_score(option.person_idx, option.day_idx, choice)
            ranked.append((gain + own, option_idx, post))
        ranked.sort()
        best: tuple[int, int, dict[int, Choice]] | None = None
        checked = 0
        exhaustive = len(ranked) <= _FILL_EXHAUSTIVE
        for gain, option_idx, post in ranked:
            if not exhaustive and (gain >= 0 or checked >= _FILL_CHECKS):
                break
            option = options[option_idx]
            for changes in self._with_run(
                option.person_idx, option.day_idx, (option_idx, post)
            ):
                delta = self.delta(option.person_idx, changes)
                if delta is None:
                    continue
                checked += 1
                if delta < 0 and (best is None or delta < best[0]):
                    best = (delta, option.person_idx, changes)
        if best is None:
            return False
        self.apply(best[1], best[2])
        return True

    def _with_run(
        self, person_idx: int, day_idx: int, choice: Choice
    ) -> list[dict[int, Choice]]:
        """The change alone, and the change made part of a shortest run."""
        result: list[dict[int, Choice]] = [{day_idx: choice}]
        shortest = self.data.people[person_idx].min_consecutive_days
        if shortest > 1:
            for first in range(day_idx - shortest + 1, day_idx + 1):
                changes = self._run_changes(
                    person_idx, first, shortest, day_idx, choice
                )
                if changes:
                    result.append(changes)
        return result

    def _run_changes(
        self,
        person_idx: int,
        first: int,
        length: int,
        fixed_day: int | None = None,
        fixed: Choice = None,
    ) -> dict[int, Choice] | None:
        """Work days first..first+length-1, each with its best single choice."""
        if first < 0 or first + length > self.data.num_days:
            return None
        changes: dict[int, Choice] = {}
        for day_idx in range(first, first + length):
            if day_idx == fixed_day:
                changes[day_idx] = fixed
                continue
            current = self.days[person_idx][day_idx]
            if current is not None:
                continue
            options = self.alternatives(person_idx, day_idx)[1:]
            if not options:
                return None
            gains = [self._single_gain(person_idx, day_idx, c) for c in options]
            changes[day_idx] = options[gains.index(min(gains))]
        return changes

    def _single_gain(self, person_idx: int, day_idx: int, choice: Choice) -> int:
        """Objective change of one choice alone, rules aside (for ranking)."""
        score = self._choice_score(person_idx, day_idx, choice)
        if choice is not None:
            for cover_idx in self.counted[choice[0]].get(choice[1], ()):
                now = self.planned[cover_idx]
                score += self._cover_score(cover_idx, now + 1)
                score -= self._cover_score(cover_idx, now)
        return score

    # ------------------------------------------------------------------
    # Phase 2: improve and repair

    def sweep(self, rng: random.Random, out_of_time: object) -> bool:
        """One pass of single-day and block moves; whether anything changed."""
        assert callable(out_of_time)
        changed = False
        people = list(range(self.data.num_people))
        rng.shuffle(people)
        for person_idx in people:
            if out_of_time():
                return changed
            for day_idx in range(self.data.num_days):
                changed |= self._best_single(person_idx, day_idx)
            changed |= self._best_block(person_idx)
        return changed

    def _best_single(self, person_idx: int, day_idx: int) -> bool:
        current = self.days[person_idx][day_idx]
        best: tuple[int, Choice] | None = None
        for choice in self.alternatives(person_idx, day_idx):
            if choice == current:
                continue
            delta = self.delta(person_idx, {day_idx: choice})
            if delta is not None and delta < 0 and (best is None or delta < best[0]):
                best = (delta, choice)
        if best is None:
            return False
        self.apply(person_idx, {day_idx: best[1]})
        return True

    def _best_block(self, person_idx: int) -> bool:
        """Work a shortest run, or take a run of days off, where it helps."""
        rules = self.data.people[person_idx]
        longest = max(rules.min_consecutive_days, rules.min_consecutive_days_off, 2)
        best: tuple[int, dict[int, Choice]] | None = None
        for length in range(2, longest + 1):
            for first in range(0, self.data.num_days - length + 1):
                days_off: dict[int, Choice] = dict.fromkeys(
                    range(first, first + length)
                )
                candidates = [
                    self._run_changes(person_idx, first, length),
                    days_off,
                ]
                for changes in candidates:
                    if not changes:
                        continue
                    delta = self.delta(person_idx, changes)
                    if (
                        delta is not None
                        and delta < 0
                        and (best is None or delta < best[0])
                    ):
                        best = (delta, changes)
        if best is None:
            return False
        self.apply(person_idx, best[1])
        return True

    # ------------------------------------------------------------------
    # Phase 3: re-plan one person exactly

    def replan_person(self, person_idx: int, *, deterministic: bool) -> bool:
        """Give a person the best roster of their own, the others fixed.

        Returns whether the person's days changed.
        """
        data = self.data
        own = [o for day in self.by_person_day[person_idx] for o in day]
        if not own:
            return False

        # Cover as the others leave it: this person adds at most one to
        # each requirement, so "persons still missing" prices that exactly.
        planned_by_others = list(self.planned)
        for choice in self.days[person_idx]:
            if choice is not None:
                for cover_idx in self.counted[choice[0]].get(choice[1], ()):
                    planned_by_others[cover_idx] -= 1
        covers = tuple(
            CoverNeed(
                cover.post_idx,
                max(0, cover.persons - planned_by_others[idx]),
                cover.weight_under,
                cover.weight_over,
            )
            for idx, cover in enumerate(data.covers)
        )
        wishes = tuple(
            RequestWish(0, w.day_idx, w.shift_type_idx, w.on, w.weight)
            for w in data.wishes
            if w.person_idx == person_idx
        )
        alone = RosterData(
            num_days=data.num_days,
            num_weeks=data.num_weeks,
            num_shift_types=data.num_shift_types,
            num_posts=data.num_posts,
            people=(data.people[person_idx],),
            options=tuple(
                dataclasses.replace(data.options[o], person_idx=0) for o in own
            ),
            covers=covers,
            wishes=wishes,
            forbidden_successions=data.forbidden_successions,
            weekends=data.weekends,
            weights=dataclasses.replace(data.weights, fairness=0),
        )
        result = solve_roster(
            alone,
            SolveParams(
                time_limit_s=1.0,
                num_workers=1,
                reproducible=deterministic,
                use_lns=False,
            ),
        )
        if not result.has_roster:
            return False
        new_days: dict[int, Choice] = dict.fromkeys(range(data.num_days))
        for local_idx, post in result.chosen:
            option_idx = own[local_idx]
            new_days[data.options[option_idx].day_idx] = (option_idx, post)
        self.apply(person_idx, new_days)
        return True

    # ------------------------------------------------------------------

    def chosen(self) -> tuple[tuple[int, int], ...]:
        return tuple(
            sorted(choice for row in self.days for choice in row if choice is not None)
        )

    def broken_rules(self) -> tuple[str, ...]:
        names: set[str] = set()
        for person_idx, row in enumerate(self.days):
            _, short = self.rules[person_idx].check(row)
            names.update(short)
        return tuple(sorted(names))
