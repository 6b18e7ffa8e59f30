"""Solve a roster: CP-SAT on the whole model, then large-neighbourhood search.

The search runs in three phases over one time budget:

1. CP-SAT on the whole model, hinted with the caller's roster, for a
   quarter of the budget. It gives the first roster and the lower bound,
   and ends the solve when it proves optimality.
2. Large-neighbourhood search: keep most of the incumbent roster fixed
   (all people but a few, or all days outside a window, or a few people
   inside a window), let CP-SAT re-solve the rest, keep any roster at least
   as good. Neighbourhoods grow when they are solved to optimality without
   gain and shrink when the sub-solve runs out of time.
3. CP-SAT on the whole model again, hinted with the incumbent, for the
   rest of the budget: it may close the gap and prove optimality.

In reproducible mode every limit is CP-SAT deterministic time, the search
is interleaved, and the neighbourhoods come from a seeded generator, so
the same data gives the same roster.
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

# Share of the budget for the first full solve, and the part kept for the
# last one (phases 1 and 3 above).
_TUNE = {
    "first": 0.25,
    "last": 0.15,
    "sub_limit": 1.0,
    "sub_workers": 0,
    "sub_lin": -1,
    "kinds": ("people", "days", "block"),
    "size_div": 4,
}
_FIRST_SHARE = 0.25
_LAST_SHARE = 0.15
# Limit of one neighbourhood sub-solve, seconds (deterministic in
# reproducible mode).
_SUB_LIMIT_S = 1.0
# Full-problem workers when only one or two are allowed.
_FEW_CORE_SUBSOLVERS = ("max_lp", "pseudo_costs")


@dataclass
class _Incumbent:
    chosen: tuple[tuple[int, int], ...] | None = None
    objective: int | None = None
    bound: int | None = None
    num_solutions: int = 0


class _Progress(cp_model.CpSolverSolutionCallback):
    """Reports each improving roster of a full solve to the caller."""

    def __init__(self, params: SolveParams, started: float) -> None:
        super().__init__()
        self._params = params
        self._started = started
        self.count = 0

    def on_solution_callback(self) -> None:
        self.count += 1
        if self._params.on_progress is not None:
            self._params.on_progress(
                round(self.objective_value),
                math.ceil(self.best_objective_bound - 1e-6),
                time.monotonic() - self._started,
            )


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
    return search.run()


class _Search:
    """The three phases of one solve, with their shared clock and incumbent."""

    def __init__(self, builder: RosterModel, params: SolveParams, started: float):
        self.builder = builder
        self.data = builder.data
        self.params = params
        self.started = started
        self.spent = 0.0  # budget used: deterministic time when reproducible
        self.best = _Incumbent()
        self.infeasible = False
        self.rng = random.Random(params.seed)

    # ------------------------------------------------------------------

    def run(self) -> RosterResult:
        budget = self.params.time_limit_s
        first_share = _TUNE["first"] if self.params.use_lns else 1.0
        self._full_solve(budget * first_share)
        if self._finished():
            return self._result()
        if self.params.use_lns:
            self._lns(until=budget * (1 - _TUNE["last"]))
            if not self.params.stopped() and self._left() > 0.05:
                self.builder.set_hint(self.best.chosen or ())
                self._full_solve(self._left())
        return self._result()

    def _finished(self) -> bool:
        if self.params.stopped() or self.infeasible:
            return True
        if self.best.objective is None:
            return self._left() <= 0.05
        return self.best.bound == self.best.objective

    def _left(self) -> float:
        if self.params.reproducible:
            return self.params.time_limit_s - self.spent
        return self.params.time_limit_s - (time.monotonic() - self.started)

    # ------------------------------------------------------------------
    # Phases 1 and 3

    def _full_solve(self, limit_s: float) -> None:
        solver = self._solver(limit_s)
        progress = _Progress(self.params, self.started)
        status = self._solve_watched(solver, self.builder.model, progress)
        self.spent += solver.deterministic_time if self.params.reproducible else 0.0
        logger.debug(
            "roster full solve: %s in %.2fs",
            solver.status_name(status),
            solver.wall_time,
        )
        if status == cp_model.INFEASIBLE:
            self.infeasible = True
            return
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            bound = math.ceil(solver.best_objective_bound - 1e-6)
            self.best.bound = max(bound, self.best.bound or bound)
            self.best.num_solutions += progress.count
            self._offer(self.builder.decode(solver))
        elif status == cp_model.UNKNOWN and self.best.objective is None:
            raw_bound = solver.best_objective_bound
            if math.isfinite(raw_bound):
                self.best.bound = math.ceil(raw_bound - 1e-6)

    # ------------------------------------------------------------------
    # Phase 2

    def _lns(self, until: float) -> None:
        """Re-solve neighbourhoods of the incumbent until `until` is spent."""
        if self.best.chosen is None:
            return
        size = max(2, self.data.num_people // _TUNE["size_div"])
        window = max(3, self.data.num_days // 3)
        rounds = 0
        while not self.params.stopped() and self._used() < until:
            if self.best.objective == self.best.bound:
                break
            kind = self.rng.choice(_TUNE["kinds"])
            free = self._neighbourhood(kind, size, window)
            limit = min(_TUNE["sub_limit"], until - self._used())
            if limit <= 0.05:
                break
            solved_all, improved = self._sub_solve(free, limit)
            rounds += 1
            # Adapt the size: grow after a fruitless proof, shrink after a
            # sub-solve that ran out of time.
            if solved_all and not improved:
                size = min(self.data.num_people, size + 1)
                window = min(self.data.num_days, window + 1)
            elif not solved_all:
                size = max(2, size - 1)
                window = max(2, window - 1)
        logger.debug("roster lns: %d rounds, objective %s", rounds, self.best.objective)

    def _used(self) -> float:
        if self.params.reproducible:
            return self.spent
        return time.monotonic() - self.started

    def _neighbourhood(self, kind: str, size: int, window: int) -> set[tuple[int, int]]:
        """(person, day) cells left free in the next sub-solve."""
        num_people, num_days = self.data.num_people, self.data.num_days
        people = list(range(num_people))
        if kind == "people":
            chosen = self.rng.sample(people, min(size, num_people))
            return {(p, d) for p in chosen for d in range(num_days)}
        first = self.rng.randrange(0, max(1, num_days - window + 1))
        days = range(first, min(num_days, first + window))
        if kind == "days":
            return {(p, d) for p in people for d in days}
        chosen = self.rng.sample(people, min(num_people, 2 * size))
        wide = range(max(0, first - window // 2), min(num_days, first + 2 * window))
        return {(p, d) for p in chosen for d in wide}

    def _sub_solve(
        self, free: set[tuple[int, int]], limit_s: float
    ) -> tuple[bool, bool]:
        """Fix the incumbent outside `free`, solve; keep a roster as good.

        Returns whether the sub-solve was solved to optimality and whether
        the incumbent changed for the better.
        """
        assert self.best.chosen is not None and self.best.objective is not None
        sub = self.builder.model.clone()
        sub_vars = sub.proto.variables
        taken = {o for o, _ in self.best.chosen}
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
            <= self.best.objective - 1
        )
        solver = self._solver(limit_s, sub=True)
        progress = _Progress(SolveParams(), self.started)  # no caller callback
        status = self._solve_watched(solver, sub, progress)
        self.spent += solver.deterministic_time if self.params.reproducible else 0.0
        if status == cp_model.INFEASIBLE:
            return True, False
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False, False
        objective, improved = self._offer(self.builder.decode(solver))
        logger.debug(
            "roster lns: %d cells free, %s, objective %d in %.2fs",
            len(free),
            solver.status_name(status),
            objective,
            solver.wall_time,
        )
        return status == cp_model.OPTIMAL, improved

    # ------------------------------------------------------------------
    # Shared machinery

    def _offer(self, chosen: tuple[tuple[int, int], ...]) -> tuple[int, bool]:
        """Keep a roster at least as good as the incumbent.

        The objective is recomputed from the roster: a solution CP-SAT
        reports before proving optimality may carry under- and over-cover
        on one requirement at once, which only inflates its own value.
        Returns the roster's objective and whether it improved.
        """
        objective = sum(roster_terms(self.data, chosen).values())
        if self.best.objective is not None and objective > self.best.objective:
            return objective, False
        improved = self.best.objective is None or objective < self.best.objective
        self.best.chosen = chosen
        self.best.objective = objective
        if improved:
            self.builder.set_hint(chosen)
            if self.params.on_progress is not None:
                bound = self.best.bound if self.best.bound is not None else objective
                self.params.on_progress(
                    objective, bound, time.monotonic() - self.started
                )
        return objective, improved

    def _solver(self, limit_s: float, sub: bool = False) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        parameters = solver.parameters
        parameters.num_workers = self.params.num_workers
        parameters.random_seed = self.params.seed
        if self.params.num_workers <= 2 and not (sub and _TUNE["sub_workers"]):
            # On few cores the default portfolio spends them on weak-LP
            # workers; the full linear relaxation (max_lp) proves bounds
            # within a few percent on the Curtois instances and the
            # pseudo-cost worker finds the good rosters (measured in
            # benchmarks/RESULTS.md).
            parameters.linearization_level = 2
            parameters.subsolvers.extend(
                _FEW_CORE_SUBSOLVERS[: self.params.num_workers]
            )
        if sub and _TUNE["sub_workers"]:
            parameters.num_workers = _TUNE["sub_workers"]
            if _TUNE["sub_workers"] == 1:
                parameters.linearization_level = (
                    _TUNE["sub_lin"] if _TUNE["sub_lin"] >= 0 else 1
                )
        if self.params.reproducible:
            parameters.interleave_search = True
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
        progress: _Progress,
    ) -> cp_model.CpSolverStatus:
        """Solve while a watcher thread turns the stop flag into stop_search."""
        stop = self.params.stop
        if stop is None:
            return solver.solve(model, progress)
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                if stop.wait(0.05):
                    solver.stop_search()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            return solver.solve(model, progress)
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
        if objective != best.objective:
            logger.warning(
                "roster: solver objective %d differs from recomputed %d",
                best.objective,
                objective,
            )
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
