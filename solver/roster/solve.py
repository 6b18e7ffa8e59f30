"""Solve a roster: CP-SAT on the whole model, and large-neighbourhood search.

Two ways to spend the budget:

- *Portfolio* (the default): on one core CP-SAT searches the whole model
  for the whole budget, giving rosters and the lower bound; on the other
  a large-neighbourhood search (LNS) keeps most of the best roster so far
  fixed and asks CP-SAT for a strictly better roster over the rest. The
  two share the incumbent. Until the first roster exists, CP-SAT's default
  portfolio (feasibility jump, local search) looks for one.
- *Sequential* (reproducible mode, or a single worker): the full search
  for a quarter of the budget, the LNS until 85 % of it, then the full
  search again hinted with the incumbent. In reproducible mode every limit
  is CP-SAT deterministic time, the search is interleaved and the
  neighbourhoods come from a seeded generator, so the same data gives the
  same roster.

A neighbourhood frees all days of a few people, all people over a window
of days, or a few people over a wider window; half of them are drawn
around a requirement the incumbent misses. They grow when a sub-solve
proves there is nothing better in them and shrink when one runs out of
time.

Why both: on the Curtois & Qu instances (2 cores, 60 s) the full search
alone reached 1151 on Instance5 (best known 1143) but found no roster at
all on Instance10 in 40 s, where the LNS went from 13885 to 5512; and
the LNS (with the shortfall-guided neighbourhoods) beat the sequential
phases on Instances 8 and 10 (1945 against 2473, 4781 against 5195).
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from solver.roster.data import RosterData
from solver.roster.model import RosterModel
from solver.roster.params import SolveParams
from solver.roster.result import RosterResult, RosterStatus, gap_of, roster_terms

logger = logging.getLogger(__name__)

# Sequential mode: share of the budget for the first full search, and the
# share kept for the last one.
_FIRST_SHARE = 0.25
_LAST_SHARE = 0.15
# Limit of one neighbourhood sub-solve, seconds (deterministic time in
# reproducible mode).
_SUB_LIMIT_S = 1.0
# Limit of the check that the hint keeps every rule, seconds.
_HINT_CHECK_S = 5.0
_ADOPT_HINT_OPTIONS = 10_000
# Full-search workers on one or two cores. The default portfolio spends
# them on weak-relaxation workers; the full linear relaxation (max_lp)
# proves bounds within a few percent on the Curtois instances, and the
# pseudo-cost worker on the same relaxation finds the good rosters.
_FEW_CORE_SUBSOLVERS = ("max_lp", "pseudo_costs")
_ONE_CORE_SUBSOLVER = "pseudo_costs"


@dataclass
class _Incumbent:
    chosen: tuple[tuple[int, int], ...] | None = None
    objective: int | None = None
    bound: int | None = None
    num_solutions: int = 0


class _Collector(cp_model.CpSolverSolutionCallback):
    """Offers each roster of a full search to the search's incumbent."""

    def __init__(self, search: _Search) -> None:
        super().__init__()
        self._search = search
        self.count = 0

    def on_solution_callback(self) -> None:
        self.count += 1
        bound = self.best_objective_bound
        if math.isfinite(bound):
            self._search.raise_bound(math.ceil(bound - 1e-6))
        objective, improved = self._search.offer(self._search.builder.decode(self))
        if improved:
            logger.debug("roster full search: objective %d", objective)


def solve_roster(data: RosterData, params: SolveParams) -> RosterResult:
    """Solve a roster problem within the limits of `params`.

    Parameters
    ----------
    data
        The index-based roster problem.
    params
        Limits, seed, determinism, hint, progress callback and stop flag.

    Returns
    -------
    RosterResult
        The best roster found with its status, terms, bound and gap.
    """
    started = time.monotonic()
    builder = RosterModel(data)
    if params.hint is not None:
        builder.set_hint(params.hint)
    logger.debug(
        "roster model: %d options, %d people, %d days built in %.2fs",
        len(data.options),
        data.num_people,
        data.num_days,
        time.monotonic() - started,
    )
    search = _Search(builder, params, started)
    if params.use_lns and not params.reproducible and params.num_workers >= 2:
        return search.run_portfolio()
    return search.run_sequential()


