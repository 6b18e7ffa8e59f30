"""The result of a roster solve, and the objective of a roster over the data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from solver.roster.data import RosterData

TERM_NAMES = (
    "undercover",
    "overcover",
    "cost",
    "requests",
    "unavailability",
    "fairness",
)


class RosterStatus(StrEnum):
    """How a solve ended.

    ``optimal`` only when the bound equals the objective; ``feasible`` when
    a limit stopped it with a roster; ``cancelled`` when the stop flag did;
    ``infeasible`` only when CP-SAT proved it; ``unknown`` when no roster
    was found in time.
    """

    optimal = "optimal"
    feasible = "feasible"
    cancelled = "cancelled"
    infeasible = "infeasible"
    unknown = "unknown"


@dataclass(frozen=True)
class RosterResult:
    """What a roster solve found.

    Parameters
    ----------
    status
        See `RosterStatus`.
    objective
        Total of the terms (``None`` without a roster).
    terms
        Objective terms by name (`TERM_NAMES`), weighted.
    bound
        Proven lower bound on the objective, when one is known.
    gap
        ``(objective - bound) / max(1, |objective|)``.
    runtime_s
        Wall-clock time of the solve.
    chosen
        ``(option_idx, post_idx)`` of every chosen shift, by option index.
    num_solutions
        Improving rosters found.
    """

    status: RosterStatus
    objective: int | None = None
    terms: dict[str, int] = field(default_factory=dict)
    bound: int | None = None
    gap: float | None = None
    runtime_s: float = 0.0
    chosen: tuple[tuple[int, int], ...] = ()
    num_solutions: int = 0

    @property
    def has_roster(self) -> bool:
        return self.objective is not None


def gap_of(objective: int, bound: int | None) -> float | None:
    """Relative gap between an objective and a lower bound."""
    if bound is None:
        return None
    return max(0.0, (objective - bound) / max(1, abs(objective)))


def roster_terms(
    data: RosterData, chosen: tuple[tuple[int, int], ...]
) -> dict[str, int]:
    """The weighted objective terms of a roster given as (option, post) pairs.

    This reads the index data only; the domain validator recomputes the
    same terms independently from the plan.
    """
    options = data.options
    weights = data.weights

    # Cover: each shift counts toward the requirements of its own post.
    planned = [0] * len(data.covers)
    for option_idx, post_idx in chosen:
        for cover_idx in options[option_idx].covers:
            if data.covers[cover_idx].post_idx == post_idx:
                planned[cover_idx] += 1
    under = sum(
        c.weight_under * max(0, c.persons - n)
        for c, n in zip(data.covers, planned, strict=True)
    )
    over = sum(
        c.weight_over * max(0, n - c.persons)
        for c, n in zip(data.covers, planned, strict=True)
    )

    # Wishes: met or not, by person, day and shift type.
    taken = {(options[o].person_idx, options[o].day_idx): o for o, _ in chosen}
    unmet = data.unmet_wishes_fixed
    for wish in data.wishes:
        taken_idx = taken.get((wish.person_idx, wish.day_idx))
        matches = taken_idx is not None and (
            wish.shift_type_idx < 0
            or options[taken_idx].shift_type_idx == wish.shift_type_idx
        )
        if matches != wish.on:
            unmet += wish.weight

    # Fairness: spread of worked minutes inside each group.
    worked = [0] * data.num_people
    for option_idx, _ in chosen:
        worked[options[option_idx].person_idx] += options[option_idx].worked_min
    spread = sum(
        max(worked[p] for p in group) - min(worked[p] for p in group)
        for group in data.fairness_groups
        if len(group) >= 2
    )

    return {
        "undercover": under,
        "overcover": over,
        "cost": weights.cost * sum(options[o].cost for o, _ in chosen),
        "requests": weights.requests * unmet,
        "unavailability": weights.unavailability
        * sum(options[o].unavailability_min for o, _ in chosen),
        "fairness": weights.fairness * spread,
    }
