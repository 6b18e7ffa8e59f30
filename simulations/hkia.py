"""The real HKIA peak day: freighter arrivals turned into a task-plan request.

`build_request(day, volume, seed)` makes the request of any day of real
freighter arrivals at Hong Kong International Airport for a mid-size
bonded warehouse near the airport. The records are the project's own
reduction of the airport's flight-information open data, 16 Oct 2025 to
21 Jan 2026 (`data/hkia-cargo-flights-2025q4/`, see its PROVENANCE.md).
Flight data © Hong Kong International Airport Authority, provided via
DATA.GOV.HK.

The records
-----------
A row holds the scheduled local date and time, a status word and, unless
cancelled, the actual on-block time (with its date when that fell on
another day). Cancelled flights are left out, and so are rows whose
on-block is more than 12 hours from the schedule (`MAX_OFF_SCHEDULE_MIN`):
diversions or data errors (on-blocked days late, or a day early) that read
as real would move a night bank of freighters into the afternoon. Of the
11,250 non-cancelled arrivals 694 are dropped; the count is returned with
the records, logged, and written into the request's `site.name`. A
freighter belongs to the local date of its on-block time (actual, or
scheduled when there is none): 2025-11-11 has 118, 2025-11-28 has 127.

Assumed numbers and why (the data holds flights, not shipments)
---------------------------------------------------------------
Figures with a source id come from
`data/customs-process-and-peak-figures/`; the rest are our judgement.

- Shipments per freighter for our warehouse: log-normal, median 17,
  sigma 0.55 (mean 19.8, 90 % between 7 and 42). A wide-body freighter
  carries some hundreds of house waybills; a mid-size warehouse, one of
  many around the airport, gets a few per cent of them. With about 118
  freighters that is about 2,300 shipments a day, below the 3,000-8,000
  of a busy site in the design.
- Terminal delay, on-block to our door: breakdown at the cargo terminal
  90-240 min, trucking 20-45 min; cold-chain cargo is broken down first
  (60 min sooner); each further truck of a door class comes 15-40 min
  after the previous one. The Japanese time-release surveys (JP-TRS-2015)
  find that unloading, breakdown and carry-in, not customs (0.3 h of
  12.8 h), dominate the release time of air cargo.
- Trucks: at most 12 pallets (a 24-tonne rigid truck), filled per door
  class in shipment order, a shipment never split.
- Pallets per shipment: 1 (50 %), 2 (25 %), 3 (12 %), 4 (6 %), 5 (4 %),
  6 (3 %), mean 2.0: consolidated e-commerce and general cargo.
- Documents ready: pre-alerted 55 % (30-360 min before on-block, the
  forwarder's pre-alert at departure), with the goods 35 % (0-90 min
  after the truck: on 11.11 many e-commerce consolidations are finalised
  late), late 10 % (180-720 min after on-block: a missing invoice or
  certificate chased with the consignee).
- Priority: express 40 %, standard 45 %, deferred 15 %, an e-commerce
  peak mix. Express SLA `EXPRESS_SLA_MIN` = 120 min from the moment the
  shipment is actionable (documents ready and goods at our door), the
  site's promise for e-commerce express, not the 4 h default: the
  terminal has already used 2-5 h of the consignee's day. Standard 24 h,
  deferred 48 h (defaults).
- Commodity and door: general 83 % (2 % of it oversize: oversize door),
  food 7 % (perishables: cold-chain door), pharma 5 % (cold-chain door),
  dangerous goods 5 % (lithium batteries in consumer electronics: DG
  door).
- Regime: import 70 %, transit 15 % (on to the mainland by road), bonded
  15 % (stored under bond).
- Compliance review: every pharma shipment (import licence) and every
  dangerous-goods shipment, 30 % of food (health certificates), 3 % of
  general cargo (strategic-commodity and IP checks): 14 % overall.
- Paperwork: simple 65 % (2-4 documents, 1-8 declaration lines), complex
  35 % (4-8 documents, 12-40 lines).
- Customs lanes: green 88 %, documentary 8 %, physical 4 %. India's
  time-release studies find 85 % of bills facilitated in 2024
  (IN-NTRS-2024) and 87-93 % in 2025 (IN-NTRS-2025); we take 88 % and
  split the rest two to one. A physical exam gets a 3 h appointment on
  the first half hour at least 150 min after the shipment is actionable
  (time for review, declaration and customs' decision), inside the exam
  bays' hours 07:00-23:00.
- Task times (`simulations.site.LABOUR_STANDARDS`): declaration 9 min +
  0.6 per line, i.e. 12 min simple and 27 min at 30 lines, after the one
  published figure (VENDOR-ZF: 12 min simple, 25-30 min complex); customs
  response 20 min (JP-TRS-2012..2021: 0.3 h from declaration to permit
  for air cargo); review and data entry 6 + 2 per document + 0.4 per line
  (14 min simple, 30 min complex, so review plus declaration stays inside
  the 30-90 min per entry of VENDOR-GM-2025); compliance 10 + 1 per
  document; answering a documentary check 15 + 3 per document; unloading
  10 + 3 per pallet; an exam 30 + 6 per pallet.
- The site (`simulations.site`): shifts night 00:00-08:00, day
  08:00-16:00, mid 11:00-19:00 and evening 16:00-24:00, 30 min unpaid
  break; a staffing plan with a thin first-day night crew (7 clerks, 8
  brokers) against day and evening crews of about 30 clerks and 25
  brokers, because the office is staffed for the day while a fifth of the
  freighters land 00:00-02:00; the second day finishes the first day's
  work; 14 unloading doors (8 standard, 2 oversize, 2 cold chain, 2 DG)
  open around the clock and 3 exam bays open 07:00-23:00, one door out
  10:00-14:00. The site is the same at every volume.
- Horizon: two days from the day, so shipments of the evening's
  freighters can be finished the next morning. The next day's own
  freighters are not in the request.
- No roster: the request carries the staffing plan as slot cover
  requirements and the staff pool, so `clearplan plan` rosters first and
  then plans the tasks, as a dispatcher's day would run.

Volume multiplies the shipments of each freighter (1.5 and 1.8 bracket
the 11.11 peak-day ratio of China's parcel counts, CN-SPB-2022..2024);
the x1.0 shipments are kept and more are added to the same freighters.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from scheduler.models import (
    Horizon,
    Load,
    Request,
    Settings,
    Shipment,
    Site,
    SlaMinutes,
)
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
EXPRESS_SLA_MIN = 120
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
    """Settings of the examples: a minute to plan, made the evening before.

    The express SLA is the site's own, `EXPRESS_SLA_MIN` from the moment
    a shipment is actionable (see the module docstring); standard and
    deferred keep the defaults.
    """
    planned_at = local_instant(day - timedelta(days=1), time(18, 0), HKIA_TZ)
    return Settings(
        time_limit_s=60.0,
        seed=seed,
        planned_at=planned_at,
        sla=SlaMinutes(express=EXPRESS_SLA_MIN),
    )


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
