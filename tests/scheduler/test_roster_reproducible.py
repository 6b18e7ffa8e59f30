"""Tests that reproducible rostering of the real example is stable and safe."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.roster import plan_roster
from simulations.hkia import build_request


@pytest.mark.slow
def test_roster_reproducible_hkia_same_fingerprint_twice() -> None:
    """Shows the HKIA roster in reproducible mode runs (no CP-SAT abort) and
    gives the same fingerprint twice."""
    request = build_request(date(2025, 11, 11))
    settings = request.settings.model_copy(
        update={"reproducible": True, "time_limit_s": 10.0, "seed": 7}
    )
    request = request.model_copy(update={"settings": settings})

    first = plan_roster(request)
    second = plan_roster(request)

    assert first.status.value in ("optimal", "feasible", "heuristic")
    assert first.provenance.fingerprint == second.provenance.fingerprint
    assert first.objective == second.objective
