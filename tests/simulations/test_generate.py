"""Tests of the generated days."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.models import DoorCapability, Lane
from scheduler.sitetime import local_date_of, minutes_between
from simulations.freight import EXAM_LEAD_MIN, TRUCK_CAPACITY_PALLETS
from simulations.generate import generated_freighters, generated_request
from simulations.hkia import HKIA_TZ

REQUIREMENT_OF: dict[str, set[tuple[DoorCapability, ...]]] = {
    "general": {(), (DoorCapability.oversize,)},
    "food": {(DoorCapability.cold_chain,)},
    "pharma": {(DoorCapability.cold_chain,)},
    "dangerous_goods": {(DoorCapability.dangerous_goods,)},
}


@pytest.mark.parametrize("size", [1, 17, 500, 2_000])
def test_generated_request_has_exactly_the_size(size):
    """The request holds exactly the shipments asked for."""
    request = generated_request(size)
    assert len(request.shipments) == size
    assert len({s.id for s in request.shipments}) == size


def test_generated_request_same_seed_same_json():
    """The same size and seed give the same JSON; another seed does not."""
    first = generated_request(300, seed=4).model_dump_json()
    assert generated_request(300, seed=4).model_dump_json() == first
    assert generated_request(300, seed=5).model_dump_json() != first


def test_generated_request_smaller_day_is_part_of_a_larger_one():
    """Every shipment of a 500-day appears unchanged in the 1,000-day."""
    small = generated_request(500)
    large = {s.id: s for s in generated_request(1_000).shipments}
    assert all(large[s.id] == s for s in small.shipments)


def test_generated_request_scales_staff_and_doors():
    """4,000 shipments get 32 doors, 2,000 get 16, and about twice the staff."""
    half = generated_request(2_000)
    full = generated_request(4_000)
    # Scales 0.909 and 1.818 of the example's 8+2+2+2+3 doors, rounded
    # per kind: 7+2+2+2+3 and 15+4+4+4+5.
    assert (len(half.doors), len(full.doors)) == (16, 32)
    assert 1.9 <= len(full.staff) / len(half.staff) <= 2.1


def test_generated_freighters_follow_the_hkia_night_bank():
    """About half the freighters on-block 00:00-08:59, as at HKIA (51.8 %)."""
    freighters = generated_freighters(8_000, 0, date(2025, 11, 11))
    hours = [f.on_block.astimezone(ZoneInfo(HKIA_TZ)).hour for f, _ in freighters]
    night_share = sum(1 for h in hours if h < 9) / len(hours)
    assert 300 <= len(freighters) <= 500
    assert 0.40 <= night_share <= 0.64
    assert sum(count for _, count in freighters) == 8_000


def test_generated_request_refuses_a_size_out_of_range():
    """Zero shipments is refused, naming the field."""
    with pytest.raises(ValueError, match="num_shipments"):
        generated_request(0)


@settings(max_examples=25, deadline=None)
@given(size=st.integers(1, 250), seed=st.integers(0, 2**31 - 1))
def test_generated_request_trucks_and_shipments_agree(size, seed):
    """Every truck holds at most 12 pallets of shipments of one door class."""
    request = generated_request(size, seed=seed)
    pallets: dict[str, int] = defaultdict(int)
    for shipment in request.shipments:
        assert shipment.load_id is not None
        pallets[shipment.load_id] += shipment.pallets
        load = next(ld for ld in request.loads if ld.id == shipment.load_id)
        assert tuple(load.requirements) in REQUIREMENT_OF[shipment.commodity]
    assert set(pallets) == {ld.id for ld in request.loads}
    assert max(pallets.values()) <= TRUCK_CAPACITY_PALLETS


@settings(max_examples=25, deadline=None)
@given(size=st.integers(1, 250), seed=st.integers(0, 2**31 - 1))
def test_generated_request_exams_wait_for_the_shipment(size, seed):
    """An exam window opens at least 150 min after its shipment is actionable."""
    request = generated_request(size, seed=seed, start_date=date(2025, 11, 28))
    eta = {ld.id: ld.eta for ld in request.loads}
    for shipment in request.shipments:
        assert (shipment.exam_window is not None) == (shipment.lane == Lane.physical)
        if shipment.exam_window is None or shipment.load_id is None:
            continue
        actionable = max(shipment.documents_ready_at, eta[shipment.load_id])
        assert minutes_between(actionable, shipment.exam_window.start) >= EXAM_LEAD_MIN
        assert local_date_of(shipment.exam_window.start, HKIA_TZ) <= date(2025, 11, 29)
