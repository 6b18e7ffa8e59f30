"""Tests that planning hands over a complete plan before its search."""

from __future__ import annotations

from scheduler.models import Plan
from scheduler.planning import make_plan
from scheduler.validate_plan import validate_plan
from simulations.generate import generated_request


def test_make_plan_offers_the_greedy_plan_as_incumbent() -> None:
    """Shows make_plan gives one validated incumbent, holding every shipment,
    before it returns its final plan, which is no worse."""
    request = generated_request(60, seed=3)
    request = request.model_copy(
        update={"settings": request.settings.model_copy(update={"time_limit_s": 6.0})}
    )
    incumbents: list[Plan] = []

    final = make_plan(request, on_incumbent=incumbents.append)

    assert len(incumbents) == 1
    incumbent = incumbents[0]
    assert validate_plan(incumbent, request).valid
    assert incumbent.request == request
    scheduled = {t.shipment_id for t in incumbent.tasks if t.shipment_id}
    unscheduled = {u.shipment_id for u in incumbent.unscheduled}
    assert scheduled | unscheduled == {s.id for s in request.shipments}
    assert final.objective.total <= incumbent.objective.total
