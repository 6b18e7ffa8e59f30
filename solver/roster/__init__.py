"""The roster (shift-plan) model over index-based data."""

from solver.roster.data import (
    CoverNeed,
    PersonRules,
    RequestWish,
    RosterData,
    ShiftOption,
    Weights,
)
from solver.roster.params import SolveParams
from solver.roster.result import RosterResult, RosterStatus, roster_terms
from solver.roster.solve import solve_roster

__all__ = [
    "CoverNeed",
    "PersonRules",
    "RequestWish",
    "RosterData",
    "RosterResult",
    "RosterStatus",
    "ShiftOption",
    "SolveParams",
    "Weights",
    "roster_terms",
    "solve_roster",
]
