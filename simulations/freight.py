"""Freighters turned into trucks and shipments for one bonded warehouse.

The seeded rule behind the HKIA example (`simulations.hkia`) and the
generated days (`simulations.generate`). The numbers are the constants
below; each is an assumption of ours, justified in the docstring of
`simulations.hkia` and in `docs/examples.md`. In short:

- shipments per freighter for our warehouse: log-normal, median 17,
  sigma 0.55 (mean about 19.8);
- first truck at our door 110-285 min after on-block (breakdown at the
  terminal 90-240 min, trucking 20-45 min), cold-chain cargo 60 min
  sooner, each further truck of a door class 15-40 min later; a truck
  takes at most 12 pallets, shipments are not split;
- pallets 1-6 (mean 2.0); priority express 40 %, standard 45 %, deferred
  15 %; commodity general 83 % (2 % of it oversize), food 7 %, pharma 5 %,
  dangerous goods 5 %; regime import 70 %, transit 15 %, bonded 15 %;
  compliance review for every pharma and dangerous-goods shipment, 30 %
  of food and 3 % of general cargo; paperwork simple (2-4 documents, 1-8
  lines) 65 %, complex (4-8 documents, 12-40 lines) 35 %;
- documents ready: pre-alerted 55 % (30-360 min before on-block), with
  the goods 35 % (0-90 min after the truck), late 10 % (180-720 min after
  on-block);
- lane green 88 %, documentary 8 %, physical 4 %; an exam gets a 180 min
  appointment on the first half hour at least 150 min after the shipment
  is actionable, inside the exam bays' hours 07:00-23:00.

Randomness: every freighter's count, its delay, each truck sequence and
each shipment draw from their own `random.Random`, seeded by a string of
the seed and their ids (hashed with SHA-512, not with Python's salted
`hash`). So a shipment does not change when others are added (volume
x1.5 keeps the x1.0 shipments and adds more), and the output does not
depend on the order of work, the process or the machine.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TypeVar

from scheduler.models import (
    DoorCapability,
    ExamWindow,
    Lane,
    Load,
    Priority,
    Regime,
    Shipment,
)
from scheduler.sitetime import add_minutes, local_date_of, local_instant, to_utc

logger = logging.getLogger(__name__)

_K = TypeVar("_K")

SHIPMENTS_PER_FREIGHTER_MEDIAN = 17.0
SHIPMENTS_PER_FREIGHTER_SIGMA = 0.55
BREAKDOWN_MIN = (90, 240)
PERISHABLE_HEAD_START_MIN = 60
TRUCKING_MIN = (20, 45)
NEXT_TRUCK_GAP_MIN = (15, 40)
TRUCK_CAPACITY_PALLETS = 12

PALLETS_MIX: dict[int, float] = {1: 0.50, 2: 0.25, 3: 0.12, 4: 0.06, 5: 0.04, 6: 0.03}
PRIORITY_MIX: dict[Priority, float] = {
    Priority.express: 0.40,
    Priority.standard: 0.45,
    Priority.deferred: 0.15,
}
COMMODITY_MIX: dict[str, float] = {
    "general": 0.83,
    "food": 0.07,
    "pharma": 0.05,
    "dangerous_goods": 0.05,
}
OVERSIZE_SHARE_OF_GENERAL = 0.02
REGIME_MIX: dict[Regime, float] = {
    Regime.import_: 0.70,
    Regime.transit: 0.15,
    Regime.bonded: 0.15,
}
COMPLIANCE_SHARE: dict[str, float] = {
    "general": 0.03,
    "food": 0.30,
    "pharma": 1.0,
    "dangerous_goods": 1.0,
}
SIMPLE_PAPERWORK_SHARE = 0.65
SIMPLE_DOCUMENTS = (2, 4)
SIMPLE_LINES = (1, 8)
COMPLEX_DOCUMENTS = (4, 8)
COMPLEX_LINES = (12, 40)
DOCUMENTS_READY_MIX: dict[str, float] = {
    "pre_alert": 0.55,
    "with_goods": 0.35,
    "late": 0.10,
}
PRE_ALERT_BEFORE_ON_BLOCK_MIN = (30, 360)
WITH_GOODS_AFTER_ETA_MIN = (0, 90)
LATE_AFTER_ON_BLOCK_MIN = (180, 720)
LANE_MIX: dict[Lane, float] = {
    Lane.green: 0.88,
    Lane.documentary: 0.08,
    Lane.physical: 0.04,
}
EXAM_LEAD_MIN = 150
EXAM_WINDOW_MIN = 180
EXAM_HOURS_LOCAL = (time(7, 0), time(23, 0))

# Door classes in the order their trucks are described; each class has
# its own truck sequence so adding shipments of one class never moves
# the trucks of another.
DOOR_CLASSES: dict[str, list[DoorCapability]] = {
    "C": [DoorCapability.cold_chain],
    "D": [DoorCapability.dangerous_goods],
    "O": [DoorCapability.oversize],
    "T": [],
}


@dataclass(frozen=True)
class Freighter:
    """A freighter arrival as our warehouse sees it.

    Parameters
    ----------
    code
        Identifier-safe and unique within a request; load and shipment ids
        start with it.
    on_block
        The aware instant the aircraft reached its stand.
    """

    code: str
    on_block: datetime


@dataclass(frozen=True)
class _Draft:
    """A shipment's random draws, before its truck is known."""

    index: int
    priority: Priority
    commodity: str
    door_class: str
    regime: Regime
    pallets: int
    documents: int
    lines: int
    compliance: bool
    lane: Lane
    documents_pattern: str
    documents_offset_min: int


