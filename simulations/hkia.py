"""Real freighter arrivals at Hong Kong International Airport (HKIA).

Reads `data/hkia-cargo-flights-2025q4/hkia_cargo_flights_events.csv`, the
project's own reduction of the airport's flight-information open data
(16 Oct 2025 to 21 Jan 2026; see that folder's PROVENANCE.md). Flight
data © Hong Kong International Airport Authority, provided via
DATA.GOV.HK.

A row holds the scheduled local date and time, a status word and, unless
cancelled, the actual on-block time (with its date when that fell on
another day). Times are Hong Kong local time.

Two kinds of rows are left out and counted:

- cancelled flights;
- rows whose on-block time is more than 12 hours from the schedule
  (`MAX_OFF_SCHEDULE_MIN`). Those are diversions or data errors (a flight
  on-blocked days later, or a day before it was due); read as real they
  would move a night bank of freighters into the afternoon.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from scheduler.models import Horizon, Load, Request, Settings, Shipment, Site
from scheduler.sitetime import local_date_of, local_instant, minutes_between
from simulations.freight import (
    Freighter,
    base_shipment_count,
    cargo_of,
    count_rng,
    scaled_count,
)
from simulations.site import warehouse

logger = logging.getLogger(__name__)

HKIA_TZ = "Asia/Hong_Kong"
EVENTS_CSV = (
    Path(__file__).resolve().parent
    / "data"
    / "hkia-cargo-flights-2025q4"
    / "hkia_cargo_flights_events.csv"
)
HOURLY_CSV = EVENTS_CSV.with_name("hkia_hourly_counts.csv")
MAX_OFF_SCHEDULE_MIN = 12 * 60
HORIZON_DAYS = 2
MAX_VOLUME = 10.0
ATTRIBUTION = (
    "Flight data © Hong Kong International Airport Authority, provided via DATA.GOV.HK"
)


@dataclass(frozen=True)
class FreighterArrival:
    """One freighter arrival kept from the records.

    Parameters
    ----------
    flight_no
        The first flight number, as printed ("CX 020").
    operator
        ICAO code of the operator.
    origin
        Ports of origin, "|"-separated, last before Hong Kong last.
    scheduled
        Scheduled on-block instant.
    on_block
        Actual on-block instant, or the scheduled one when the row has no
        actual time.
    """

    flight_no: str
    operator: str
    origin: str
    scheduled: datetime
    on_block: datetime

    @property
    def code(self) -> str:
        """Identifier-safe code: flight number and scheduled local time."""
        local = self.scheduled.astimezone(self.on_block.tzinfo)
        return f"{self.flight_no.replace(' ', '')}-{local:%m%d%H%M}"


@dataclass(frozen=True)
class ArrivalRecords:
    """The kept arrivals and the counts of what was left out.

    Parameters
    ----------
    arrivals
        Kept freighter arrivals, in file order.
    dropped_off_schedule
        Rows more than `MAX_OFF_SCHEDULE_MIN` from their schedule.
    cancelled
        Rows of cancelled flights.
    first_date, last_date
        The scheduled local dates the file covers.
    """

    arrivals: tuple[FreighterArrival, ...]
    dropped_off_schedule: int
    cancelled: int
    first_date: date
    last_date: date

    def on(self, day: date) -> list[FreighterArrival]:
        """Arrivals whose on-block falls on a local date, by on-block time."""
        found = [a for a in self.arrivals if local_date_of(a.on_block, HKIA_TZ) == day]
        return sorted(found, key=lambda a: (a.on_block, a.flight_no))


def read_arrivals(rows: Iterable[dict[str, str]]) -> ArrivalRecords:
    """Keep the usable arrivals of event rows (as `csv.DictReader` gives).

    Raises
    ------
    ValueError
        When no row is an arrival.
    """
    kept: list[FreighterArrival] = []
    dropped = cancelled = 0
    dates: list[date] = []
    for row in rows:
        if row["direction"] != "A":
            continue
        scheduled_date = date.fromisoformat(row["date"])
        dates.append(scheduled_date)
        if row["status"].strip().lower() == "cancelled":
            cancelled += 1
            continue
        arrival = _arrival(row, scheduled_date)
        off_min = abs(minutes_between(arrival.scheduled, arrival.on_block))
        if off_min > MAX_OFF_SCHEDULE_MIN:
            dropped += 1
            continue
        kept.append(arrival)
    if not dates:
        raise ValueError("events: the records hold no arrival (direction 'A')")
    return ArrivalRecords(
        arrivals=tuple(kept),
        dropped_off_schedule=dropped,
        cancelled=cancelled,
        first_date=min(dates),
        last_date=max(dates),
    )


def _arrival(row: dict[str, str], scheduled_date: date) -> FreighterArrival:
    """One row as an arrival; without an actual time, the schedule stands."""
    scheduled = local_instant(scheduled_date, _clock(row["sched_time"]), HKIA_TZ)
    on_block = scheduled
    if row["status_time"].strip():
        actual_date = row["status_date_if_other_day"].strip() or row["date"]
        on_block = local_instant(
            date.fromisoformat(actual_date), _clock(row["status_time"]), HKIA_TZ
        )
    return FreighterArrival(
        flight_no=row["flight_no"].strip(),
        operator=row["airline_icao"].strip(),
        origin=row["ports"].strip(),
        scheduled=scheduled,
        on_block=on_block,
    )


def _clock(text: str) -> time:
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


@lru_cache(maxsize=1)
def load_arrivals() -> ArrivalRecords:
    """The project's copy of the HKIA records, read once per process."""
    with EVENTS_CSV.open(newline="", encoding="utf-8") as handle:
        records = read_arrivals(csv.DictReader(handle))
    logger.info(
        "hkia: %d freighter arrivals kept, %d cancelled, %d dropped as more "
        "than %d h off schedule",
        len(records.arrivals),
        records.cancelled,
        records.dropped_off_schedule,
        MAX_OFF_SCHEDULE_MIN // 60,
    )
    return records


