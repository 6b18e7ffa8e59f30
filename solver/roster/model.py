"""The CP-SAT model of the roster: one builder method per family of rules.

Variables exist only for the shift options listed in the data: one boolean
per option (a shift type on a day with one extension), one per post where
an option may fill several posts that matter, one "works that day" literal
per person and day, and the cover slacks. The rules are written for the
strength of the linear relaxation and of propagation:

- minimum runs (working days and days off) are forbidden patterns
  ``off, on x l, off`` as clauses, never counters;
- maximum runs are sliding-window sums;
- the rest and forbidden-succession rules are at-most-one constraints over
  a shift and all the shifts it excludes the next day(s);
- under- and over-cover are slack variables, so a shortage never makes the
  model infeasible.

Call order: `_shift_variables` first (everything refers to it), then
`_post_variables` (cover needs the post literals), then the hard rules in
any order, then `_cover` and `_objective` last (the objective sums the
terms the others registered).
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from solver.roster.data import PersonRules, RosterData

# A day literal: a CP-SAT literal, or None when the person cannot work that
# day at all (the literal would be the constant false).
DayLiteral = cp_model.IntVar | None

# Real minutes a local day may be shorter than 24 h on a DST night, with room.
_DST_MARGIN_MIN = 180


class RosterModel:
    """Builds the CP-SAT model of a `RosterData`.

    Parameters
    ----------
    data
        The index-based roster problem.

    Attributes
    ----------
    model
        The CP-SAT model.
    shift_vars
        One boolean per option, by option index.
    objective
        The objective as a linear expression.
    """

    def __init__(self, data: RosterData) -> None:
        self.data = data
        self.model = cp_model.CpModel()
        self._by_person_day = data.options_by_person_day()
        self.shift_vars: list[cp_model.IntVar] = []
        self._post_choices: list[list[tuple[int, cp_model.IntVar]]] = []
        self._work: list[list[DayLiteral]] = []
        self._cover_slacks: list[tuple[cp_model.IntVar, cp_model.IntVar]] = []
        self._weekend_vars: list[list[tuple[tuple[int, ...], cp_model.IntVar]]] = []
        self._fairness_vars: list[tuple[cp_model.IntVar, cp_model.IntVar]] = []
        self.terms: dict[str, cp_model.LinearExprT] = {}

        self._shift_variables()
        self._post_variables()
        self._one_shift_per_day()
        self._min_rest()
        self._forbidden_successions()
        self._max_shifts_per_type()
        self._minutes()
        self._consecutive_days()
        self._weekends()
        self._cover()
        self._objective()

    # ------------------------------------------------------------------
    # Variables

    def _shift_variables(self) -> None:
        self.shift_vars = [
            self.model.new_bool_var(f"x_{o.person_idx}_{o.day_idx}_{idx}")
            for idx, o in enumerate(self.data.options)
        ]

    def _post_variables(self) -> None:
        """A post literal per option and post that can change the objective.

        A post no requirement of the shift asks for is equivalent to any
        other such post, so one literal stands for all of them.
        """
        covers = self.data.covers
        for option_idx, option in enumerate(self.data.options):
            asked = {covers[r].post_idx for r in option.covers}
            relevant = [k for k in option.posts if k in asked]
            idle = [k for k in option.posts if k not in asked]
            choices = relevant + idle[:1]
            literal = self.shift_vars[option_idx]
            if len(choices) == 1:
                self._post_choices.append([(choices[0], literal)])
                continue
            post_literals = [
                (k, self.model.new_bool_var(f"y_{option_idx}_{k}")) for k in choices
            ]
            self.model.add(sum(y for _, y in post_literals) == literal)
            self._post_choices.append(post_literals)

    # ------------------------------------------------------------------
    # Hard rules

    def _one_shift_per_day(self) -> None:
        """At most one shift starts per person and day; define work literals."""
        for person_days in self._by_person_day:
            row: list[DayLiteral] = []
            for option_idxs in person_days:
                if not option_idxs:
                    row.append(None)
                elif len(option_idxs) == 1:
                    row.append(self.shift_vars[option_idxs[0]])
                else:
                    works = self.model.new_bool_var("w")
                    self.model.add(
                        sum(self.shift_vars[o] for o in option_idxs) == works
                    )
                    row.append(works)
            self._work.append(row)

    def _min_rest(self) -> None:
        """A shift excludes every later shift that starts within the rest."""
        options = self.data.options
        for person_idx, person in enumerate(self.data.people):
            days = self._by_person_day[person_idx]
            rest = person.min_rest_min
            for day_idx, option_idxs in enumerate(days):
                for first in option_idxs:
                    end = options[first].end_min
                    later = day_idx + 1
                    while (
                        later < self.data.num_days
                        and later * 1440 - _DST_MARGIN_MIN - end < rest
                    ):
                        clash = [
                            o for o in days[later] if options[o].start_min - end < rest
                        ]
                        if clash:
                            self.model.add_at_most_one(
                                [self.shift_vars[first]]
                                + [self.shift_vars[o] for o in clash]
                            )
                        later += 1

    def _forbidden_successions(self) -> None:
        """Type b may not start the day after type a."""
        successors: dict[int, set[int]] = defaultdict(set)
        for before, after in self.data.forbidden_successions:
            successors[before].add(after)
        options = self.data.options
        for days in self._by_person_day:
            for day_idx in range(self.data.num_days - 1):
                for option_idx in days[day_idx]:
                    banned = successors.get(options[option_idx].shift_type_idx)
                    if not banned:
                        continue
                    clash = [
                        o
                        for o in days[day_idx + 1]
                        if options[o].shift_type_idx in banned
                    ]
                    if clash:
                        self.model.add_at_most_one(
                            [self.shift_vars[option_idx]]
                            + [self.shift_vars[o] for o in clash]
                        )

    def _max_shifts_per_type(self) -> None:
        options = self.data.options
        for person_idx, person in enumerate(self.data.people):
            for type_idx, limit in person.max_shifts_by_type:
                chosen = [
                    self.shift_vars[o]
                    for day in self._by_person_day[person_idx]
                    for o in day
                    if options[o].shift_type_idx == type_idx
                ]
                if len(chosen) > limit:
                    self.model.add(sum(chosen) <= limit)

    def _minutes(self) -> None:
        """Regular minutes over the horizon and per week; overtime per week."""
        options = self.data.options
        for person_idx, person in enumerate(self.data.people):
            own = [o for day in self._by_person_day[person_idx] for o in day]
            total = sum(options[o].regular_min * self.shift_vars[o] for o in own)
            if person.min_minutes_total > 0:
                self.model.add(total >= person.min_minutes_total)
            if person.max_minutes_total is not None:
                self.model.add(total <= person.max_minutes_total)
            self._week_limits(person, own)

    def _week_limits(self, person: PersonRules, own: list[int]) -> None:
        options = self.data.options
        regular: dict[int, list[tuple[int, int]]] = defaultdict(list)
        overtime: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for o in own:
            for week, minutes in options[o].regular_min_by_week:
                regular[week].append((minutes, o))
            for week, minutes in options[o].overtime_min_by_week:
                overtime[week].append((minutes, o))
        for week in range(self.data.num_weeks):
            expr = sum(m * self.shift_vars[o] for m, o in regular[week])
            if person.max_minutes_by_week:
                limit = person.max_minutes_by_week[week]
                if sum(m for m, _ in regular[week]) > limit:
                    self.model.add(expr <= limit)
            if person.min_minutes_by_week and person.min_minutes_by_week[week] > 0:
                self.model.add(expr >= person.min_minutes_by_week[week])
            if person.max_overtime_by_week and overtime[week]:
                self.model.add(
                    sum(m * self.shift_vars[o] for m, o in overtime[week])
                    <= person.max_overtime_by_week[week]
                )

    def _consecutive_days(self) -> None:
        """Max runs as sliding windows; min runs as forbidden patterns."""
        for person_idx, person in enumerate(self.data.people):
            work = self._work[person_idx]
            self._max_run(person, work)
            self._min_runs(
                work,
                person.min_consecutive_days,
                person.has_history,
                person.days_worked_before,
                working=True,
            )
            self._min_runs(
                work,
                person.min_consecutive_days_off,
                person.has_history,
                person.days_off_before,
                working=False,
            )

    def _max_run(self, person: PersonRules, work: list[DayLiteral]) -> None:
        longest = person.max_consecutive_days
        num_days = self.data.num_days
        # The run already worked before the horizon shortens the first window.
        carried = person.days_worked_before
        if carried > longest:
            if work[0] is not None:
                self.model.add(work[0] == 0)
        elif carried > 0 and longest - carried + 1 <= num_days:
            window = [w for w in work[: longest - carried + 1] if w is not None]
            if len(window) > longest - carried:
                self.model.add(sum(window) <= longest - carried)
        for first in range(num_days - longest):
            window = [w for w in work[first : first + longest + 1] if w is not None]
            if len(window) > longest:
                self.model.add(sum(window) <= longest)

    def _min_runs(
        self,
        work: list[DayLiteral],
        shortest: int,
        has_history: bool,
        before: int,
        *,
        working: bool,
    ) -> None:
        """Forbid every run shorter than `shortest` that ends inside the horizon.

        A run of working days (``working=True``) or of days off from day
        ``first`` to ``first + length - 1`` is forbidden by the clause
        "the day before is of the same kind, or a day of the run is not,
        or the day after is of the same kind". A run ending on the last
        day is exempt; one starting on the first day counts the `before`
        days of history, and is exempt without history.
        """
        num_days = self.data.num_days
        for length in range(1, shortest):
            for first in range(0, num_days - length):
                after = first + length
                if first == 0:
                    if not has_history or before + length >= shortest:
                        continue
                    border = [after]
                else:
                    border = [first - 1, after]
                self._forbid_run(work, border, range(first, after), working)

    def _forbid_run(
        self,
        work: list[DayLiteral],
        border: list[int],
        inside: range,
        working: bool,
    ) -> None:
        """Add the clause: a border day is of the run's kind or an inside day is not.

        For a working run the border days being worked, or an inside day
        being off, satisfies the clause; for a run of days off the reverse.
        """
        clause: list[cp_model.LiteralT] = []
        for day in border:
            literal = work[day]
            if literal is None:
                if not working:
                    return  # the border day is off for sure: no run of days off
                continue
            clause.append(literal if working else literal.Not())
        for day in inside:
            literal = work[day]
            if literal is None:
                if working:
                    return  # an inside day is off for sure: no working run
                continue
            clause.append(literal.Not() if working else literal)
        if not clause:
            self.model.add_bool_or([self.model.new_constant(0)])
            return
        self.model.add_bool_or(clause)

    def _weekends(self) -> None:
        for person_idx, person in enumerate(self.data.people):
            row: list[tuple[tuple[int, ...], cp_model.IntVar]] = []
            if person.max_weekends is not None:
                work = self._work[person_idx]
                for days in self.data.weekends:
                    literals = [w for w in (work[d] for d in days) if w is not None]
                    if not literals:
                        continue
                    worked = self.model.new_bool_var("weekend")
                    self.model.add_max_equality(worked, literals)
                    row.append((days, worked))
                if len(row) > person.max_weekends:
                    self.model.add(sum(v for _, v in row) <= person.max_weekends)
            self._weekend_vars.append(row)

    # ------------------------------------------------------------------
    # Soft rules and objective

    def _cover(self) -> None:
        """Planned persons per requirement with under- and over-cover slacks."""
        planned: list[list[cp_model.IntVar]] = [[] for _ in self.data.covers]
        for option_idx, option in enumerate(self.data.options):
            choices = dict(self._post_choices[option_idx])
            for cover_idx in option.covers:
                literal = choices.get(self.data.covers[cover_idx].post_idx)
                if literal is not None:
                    planned[cover_idx].append(literal)
        for cover_idx, cover in enumerate(self.data.covers):
            under = self.model.new_int_var(0, cover.persons, f"under_{cover_idx}")
            over = self.model.new_int_var(
                0, len(planned[cover_idx]), f"over_{cover_idx}"
            )
            self.model.add(sum(planned[cover_idx]) + under - over == cover.persons)
            self._cover_slacks.append((under, over))

    def _objective(self) -> None:
        data = self.data
        covers = data.covers
        options = data.options
        weights = data.weights
        self.terms["undercover"] = sum(
            c.weight_under * under
            for c, (under, _) in zip(covers, self._cover_slacks, strict=True)
        )
        self.terms["overcover"] = sum(
            c.weight_over * over
            for c, (_, over) in zip(covers, self._cover_slacks, strict=True)
        )
        self.terms["cost"] = weights.cost * sum(
            o.cost * x for o, x in zip(options, self.shift_vars, strict=True) if o.cost
        )
        self.terms["requests"] = weights.requests * self._unmet_wishes()
        self.terms["unavailability"] = weights.unavailability * sum(
            o.unavailability_min * x
            for o, x in zip(options, self.shift_vars, strict=True)
            if o.unavailability_min
        )
        self.terms["fairness"] = weights.fairness * self._fairness_spread()
        self.objective = sum(self.terms.values())
        self.model.minimize(self.objective)

    def _unmet_wishes(self) -> cp_model.LinearExprT:
        options = self.data.options
        unmet: list[cp_model.LinearExprT] = [self.data.unmet_wishes_fixed]
        for wish in self.data.wishes:
            matching = [
                self.shift_vars[o]
                for o in self._by_person_day[wish.person_idx][wish.day_idx]
                if wish.shift_type_idx < 0
                or options[o].shift_type_idx == wish.shift_type_idx
            ]
            taken = sum(matching)
            unmet.append(wish.weight * (1 - taken) if wish.on else wish.weight * taken)
        return sum(unmet)

    def _fairness_spread(self) -> cp_model.LinearExprT:
        """Max minus min of worked minutes in each group of equals."""
        if self.data.weights.fairness == 0:
            return 0
        options = self.data.options
        worked: list[list[cp_model.LinearExprT]] = [[] for _ in self.data.people]
        top = [0] * self.data.num_people
        for option, x in zip(options, self.shift_vars, strict=True):
            worked[option.person_idx].append(option.worked_min * x)
        for person_idx, days in enumerate(self._by_person_day):
            top[person_idx] = sum(
                max(options[o].worked_min for o in day) for day in days if day
            )
        spreads: list[cp_model.LinearExprT] = []
        for group in self.data.fairness_groups:
            if len(group) < 2:
                continue
            ceiling = max(top[p] for p in group)
            high = self.model.new_int_var(0, ceiling, "fair_max")
            low = self.model.new_int_var(0, ceiling, "fair_min")
            for p in group:
                self.model.add(high >= sum(worked[p]))
                self.model.add(low <= sum(worked[p]))
            self._fairness_vars.append((high, low))
            spreads.append(high - low)
        return sum(spreads)

    # ------------------------------------------------------------------
    # Hints and decoding

    def set_hint(self, chosen: tuple[tuple[int, int], ...]) -> None:
        """Hint a complete roster: shifts, posts, work days, slacks, weekends."""
        self.model.clear_hints()
        post_of = dict(chosen)
        for option_idx, x in enumerate(self.shift_vars):
            taken = option_idx in post_of
            self.model.add_hint(x, taken)
            choices = self._post_choices[option_idx]
            if len(choices) > 1:
                wanted = post_of.get(option_idx)
                keys = [k for k, _ in choices]
                pick = wanted if wanted in keys else keys[-1]
                for k, y in choices:
                    self.model.add_hint(y, taken and k == pick)
        worked_days = {
            (self.data.options[o].person_idx, self.data.options[o].day_idx)
            for o in post_of
        }
        for person_idx, row in enumerate(self._work):
            for day_idx, literal in enumerate(row):
                # Work literals that are a shift variable are hinted already.
                if literal is not None and literal.index >= len(self.shift_vars):
                    self.model.add_hint(literal, (person_idx, day_idx) in worked_days)
        self._hint_slacks(chosen, worked_days)

    def _hint_slacks(
        self,
        chosen: tuple[tuple[int, int], ...],
        worked_days: set[tuple[int, int]],
    ) -> None:
        planned = [0] * len(self.data.covers)
        for option_idx, post_idx in chosen:
            pick = self._decoded_post(option_idx, post_idx)
            for cover_idx in self.data.options[option_idx].covers:
                if self.data.covers[cover_idx].post_idx == pick:
                    planned[cover_idx] += 1
        for cover, n, (under, over) in zip(
            self.data.covers, planned, self._cover_slacks, strict=True
        ):
            self.model.add_hint(under, max(0, cover.persons - n))
            self.model.add_hint(over, max(0, n - cover.persons))
        for person_idx, row in enumerate(self._weekend_vars):
            for days, var in row:
                self.model.add_hint(
                    var, any((person_idx, d) in worked_days for d in days)
                )

    def _decoded_post(self, option_idx: int, post_idx: int) -> int:
        """The post literal a requested post maps to (idle posts merge)."""
        keys = [k for k, _ in self._post_choices[option_idx]]
        return post_idx if post_idx in keys else keys[-1]

    def decode(
        self, solver: cp_model.CpSolver | cp_model.CpSolverSolutionCallback
    ) -> tuple[tuple[int, int], ...]:
        """The chosen (option, post) pairs of a solver's (or callback's) solution."""
        chosen = []
        for option_idx, x in enumerate(self.shift_vars):
            if not solver.boolean_value(x):
                continue
            choices = self._post_choices[option_idx]
            post = choices[0][0]
            for k, y in choices:
                if solver.boolean_value(y):
                    post = k
            chosen.append((option_idx, post))
        return tuple(chosen)