def _pick(rng: random.Random, mix: dict[_K, float]) -> _K:
    """One key of `mix`, drawn with its weight (one uniform draw)."""
    keys = list(mix)
    return rng.choices(keys, weights=[mix[k] for k in keys])[0]


def _uniform_min(rng: random.Random, bounds: tuple[int, int]) -> int:
    return rng.randint(bounds[0], bounds[1])


def count_rng(seed: int, code: str) -> random.Random:
    """The random stream of one freighter's shipment count."""
    return random.Random(f"clearplan/{seed}/{code}/count")


def base_shipment_count(rng: random.Random) -> int:
    """Shipments of one freighter for our warehouse at volume x1.0."""
    draw = rng.lognormvariate(
        math.log(SHIPMENTS_PER_FREIGHTER_MEDIAN), SHIPMENTS_PER_FREIGHTER_SIGMA
    )
    return max(1, round(draw))


def scaled_count(base: int, volume: float, rng: random.Random) -> int:
    """`base * volume` rounded up or down at random, keeping the mean."""
    if volume <= 0:
        raise ValueError(f"volume must be above 0, not {volume}")
    exact = base * volume
    whole = math.floor(exact)
    return whole + (1 if rng.random() < exact - whole else 0)


def cargo_of(
    freighter: Freighter, num_shipments: int, seed: int, tz: str
) -> tuple[list[Load], list[Shipment]]:
    """The trucks and shipments one freighter brings to our warehouse.

    Parameters
    ----------
    freighter
        The arrival; ids of loads and shipments start with its code.
    num_shipments
        How many shipments it brings (see `base_shipment_count`).
    seed
        Seed of the whole request; each shipment draws from its own
        stream derived from it.
    tz
        The site's IANA zone, for the exam bays' opening hours.

    Returns
    -------
    tuple
        Loads in door-class order, then shipments in index order.
    """
    # Step 1: the freighter's terminal delay.
    rng = random.Random(f"clearplan/{seed}/{freighter.code}/delay")
    breakdown_min = _uniform_min(rng, BREAKDOWN_MIN)
    trucking_min = _uniform_min(rng, TRUCKING_MIN)

    # Step 2: each shipment's attributes.
    drafts = [_draft(seed, freighter.code, i) for i in range(num_shipments)]

    # Step 3: trucks per door class, filled in shipment order.
    loads: list[Load] = []
    truck_of_shipment: dict[int, Load] = {}
    for door_class, requirements in DOOR_CLASSES.items():
        members = [d for d in drafts if d.door_class == door_class]
        first_eta_min = breakdown_min + trucking_min
        if door_class == "C":
            first_eta_min -= PERISHABLE_HEAD_START_MIN
        for k, truck in enumerate(_fill_trucks(members)):
            first_eta_min += _truck_gap_min(seed, freighter.code, door_class, k)
            eta = add_minutes(freighter.on_block, first_eta_min)
            load = Load(
                id=f"{freighter.code}-{door_class}{k + 1}",
                eta=eta,
                requirements=list(requirements),
            )
            loads.append(load)
            for draft in truck:
                truck_of_shipment[draft.index] = load

    # Step 4: documents and exam appointments, which depend on the truck.
    shipments = [
        _shipment(freighter, draft, truck_of_shipment[draft.index], tz)
        for draft in drafts
    ]
    return loads, shipments


def _truck_gap_min(seed: int, code: str, door_class: str, k: int) -> int:
    """Minutes between truck k-1 and truck k of a class (0 for the first)."""
    if k == 0:
        return 0
    rng = random.Random(f"clearplan/{seed}/{code}/{door_class}{k}")
    return _uniform_min(rng, NEXT_TRUCK_GAP_MIN)