@lru_cache(maxsize=1)
def hourly_arrival_profile() -> tuple[float, ...]:
    """Share of non-cancelled freighter arrivals per local hour (24 values).

    Summed over every day of `hkia_hourly_counts.csv` (scheduled hours).
    """
    counts = [0] * 24
    with HOURLY_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            counts[int(row["hour_local"])] += int(row["cargo_arr"])
    total = sum(counts)
    return tuple(c / total for c in counts)


def build_request(day: date, volume: float = 1.0, seed: int = 0) -> Request:
    """The request of one day of real HKIA freighter arrivals.

    Parameters
    ----------
    day
        A local date the records cover; every freighter that on-blocked
        that day brings trucks and shipments to our warehouse.
    volume
        Multiplies the shipments per freighter (1.5 and 1.8 are the 11.11
        peak factors of China's State Post Bureau); the shipments of a
        lower volume are kept and more are added.
    seed
        Seeds every random draw; the same arguments give the same request.

    Raises
    ------
    ValueError
        When the day is outside the records, or volume or seed out of range.
    """
    records = load_arrivals()
    _check_arguments(records, day, volume, seed)

    # Step 1: the day's freighters and what each brings.
    arrivals = records.on(day)
    loads: list[Load] = []
    shipments: list[Shipment] = []
    for arrival in arrivals:
        rng = count_rng(seed, arrival.code)
        count = scaled_count(base_shipment_count(rng), volume, rng)
        freighter = Freighter(code=arrival.code, on_block=arrival.on_block)
        day_loads, day_shipments = cargo_of(freighter, count, seed, HKIA_TZ)
        loads.extend(day_loads)
        shipments.extend(day_shipments)
    logger.info(
        "hkia %s x%g seed %d: %d freighters, %d trucks, %d shipments "
        "(%d records dropped as more than %d h off schedule)",
        day,
        volume,
        seed,
        len(arrivals),
        len(loads),
        len(shipments),
        records.dropped_off_schedule,
        MAX_OFF_SCHEDULE_MIN // 60,
    )

    # Step 2: the site, sized for the example whatever the volume, so that
    # higher volumes are harder days for the same warehouse.
    setup = warehouse(day, HKIA_TZ)
    return Request(
        request_id=f"hkia-{day.isoformat()}-x{volume:g}-seed{seed}",
        site=Site(
            id="hkia-bonded-1",
            timezone=HKIA_TZ,
            jurisdiction="HK",
            name=(
                f"Mid-size bonded warehouse at HKIA (model). Freighters of "
                f"{day.isoformat()}: {len(arrivals)}, volume x{volume:g}, seed "
                f"{seed}; {records.dropped_off_schedule} of "
                f"{len(records.arrivals) + records.dropped_off_schedule} "
                f"arrival records dropped as more than "
                f"{MAX_OFF_SCHEDULE_MIN // 60} h off schedule. {ATTRIBUTION}."
            ),
        ),
        horizon=Horizon(start_date=day, days=HORIZON_DAYS),
        staff=setup.staff,
        shift_templates=setup.shift_templates,
        doors=setup.doors,
        labour_standards=setup.labour_standards,
        cover_requirements=setup.cover_requirements,
        loads=loads,
        shipments=shipments,
        settings=example_settings(day, seed),
    )


def example_settings(day: date, seed: int) -> Settings:
    """Settings of the examples: a minute to plan, made the evening before."""
    planned_at = local_instant(day - timedelta(days=1), time(18, 0), HKIA_TZ)
    return Settings(time_limit_s=60.0, seed=seed, planned_at=planned_at)


def _check_arguments(
    records: ArrivalRecords, day: date, volume: float, seed: int
) -> None:
    if not records.first_date <= day <= records.last_date:
        raise ValueError(
            f"date: {day.isoformat()} is outside the HKIA records, which cover "
            f"{records.first_date.isoformat()} to {records.last_date.isoformat()}"
        )
    if not 0 < volume <= MAX_VOLUME:
        raise ValueError(f"volume must be above 0 and at most {MAX_VOLUME:g}")
    if not 0 <= seed <= 2**31 - 1:
        raise ValueError("seed must be between 0 and 2147483647")