class _Search:
    """One solve: its clock, its incumbent and its phases."""

    def __init__(self, builder: RosterModel, params: SolveParams, started: float):
        self.builder = builder
        self.data = builder.data
        self.params = params
        self.started = started
        self.spent = 0.0  # budget used: deterministic time when reproducible
        self.best = _Incumbent()
        self.infeasible = False
        self.proved = False  # the full search ended with a proof
        self.rng = random.Random(params.seed)
        self.lock = threading.Lock()
        self.concurrent = False
        # Options able to fill each requirement, for guided neighbourhoods.
        self._takers: list[list[int]] = [[] for _ in self.data.covers]
        for option_idx, option in enumerate(self.data.options):
            for cover_idx in option.covers:
                if self.data.covers[cover_idx].post_idx in option.posts:
                    self._takers[cover_idx].append(option_idx)

    # ------------------------------------------------------------------
    # The two ways

    def run_sequential(self) -> RosterResult:
        self._adopt_hint()
        budget = self.params.time_limit_s
        first_share = _FIRST_SHARE if self.params.use_lns else 1.0
        self._full_solve(budget * first_share, self.params.num_workers)
        if self._finished():
            return self._result()
        if self.params.use_lns:
            self._lns(until=budget * (1 - _LAST_SHARE))
            if not self.params.stopped() and self._left() > 0.05:
                self.builder.set_hint(self.best.chosen or ())
                self._full_solve(self._left(), self.params.num_workers)
        return self._result()

    def run_portfolio(self) -> RosterResult:
        """Full search on one thread, LNS on this one, until the budget ends."""
        self._adopt_hint()
        self.concurrent = True
        full = threading.Thread(
            target=self._full_solve,
            args=(self._left(), self.params.num_workers - 1),
            daemon=True,
        )
        full.start()
        # The LNS needs a roster to start from. The full search may take
        # long to find one, so the default portfolio (feasibility jump and
        # local search) looks for a first one here meanwhile.
        if self.best.chosen is None:
            self._first_roster(
                min(_FIRST_SHARE * self.params.time_limit_s, self._left())
            )
        while self.best.chosen is None and full.is_alive():
            full.join(0.02)
        self._lns(until=self.params.time_limit_s, full_search=full)
        full.join()
        return self._result()

    def _finished(self) -> bool:
        if self.params.stopped() or self.infeasible or self.proved:
            return True
        if self.best.objective is None:
            return self._left() <= 0.05
        return self.best.bound == self.best.objective

    def _left(self) -> float:
        return self.params.time_limit_s - self._used()

    def _used(self) -> float:
        if self.params.reproducible:
            return self.spent
        return time.monotonic() - self.started

    # ------------------------------------------------------------------
    # Full search

    def _full_solve(self, limit_s: float, num_workers: int) -> None:
        solver = self._solver(limit_s, num_workers)
        collector = _Collector(self)
        status = self._solve_watched(solver, self.builder.model, collector)
        self.spent += solver.deterministic_time if self.params.reproducible else 0.0
        logger.debug(
            "roster full search: %s in %.2fs",
            solver.status_name(status),
            solver.wall_time,
        )
        if status == cp_model.INFEASIBLE:
            self.infeasible = True
        if status in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
            self.proved = not self.params.stopped()
        raw_bound = solver.best_objective_bound
        if status != cp_model.INFEASIBLE and math.isfinite(raw_bound):
            self.raise_bound(math.ceil(raw_bound - 1e-6))
        with self.lock:
            self.best.num_solutions += collector.count

    def _adopt_hint(self) -> None:
        """Take the hint as the first incumbent when it keeps every rule.

        Only for large models: on a 300-person site (42,000 shift options)
        CP-SAT did not even reach the hinted roster in 54 s, while checking
        it with every shift fixed takes two. On the Curtois instances
        (3,500 options at most) starting the LNS from CP-SAT's first roster
        instead did better (Instance9: 471 and 508 against 596 and 689).
        """
        if self.params.hint is None or len(self.data.options) < _ADOPT_HINT_OPTIONS:
            return
        chosen = {option_idx for option_idx, _ in self.params.hint}
        check = self.builder.model.clone()
        check_vars = check.proto.variables
        for option_idx, x in enumerate(self.builder.shift_vars):
            domain = check_vars[x.index].domain
            value = 1 if option_idx in chosen else 0
            domain[0] = value
            domain[1] = value
        limit_s = min(_HINT_CHECK_S, 0.1 * self.params.time_limit_s)
        solver = self._solver(limit_s, self.params.num_workers)
        status = self._solve_watched(solver, check, None)
        self.spent += solver.deterministic_time if self.params.reproducible else 0.0
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.offer(self.builder.decode(solver))
        logger.debug("roster hint: %s", solver.status_name(status))

    def _first_roster(self, limit_s: float) -> None:
        """Find any roster quickly with CP-SAT's default two-worker portfolio."""
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 2
        solver.parameters.random_seed = self.params.seed
        solver.parameters.max_time_in_seconds = max(0.01, limit_s)
        solver.parameters.stop_after_first_solution = True
        status = self._solve_watched(solver, self.builder.model, None)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.offer(self.builder.decode(solver))
        logger.debug(
            "roster first roster: %s in %.2fs",
            solver.status_name(status),
            solver.wall_time,
        )

    # ------------------------------------------------------------------
    # Large-neighbourhood search

    def _lns(self, until: float, full_search: threading.Thread | None = None) -> None:
        """Re-solve neighbourhoods of the incumbent until `until` is spent."""
        size = max(2, self.data.num_people // 4)
        window = max(3, self.data.num_days // 3)
        rounds = 0
        while not self.params.stopped() and self._used() < until:
            if self.best.chosen is None or self.infeasible or self.proved:
                break
            if full_search is not None and not full_search.is_alive():
                break
            if self.best.objective == self.best.bound:
                break
            kind = self.rng.choice(("people", "days", "block"))
            free = self._neighbourhood(kind, size, window)
            limit = min(_SUB_LIMIT_S, until - self._used())
            if limit <= 0.05:
                break
            solved_all, improved = self._sub_solve(free, limit)
            rounds += 1
            # Grow after a proof that a neighbourhood holds nothing better,
            # shrink after a sub-solve that ran out of time.
            if solved_all and not improved:
                size = min(self.data.num_people, size + 1)
                window = min(self.data.num_days, window + 1)
            elif not solved_all:
                size = max(2, size - 1)
                window = max(2, window - 1)
        logger.debug("roster lns: %d rounds, objective %s", rounds, self.best.objective)

    def _neighbourhood(self, kind: str, size: int, window: int) -> set[tuple[int, int]]:
        """(person, day) cells left free in the next sub-solve.

        Half of the neighbourhoods are drawn around a requirement the
        incumbent misses (weighted by what it costs): its days, and people
        who could fill it; the other half uniformly.
        """
        num_people, num_days = self.data.num_people, self.data.num_days
        people = list(range(num_people))
        focus = self._missed_requirement() if self.rng.random() < 0.5 else None
        if focus is None:
            centre = self.rng.randrange(num_days)
            pool = people
        else:
            takers = self._takers[focus]
            centre = self.data.options[self.rng.choice(takers)].day_idx
            pool = sorted({self.data.options[o].person_idx for o in takers})
        if kind == "people":
            chosen = self._some_people(pool, size)
            return {(p, d) for p in chosen for d in range(num_days)}
        first = max(0, min(num_days - window, centre - self.rng.randrange(window)))
        days = range(first, min(num_days, first + window))
        if kind == "days":
            return {(p, d) for p in people for d in days}
        chosen = self._some_people(pool, 2 * size)
        wide = range(max(0, first - window // 2), min(num_days, first + 2 * window))
        return {(p, d) for p in chosen for d in wide}

    def _some_people(self, pool: list[int], count: int) -> list[int]:
        """`count` people, from `pool` first and then from everyone."""
        chosen = self.rng.sample(pool, min(count, len(pool)))
        if len(chosen) < count:
            rest = [p for p in range(self.data.num_people) if p not in set(chosen)]
            chosen += self.rng.sample(rest, min(count - len(chosen), len(rest)))
        return chosen

    def _missed_requirement(self) -> int | None:
        """A requirement the incumbent leaves short, drawn by its cost."""
        with self.lock:
            chosen = self.best.chosen or ()
        planned = [0] * len(self.data.covers)
        for option_idx, post_idx in chosen:
            for cover_idx in self.data.options[option_idx].covers:
                if self.data.covers[cover_idx].post_idx == post_idx:
                    planned[cover_idx] += 1
        weights = [
            cover.weight_under * max(0, cover.persons - planned[idx])
            if self._takers[idx]
            else 0
            for idx, cover in enumerate(self.data.covers)
        ]
        if not any(weights):
            return None
        return self.rng.choices(range(len(weights)), weights=weights)[0]

    def _sub_solve(
        self, free: set[tuple[int, int]], limit_s: float
    ) -> tuple[bool, bool]:
        """Fix the incumbent outside `free` and ask for a better roster.

        Returns whether the sub-solve finished with a proof (the optimum of
        the neighbourhood, or that it holds nothing better) and whether the
        incumbent improved.
        """
        with self.lock:
            assert self.best.chosen is not None and self.best.objective is not None
            incumbent = self.best.objective
            taken = {o for o, _ in self.best.chosen}
        sub = self.builder.model.clone()
        sub_vars = sub.proto.variables
        for option_idx, option in enumerate(self.data.options):
            if (option.person_idx, option.day_idx) in free:
                continue
            value = 1 if option_idx in taken else 0
            domain = sub_vars[self.builder.shift_vars[option_idx].index].domain
            domain[0] = value
            domain[1] = value
        # Ask for a strictly better roster: proving there is none is often
        # much faster than proving the incumbent optimal.
        objective = self.builder.model.proto.objective
        sub.add(
            sum(
                coeff * sub.get_int_var_from_proto_index(index)
                for index, coeff in zip(objective.vars, objective.coeffs, strict=True)
            )
            + round(objective.offset)
            <= incumbent - 1
        )

        workers = 1 if self.concurrent else self.params.num_workers
        solver = self._solver(limit_s, workers)
        status = self._solve_watched(solver, sub, None)
        self.spent += solver.deterministic_time if self.params.reproducible else 0.0
        if status == cp_model.INFEASIBLE:
            return True, False
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False, False
        objective_value, improved = self.offer(self.builder.decode(solver))
        logger.debug(
            "roster lns: %d cells free, %s, objective %d in %.2fs",
            len(free),
            solver.status_name(status),
            objective_value,
            solver.wall_time,
        )
        return status == cp_model.OPTIMAL, improved

    # ------------------------------------------------------------------
    # Shared incumbent and solver set-up

    def offer(self, chosen: tuple[tuple[int, int], ...]) -> tuple[int, bool]:
        """Keep a roster better than the incumbent.

        The objective is recomputed from the roster: a roster CP-SAT reports
        before proving optimality may carry under- and over-cover on one
        requirement at once, which only inflates its own value. Returns the
        roster's objective and whether it improved.
        """
        objective = sum(roster_terms(self.data, chosen).values())
        with self.lock:
            if self.best.objective is not None and objective >= self.best.objective:
                return objective, False
            self.best.chosen = chosen
            self.best.objective = objective
            bound = self.best.bound if self.best.bound is not None else objective
        if not self.concurrent:
            # Hints live in the model; the concurrent full search reads it.
            self.builder.set_hint(chosen)
        if self.params.on_progress is not None:
            self.params.on_progress(objective, bound, time.monotonic() - self.started)
        return objective, True

    def raise_bound(self, bound: int) -> None:
        with self.lock:
            if self.best.bound is None or bound > self.best.bound:
                self.best.bound = bound

    def _solver(self, limit_s: float, num_workers: int) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        parameters = solver.parameters
        # Reproducible mode searches on one worker: a single CP-SAT worker
        # under a deterministic time limit is deterministic, while the
        # interleaved multi-worker search aborted the process inside CP-SAT
        # on the HKIA roster ("Check failed: heuristics.fixed_search").
        if self.params.reproducible:
            num_workers = 1
        parameters.num_workers = num_workers
        parameters.random_seed = self.params.seed
        if num_workers <= 2:
            parameters.linearization_level = 2
            if num_workers == 2:
                parameters.subsolvers.extend(_FEW_CORE_SUBSOLVERS)
            else:
                parameters.subsolvers.append(_ONE_CORE_SUBSOLVER)
        if self.params.reproducible:
            parameters.max_deterministic_time = max(0.01, limit_s)
        else:
            parameters.max_time_in_seconds = max(0.01, limit_s)
        if self.params.log:
            parameters.log_search_progress = True
            parameters.log_to_stdout = False
            solver.log_callback = lambda line: logger.info("cp-sat: %s", line)
        return solver

    def _solve_watched(
        self,
        solver: cp_model.CpSolver,
        model: cp_model.CpModel,
        callback: cp_model.CpSolverSolutionCallback | None,
    ) -> cp_model.CpSolverStatus:
        """Solve while a watcher thread turns the stop flag into stop_search."""
        stop = self.params.stop
        if stop is None:
            return solver.solve(model, callback)
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                if stop.wait(0.05):
                    solver.stop_search()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            return solver.solve(model, callback)
        finally:
            done.set()
            watcher.join()

    def _result(self) -> RosterResult:
        runtime_s = time.monotonic() - self.started
        if self.infeasible:
            return RosterResult(status=RosterStatus.infeasible, runtime_s=runtime_s)
        best = self.best
        if best.chosen is None or best.objective is None:
            status = (
                RosterStatus.cancelled
                if self.params.stopped()
                else RosterStatus.unknown
            )
            return RosterResult(status=status, bound=best.bound, runtime_s=runtime_s)
        terms = roster_terms(self.data, best.chosen)
        objective = sum(terms.values())
        if self.params.stopped():
            status = RosterStatus.cancelled
        elif best.bound is not None and best.bound >= objective:
            status = RosterStatus.optimal
        else:
            status = RosterStatus.feasible
        bound = min(best.bound, objective) if best.bound is not None else None
        return RosterResult(
            status=status,
            objective=objective,
            terms=terms,
            bound=bound,
            gap=gap_of(objective, bound),
            runtime_s=runtime_s,
            chosen=best.chosen,
            num_solutions=max(1, best.num_solutions),
        )