def _fill_trucks(members: Sequence[_Draft]) -> list[list[_Draft]]:
    """Fill trucks in order; a shipment that does not fit starts a new one."""
    trucks: list[list[_Draft]] = []
    room = 0
    for draft in members:
        if not trucks or draft.pallets > room:
            trucks.append([])
            room = TRUCK_CAPACITY_PALLETS
        trucks[-1].append(draft)
        room -= draft.pallets
    return trucks


def _draft(seed: int, code: str, index: int) -> _Draft:
    """Draw one shipment's attributes from its own stream."""
    rng = random.Random(f"clearplan/{seed}/{code}/S{index}")
    priority = _pick(rng, PRIORITY_MIX)
    commodity = _pick(rng, COMMODITY_MIX)
    oversize = rng.random() < OVERSIZE_SHARE_OF_GENERAL
    door_class = {"food": "C", "pharma": "C", "dangerous_goods": "D"}.get(
        commodity, "O" if oversize else "T"
    )
    regime = _pick(rng, REGIME_MIX)
    pallets = _pick(rng, PALLETS_MIX)
    simple = rng.random() < SIMPLE_PAPERWORK_SHARE
    documents = _uniform_min(rng, SIMPLE_DOCUMENTS if simple else COMPLEX_DOCUMENTS)
    lines = _uniform_min(rng, SIMPLE_LINES if simple else COMPLEX_LINES)
    compliance = rng.random() < COMPLIANCE_SHARE[commodity]
    lane = _pick(rng, LANE_MIX)
    pattern = _pick(rng, DOCUMENTS_READY_MIX)
    offset_bounds = {
        "pre_alert": PRE_ALERT_BEFORE_ON_BLOCK_MIN,
        "with_goods": WITH_GOODS_AFTER_ETA_MIN,
        "late": LATE_AFTER_ON_BLOCK_MIN,
    }[pattern]
    return _Draft(
        index=index,
        priority=priority,
        commodity=commodity,
        door_class=door_class,
        regime=regime,
        pallets=pallets,
        documents=documents,
        lines=lines,
        compliance=compliance,
        lane=lane,
        documents_pattern=pattern,
        documents_offset_min=_uniform_min(rng, offset_bounds),
    )


def _shipment(
    freighter: Freighter,
    draft: _Draft,
    truck: Load,
    tz: str,
) -> Shipment:
    """The shipment of a draft once its truck is known."""
    eta = truck.eta
    if draft.documents_pattern == "pre_alert":
        ready = add_minutes(freighter.on_block, -draft.documents_offset_min)
    elif draft.documents_pattern == "with_goods":
        ready = add_minutes(eta, draft.documents_offset_min)
    else:
        ready = add_minutes(freighter.on_block, draft.documents_offset_min)
    exam_window = None
    if draft.lane == Lane.physical:
        exam_window = exam_appointment(max(ready, eta), tz)
    return Shipment(
        id=f"{freighter.code}-S{draft.index + 1:03d}",
        load_id=truck.id,
        regime=draft.regime,
        commodity=draft.commodity,
        priority=draft.priority,
        documents_ready_at=ready,
        pallets=draft.pallets,
        documents=draft.documents,
        declaration_lines=draft.lines,
        compliance_required=draft.compliance,
        lane=draft.lane,
        exam_window=exam_window,
    )


def exam_appointment(actionable: datetime, tz: str) -> ExamWindow:
    """The exam window customs set for a shipment actionable at a time.

    It starts on the first half hour at least `EXAM_LEAD_MIN` after the
    shipment is actionable (time for review, declaration and customs'
    decision) and is moved to the next opening of the exam bays when it
    would not end by their closing time.
    """
    earliest = to_utc(add_minutes(actionable, EXAM_LEAD_MIN))
    # Half hours are counted in UTC: every zone offset in use is a whole
    # number of half hours except a few (Nepal, Chatham), where the window
    # simply starts on that zone's quarter hour.
    minutes = math.ceil(earliest.timestamp() / 60 / 30) * 30
    start = datetime.fromtimestamp(minutes * 60, tz=earliest.tzinfo)
    start = start.astimezone(actionable.tzinfo)
    opens, closes = EXAM_HOURS_LOCAL
    day = local_date_of(start, tz)
    open_at = local_instant(day, opens, tz)
    last_start = add_minutes(local_instant(day, closes, tz), -EXAM_WINDOW_MIN)
    if start < open_at:
        start = open_at
    elif start > last_start:
        start = local_instant(day + timedelta(days=1), opens, tz)
    start = start.astimezone(actionable.tzinfo)
    return ExamWindow(start=start, end=add_minutes(start, EXAM_WINDOW_MIN))
