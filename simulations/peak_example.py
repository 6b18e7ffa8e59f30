"""Write `examples/peak-2025-11-11.json`: the 11.11 peak as a simulation scenario.

Run ``python -m simulations.peak_example [--out PATH]``. The scenario is
the bundled HKIA request of 2025-11-11 (`simulations.hkia.build_request`,
volume 1.0, seed 0) with:

- its roster planned once by the roster engine (60 s), so every
  replication and every sweep point starts from the same shifts (CP-SAT
  aborted in reproducible mode on this request, so the roster is the one
  found in 60 s of wall clock and may differ if the script is run again);
- truck ETAs moved back to the freighters' *scheduled* on-block times, and
  lateness drawn in each replication from the real HKIA lateness of
  November 2025 (`lateness.months`), so the scenario answers "what if
  freighters run as late as they did last November";
- hourly costs. People: the site's loaded wages (`simulations.site`:
  broker HK$160, clerk HK$90). Doors, per open hour, our assumptions: the
  dock crew and forklift that unloading needs but the roster does not
  hold, plus the door's share of lease and power: standard HK$180,
  oversize HK$200, dangerous goods HK$220 (segregation, trained crew),
  cold chain HK$260 (reefer power), exam bay HK$150 (held for customs,
  no crew of ours).
"""

from __future__ import annotations

import argparse
import logging
from datetime import date, timedelta
from pathlib import Path

from scheduler.models import DoorCapability, Request
from simulations.scenario import ArrivalLateness, RoleCosts, Scenario

logger = logging.getLogger(__name__)

PEAK_DAY = date(2025, 11, 11)
DEFAULT_OUT = (
    Path(__file__).resolve().parent.parent / "examples" / "peak-2025-11-11.json"
)
ROLE_COSTS = RoleCosts(broker=16_000, clerk=9_000)
# Cents per open hour, by the door's most specific capability.
DOOR_HOURLY_CENTS: dict[DoorCapability, int] = {
    DoorCapability.exam: 15_000,
    DoorCapability.cold_chain: 26_000,
    DoorCapability.dangerous_goods: 22_000,
    DoorCapability.oversize: 20_000,
    DoorCapability.standard: 18_000,
}
ROSTER_TIME_LIMIT_S = 60.0


def peak_scenario(roster_time_limit_s: float = ROSTER_TIME_LIMIT_S) -> Scenario:
    """The peak scenario (plans the roster: takes about a minute)."""
    from scheduler.roster import plan_roster
    from simulations.hkia import build_request, load_arrivals

    request = build_request(PEAK_DAY)

    # Step 1: the roster, planned once.
    settings = request.settings.model_copy(update={"time_limit_s": roster_time_limit_s})
    plan = plan_roster(request.model_copy(update={"settings": settings}))
    roster = [
        shift.model_copy(
            update={
                "id": None,
                "start": None,
                "end": None,
                "break_start": None,
                "break_end": None,
                "worked_min": None,
                "paid_min": None,
                "cost_cents": None,
            }
        )
        for shift in plan.roster
    ]

    # Step 2: trucks back on the freighters' schedule.
    lateness = {
        arrival.code: arrival.on_block - arrival.scheduled
        for arrival in load_arrivals().on(PEAK_DAY)
    }
    loads = []
    for load in request.loads:
        delay = lateness.get(load.id.rsplit("-", 1)[0], timedelta(0))
        loads.append(load.model_copy(update={"eta": load.eta - delay}))

    # Step 3: costs per role and door.
    doors = [
        door.model_copy(update={"hourly_cost_cents": _door_cost(door.capabilities)})
        for door in request.doors
    ]
    data = Request.model_validate(request).model_dump(mode="json")
    data.update(
        request_id="peak-2025-11-11",
        roster=[shift.model_dump(mode="json", exclude_none=True) for shift in roster],
        loads=[load.model_dump(mode="json") for load in loads],
        doors=[door.model_dump(mode="json") for door in doors],
        kind="site",
        arrivals="replay",
        lateness=ArrivalLateness(source="hkia", months=["2025-11"]).model_dump(),
        lanes="drawn",
        dispatch="greedy",
        role_hourly_cost_cents=ROLE_COSTS.model_dump(),
    )
    return Scenario.model_validate(data)


def _door_cost(capabilities: list[DoorCapability]) -> int:
    for capability, cents in DOOR_HOURLY_CENTS.items():
        if capability in capabilities:
            return cents
    return DOOR_HOURLY_CENTS[DoorCapability.standard]


def main() -> None:
    """Write the scenario file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    scenario = peak_scenario()
    args.out.write_text(scenario.model_dump_json(indent=1) + "\n", encoding="utf-8")
    logger.info("peak example: %d shipments -> %s", len(scenario.shipments), args.out)


if __name__ == "__main__":
    main()
