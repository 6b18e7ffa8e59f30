"""Generated peak days of any size, calibrated like the HKIA example.

`generated_request(num_shipments, seed)` makes a day of exactly
`num_shipments` shipments for a bonded warehouse at Hong Kong airport:

1. freighters on-block on the start date at hours drawn from the real
   HKIA hourly profile of freighter arrivals (all 98 days of
   `data/hkia-cargo-flights-2025q4/hkia_hourly_counts.csv`, scheduled
   hours; the minute within the hour is uniform);
2. each freighter brings shipments by the same rule as the example
   (`simulations.freight`: shipments per freighter, terminal delay,
   trucks, every mix), freighters being added until the count is reached
   and the last one trimmed;
3. the site of the example (`simulations.site`) scaled by
   `num_shipments / 2,200`: staff, staffing plan and doors grow with the
   size, so every size is about as tight as the example at x1.0.

Freighter k and its shipments do not depend on `num_shipments`: a day of
1,000 shipments is the first freighters of a day of 2,000 with the same
seed.
"""

from __future__ import annotations

import logging
import random
from datetime import date, time

from scheduler.models import Horizon, Load, Request, Shipment, Site
from scheduler.sitetime import local_instant
from simulations.freight import Freighter, base_shipment_count, cargo_of, count_rng
from simulations.hkia import (
    HKIA_TZ,
    HORIZON_DAYS,
    example_settings,
    hourly_arrival_profile,
)
from simulations.site import REFERENCE_SHIPMENTS_PER_DAY, warehouse

logger = logging.getLogger(__name__)

MAX_SHIPMENTS = 100_000


def generated_request(
    num_shipments: int, seed: int = 0, start_date: date = date(2025, 11, 11)
) -> Request:
    """A seeded peak day of exactly `num_shipments` shipments.

    Parameters
    ----------
    num_shipments
        Shipments in the request, 1 to 100,000.
    seed
        Seeds every random draw; the same arguments give the same request.
    start_date
        The day the freighters arrive, first date of the two-day horizon.

    Raises
    ------
    ValueError
        When `num_shipments` or `seed` is out of range.
    """
    if not 1 <= num_shipments <= MAX_SHIPMENTS:
        raise ValueError(
            f"num_shipments must be between 1 and {MAX_SHIPMENTS:,}, "
            f"not {num_shipments}"
        )
    if not 0 <= seed <= 2**31 - 1:
        raise ValueError("seed must be between 0 and 2147483647")

    # Step 1: freighters and their cargo until the count is reached.
    freighters = generated_freighters(num_shipments, seed, start_date)
    loads: list[Load] = []
    shipments: list[Shipment] = []
    for freighter, count in freighters:
        day_loads, day_shipments = cargo_of(freighter, count, seed, HKIA_TZ)
        loads.extend(day_loads)
        shipments.extend(day_shipments)
    logger.info(
        "generate %d seed %d: %d freighters, %d trucks",
        num_shipments,
        seed,
        len(freighters),
        len(loads),
    )

    # Step 2: the example's site at this size.
    scale = num_shipments / REFERENCE_SHIPMENTS_PER_DAY
    setup = warehouse(start_date, HKIA_TZ, scale)
    return Request(
        request_id=f"generated-{num_shipments}-seed{seed}-{start_date.isoformat()}",
        site=Site(
            id="generated-bonded",
            timezone=HKIA_TZ,
            jurisdiction="HK",
            name=(
                f"Generated bonded warehouse at HKIA, scale {scale:.3f} of the "
                f"example's site: {num_shipments} shipments, seed {seed}"
            ),
        ),
        horizon=Horizon(start_date=start_date, days=HORIZON_DAYS),
        staff=setup.staff,
        shift_templates=setup.shift_templates,
        doors=setup.doors,
        labour_standards=setup.labour_standards,
        cover_requirements=setup.cover_requirements,
        loads=loads,
        shipments=shipments,
        settings=example_settings(start_date, seed),
    )


def generated_freighters(
    num_shipments: int, seed: int, day: date
) -> list[tuple[Freighter, int]]:
    """Freighters with their shipment counts, summing to `num_shipments`.

    Listed by on-block time, as a day of real records is.
    """
    profile = hourly_arrival_profile()
    rng = random.Random(f"clearplan/generate/{seed}")
    result: list[tuple[Freighter, int]] = []
    remaining = num_shipments
    while remaining > 0:
        code = f"G{len(result) + 1:04d}"
        hour = rng.choices(range(24), weights=profile)[0]
        minute = rng.randrange(60)
        on_block = local_instant(day, time(hour, minute), HKIA_TZ)
        count = min(remaining, base_shipment_count(count_rng(seed, code)))
        result.append((Freighter(code=code, on_block=on_block), count))
        remaining -= count
    return sorted(result, key=lambda item: (item[0].on_block, item[0].code))
