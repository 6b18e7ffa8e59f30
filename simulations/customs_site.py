"""A synthetic bonded-warehouse site in Hong Kong for the roster benchmark.

`customs_site_request` builds a full roster request: a mid-to-large site
at Hong Kong airport with clerks and licensed brokers on 8-hour shifts
around the clock, their contracts, leave and wishes, and a forecast whose
daily and hourly shape is that of the real freighter arrivals and
departures at HKIA (`data/hkia-cargo-flights-2025q4/hkia_hourly_counts.csv`,
16 Oct 2025 - 21 Jan 2026, read at run time next to this module).

Everything random is drawn from `random.Random(seed)`, so a seed gives the
same request every time. The forecast itself has no noise: it is the real
flight counts of each date (or, for a date outside the data, the mean of
its weekday and hour), scaled.

Assumptions (none of these numbers is in the data; they are ours):

- Volume: one freighter arrival brings `IMPORT_SHIPMENTS_PER_FLIGHT`
  shipments to this site and one departure takes
  `EXPORT_SHIPMENTS_PER_FLIGHT`, both times `staff / 300`, so the demand
  grows with the staff asked for. At 300 staff that is about 1,850
  shipments a day. With clearplan's default labour standards a shipment
  takes about 33 staff minutes, so this asks for about 84 % of the
  contracted 40 h weeks as interval cover (brokers, the scarce licensed
  side, about 93 %, clerks about 80 %): high, but coverable within 48 h
  weeks and a little overtime.
- Timing: imports reach the warehouse `TERMINAL_DELAY_H` hours after the
  flight's scheduled on-block (breakdown at the cargo terminal, then the
  truck); exports are delivered `EXPORT_CUTOFF_H` hours before the
  scheduled departure. Each hour's shipments arrive uniformly over it.
  Arrivals from two days before the horizon are in the forecast too, so
  the first day starts with the backlog a real site would have; arrivals
  in the last half SLA of the horizon are left out (they belong to the
  next roster), because demand squeezes work due after the horizon into
  its last hours and would otherwise ask for three times a normal
  evening.
- Mix: priorities (express / standard / deferred) 35/50/15 % for imports
  and 20/60/20 % for exports (e-commerce peak); commodities general 80 %,
  food 8 %, pharma 6 %, dangerous goods 6 %, with compliance review for 5,
  25, 40 and 50 % of them. Shipment size grows with lower priority (1-3
  pallets, 3-5 documents, 4-12 lines). Task times are clearplan's default
  labour standards.
- Staff: 55 % clerks, 45 % brokers; about 2 % on-call employees and 2 %
  agency clerks (worked only when called in). Brokers hold a Hong Kong
  licence for all regimes (70 %), import and transit (20 %) or export
  only (10 %), with pharma (14 %), food (16 %) or dangerous goods (10 %)
  on top of general cargo; about 3 % of brokers have a licence expiring
  inside the horizon. About 10 % of clerks and 8 % of brokers also do
  compliance review; 10 % never work nights.
- Contracts: 40 h a week (5 shifts), at most 48 h, 11 h rest, at most 6
  days in a row, days off at least 2 in a row, at most 2 working weekends
  (which binds only on horizons with more than two weekends), overtime at
  150 % up to 4 h a week. Hourly cost HK$110 for clerks and HK$190 for
  brokers (plus 10 % with compliance); agency HK$150 plus a HK$500 call-in
  fee and 12 h notice; on-call staff their own rate plus HK$300 and 4 h
  notice. A person whose leave or lapsed licence leaves fewer than 7
  days in a full week gets a lower weekly minimum, so that minimum stays
  reachable.
- Leave: 8 % of people have one block of 2-5 days; 4 % have a 2-4 h
  unavailability (training); 25 % have one or two shift requests.
- Shifts: early 06:00-14:00, day 09:00-17:30 with an unpaid 30-min break
  at 12:30, late 14:00-22:00, night 22:00-06:00 (no early the next day);
  day and late may be extended by up to 120 min in steps of 60. Breaks on
  early, late and night are taken in rotation on the floor and paid, so
  those templates model none.
"""

from __future__ import annotations

import csv
import logging
import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from scheduler.models import (
    Contract,
    DateRange,
    Door,
    DoorCapability,
    ForecastItem,
    Horizon,
    Interval,
    Licence,
    OnCall,
    Person,
    Priority,
    Regime,
    Request,
    Role,
    Settings,
    ShiftRequest,
    ShiftTemplate,
    Site,
    SlaMinutes,
)
from scheduler.sitetime import add_minutes, local_instant, local_midnight, week_start

logger = logging.getLogger(__name__)

HOURLY_COUNTS = (
    Path(__file__).resolve().parent
    / "data"
    / "hkia-cargo-flights-2025q4"
    / "hkia_hourly_counts.csv"
)
TIMEZONE = "Asia/Hong_Kong"
JURISDICTION = "HK"

# Volume and timing assumptions (see the module docstring).
IMPORT_SHIPMENTS_PER_FLIGHT = 9.5
EXPORT_SHIPMENTS_PER_FLIGHT = 5.5
REFERENCE_STAFF = 300
TERMINAL_DELAY_H = 2
EXPORT_CUTOFF_H = 6
WARM_UP_DAYS = 2

PRIORITY_MIX = {
    Regime.import_: {
        Priority.express: 0.35,
        Priority.standard: 0.50,
        Priority.deferred: 0.15,
    },
    Regime.export: {
        Priority.express: 0.20,
        Priority.standard: 0.60,
        Priority.deferred: 0.20,
    },
}
# commodity -> (share of shipments, share needing compliance review)
COMMODITY_MIX = {
    "general": (0.80, 0.05),
    "food": (0.08, 0.25),
    "pharma": (0.06, 0.40),
    "dangerous_goods": (0.06, 0.50),
}
# priority -> (pallets, documents, declaration lines) per shipment
SHIPMENT_SIZE = {
    Priority.express: (1.0, 3.0, 4.0),
    Priority.standard: (2.0, 4.0, 8.0),
    Priority.deferred: (3.0, 5.0, 12.0),
}

SHIFT_MIN = 8 * 60
FULL_TIME_WEEK_MIN = 40 * 60
MAX_WEEK_MIN = 48 * 60
CLERK_CENTS_PER_H = 11_000
BROKER_CENTS_PER_H = 19_000
AGENCY_CENTS_PER_H = 15_000


def customs_site_request(
    staff: int = 300,
    days: int = 14,
    start_date: date = date(2025, 11, 10),
    interval_min: Literal[15, 30, 60] = 30,
    seed: int = 0,
) -> Request:
    """A roster request for a synthetic Hong Kong bonded-warehouse site.

    Parameters
    ----------
    staff
        People on the books, on-call and agency included (at least 20).
    days
        Length of the horizon in days.
    start_date
        First local date of the horizon.
    interval_min
        Length of the cover intervals.
    seed
        Seed of every random draw (staff, leave, requests).

    Returns
    -------
    Request
        A validated request with staff, shift templates, doors and forecast,
        and no fixed roster.
    """
    if staff < 20:
        raise ValueError("staff must be at least 20 for a site with every post")
    rng = random.Random(seed)
    horizon = Horizon(start_date=start_date, days=days)
    templates = _shift_templates()

    people = _staff(rng, staff, horizon, templates)
    forecast = _forecast(horizon, staff / REFERENCE_STAFF, SlaMinutes())
    logger.info(
        "customs site: %d staff, %d days, %d forecast items (seed %d)",
        len(people),
        days,
        len(forecast),
        seed,
    )
    return Request(
        request_id=f"customs-site-{staff}-{start_date.isoformat()}-{days}d-{seed}",
        site=Site(
            id="hkg-bonded-1",
            timezone=TIMEZONE,
            jurisdiction=JURISDICTION,
            name="Bonded warehouse at HKIA (synthetic)",
        ),
        horizon=horizon,
        staff=people,
        shift_templates=templates,
        doors=_doors(),
        forecast=forecast,
        settings=Settings(
            time_limit_s=60.0,
            seed=seed,
            num_workers=2,
            interval_min=interval_min,
        ),
    )


# --------------------------------------------------------------------------
# Shift templates and doors


def _shift_templates() -> list[ShiftTemplate]:
    return [
        ShiftTemplate(id="early", start_local="06:00", end_local="14:00"),
        ShiftTemplate(
            id="day",
            start_local="09:00",
            end_local="17:30",
            break_start_local="12:30",
            break_min=30,
            break_paid=False,
            max_extension_min=120,
            extension_step_min=60,
        ),
        ShiftTemplate(
            id="late",
            start_local="14:00",
            end_local="22:00",
            max_extension_min=120,
            extension_step_min=60,
        ),
        ShiftTemplate(
            id="night",
            start_local="22:00",
            end_local="06:00",
            forbidden_successors=["early"],
        ),
    ]


def _doors() -> list[Door]:
    """24 doors: most standard, a few cold-chain, DG, oversize and exam bays."""
    kinds = (
        [[DoorCapability.standard]] * 16
        + [[DoorCapability.standard, DoorCapability.cold_chain]] * 3
        + [[DoorCapability.dangerous_goods]] * 2
        + [[DoorCapability.standard, DoorCapability.oversize]]
        + [[DoorCapability.exam]] * 2
    )
    return [
        Door(id=f"door-{k + 1:02d}", capabilities=capabilities)
        for k, capabilities in enumerate(kinds)
    ]


# --------------------------------------------------------------------------
# Staff


def _staff(
    rng: random.Random, staff: int, horizon: Horizon, templates: list[ShiftTemplate]
) -> list[Person]:
    """Clerks then brokers, each with contract, leave and wishes."""
    num_clerks = round(0.55 * staff)
    num_on_call = max(1, round(0.02 * staff))
    num_agency = max(1, round(0.02 * staff))
    num_expiring = max(1, round(0.03 * (staff - num_clerks)))

    num_brokers = staff - num_clerks
    on_call_clerks = num_on_call // 2
    on_call_brokers = num_on_call - on_call_clerks

    # Clerks: agency temps first, on-call last. Brokers: on-call first,
    # then those whose licence expires in the horizon.
    people = []
    for index in range(num_clerks):
        agency = index < num_agency
        on_call = index >= num_clerks - on_call_clerks
        people.append(
            _person(rng, Role.clerk, index, horizon, templates, agency, on_call, False)
        )
    for index in range(num_brokers):
        on_call = index < on_call_brokers
        expiring = on_call_brokers <= index < on_call_brokers + num_expiring
        people.append(
            _person(
                rng, Role.broker, index, horizon, templates, False, on_call, expiring
            )
        )
    return people


def _person(
    rng: random.Random,
    role: Role,
    index: int,
    horizon: Horizon,
    templates: list[ShiftTemplate],
    agency: bool,
    on_call: bool,
    expiring: bool,
) -> Person:
    """One person: skills, licences, contract, leave, unavailability, wishes."""
    person_id = f"{role.value}-{index + 1:03d}"
    compliance = rng.random() < (0.10 if role == Role.clerk else 0.08)
    licences = _licences(rng, horizon, expiring) if role == Role.broker else []
    leave = _leave(rng, horizon) if not (agency or on_call) else []
    no_nights = rng.random() < 0.10

    unavailable = set(_leave_dates(leave, horizon))
    for day in horizon.dates():
        if role == Role.broker and not any(lic.valid_on(day) for lic in licences):
            unavailable.add(day)
    call_in = _on_call(agency, on_call)
    contract = _contract(role, horizon, unavailable, compliance, call_in, no_nights)
    return Person(
        id=person_id,
        name=f"{role.value.title()} {index + 1:03d}",
        role=role,
        skills=["compliance"] if compliance else [],
        licences=licences,
        languages=_languages(rng),
        contract=contract,
        leave=list(leave),
        unavailability=_unavailability(rng, horizon, unavailable),
        shift_requests=_shift_requests(rng, horizon, templates, unavailable),
        on_call=call_in,
    )


def _licences(rng: random.Random, horizon: Horizon, expiring: bool) -> list[Licence]:
    draw = rng.random()
    if draw < 0.70:
        regimes = [Regime.import_, Regime.export, Regime.transit]
    elif draw < 0.90:
        regimes = [Regime.import_, Regime.transit]
    else:
        regimes = [Regime.export]
    commodities = ["general"]
    for commodity, share in (
        ("pharma", 0.14),
        ("food", 0.16),
        ("dangerous_goods", 0.10),
    ):
        if rng.random() < share:
            commodities.append(commodity)
    expires = None
    if expiring:
        expires = horizon.start_date + timedelta(
            days=rng.randint(
                horizon.days // 4, max(horizon.days // 4, horizon.days - 3)
            )
        )
    return [
        Licence(
            jurisdiction=JURISDICTION,
            regimes=regimes,
            commodities=commodities,
            valid_from=horizon.start_date - timedelta(days=rng.randint(100, 2000)),
            expires=expires,
        )
    ]


def _contract(
    role: Role,
    horizon: Horizon,
    unavailable: set[date],
    compliance: bool,
    call_in: OnCall | None,
    no_nights: bool,
) -> Contract:
    if call_in is not None and call_in.kind == "agency":
        hourly = AGENCY_CENTS_PER_H
    else:
        hourly = CLERK_CENTS_PER_H if role == Role.clerk else BROKER_CENTS_PER_H
    if compliance:
        hourly = hourly * 11 // 10
    called_in = call_in is not None
    return Contract(
        min_minutes_per_week=0 if called_in else _weekly_minimum(horizon, unavailable),
        max_minutes_per_week=MAX_WEEK_MIN,
        max_consecutive_days=6,
        min_consecutive_days_off=2,
        min_rest_min=11 * 60,
        max_working_weekends=2,
        max_shifts_per_template={"night": 0} if no_nights else {},
        hourly_cost_cents=hourly,
        overtime_rate_pct=150,
        max_overtime_min_per_week=0 if called_in else 240,
    )


def _weekly_minimum(horizon: Horizon, unavailable: set[date]) -> int:
    """40 h, lowered when leave or a lapsed licence shortens a full week.

    A week with `a` available days keeps two of them off (days off come at
    least two in a row), so at most `a - 2` shifts are asked for.
    """
    fewest = 7
    for week in _full_weeks(horizon.start_date, horizon.days):
        fewest = min(fewest, sum(day not in unavailable for day in week))
    shifts = max(0, min(FULL_TIME_WEEK_MIN // SHIFT_MIN, fewest - 2))
    return shifts * SHIFT_MIN


@lru_cache(maxsize=8)
def _full_weeks(start_date: date, days: int) -> tuple[tuple[date, ...], ...]:
    """The Monday-to-Sunday weeks lying wholly inside the horizon."""
    first_monday = week_start(start_date + timedelta(days=6))
    weeks = []
    monday = first_monday
    while monday + timedelta(days=6) < start_date + timedelta(days=days):
        weeks.append(tuple(monday + timedelta(days=k) for k in range(7)))
        monday += timedelta(days=7)
    return tuple(weeks)


def _leave(rng: random.Random, horizon: Horizon) -> list[DateRange]:
    if rng.random() >= 0.08:
        return []
    first = horizon.start_date + timedelta(days=rng.randint(-2, horizon.days - 1))
    length = rng.randint(2, 5)
    return [
        DateRange(
            first_date=first,
            last_date=first + timedelta(days=length - 1),
            reason="annual leave",
        )
    ]


def _leave_dates(leave: list[DateRange], horizon: Horizon) -> list[date]:
    dates = set(horizon.dates())
    result = []
    for block in leave:
        day = block.first_date
        while day <= block.last_date:
            if day in dates:
                result.append(day)
            day += timedelta(days=1)
    return result


def _unavailability(
    rng: random.Random, horizon: Horizon, unavailable: set[date]
) -> list[Interval]:
    if rng.random() >= 0.04:
        return []
    day = horizon.start_date + timedelta(days=rng.randrange(horizon.days))
    if day in unavailable:
        return []
    start = local_instant(day, time(rng.choice((9, 14))), TIMEZONE)
    return [
        Interval(
            start=start,
            end=add_minutes(start, 60 * rng.randint(2, 4)),
            reason="training",
        )
    ]


def _shift_requests(
    rng: random.Random,
    horizon: Horizon,
    templates: list[ShiftTemplate],
    unavailable: set[date],
) -> list[ShiftRequest]:
    if rng.random() >= 0.25:
        return []
    requests: dict[date, ShiftRequest] = {}
    for _ in range(rng.randint(1, 2)):
        day = horizon.start_date + timedelta(days=rng.randrange(horizon.days))
        if day in unavailable or day in requests:
            continue
        if rng.random() < 0.6:
            requests[day] = ShiftRequest(date=day, kind="off", weight=rng.randint(1, 3))
        else:
            template = rng.choice(templates)
            requests[day] = ShiftRequest(
                date=day, template_id=template.id, kind="on", weight=rng.randint(1, 2)
            )
    return [requests[day] for day in sorted(requests)]


def _languages(rng: random.Random) -> list[str]:
    languages = ["zh-yue"]
    if rng.random() < 0.8:
        languages.append("en")
    if rng.random() < 0.3:
        languages.append("zh-cmn")
    return languages


def _on_call(agency: bool, on_call: bool) -> OnCall | None:
    if agency:
        return OnCall(kind="agency", call_in_cost_cents=50_000, notice_min=12 * 60)
    if on_call:
        return OnCall(kind="on_call", call_in_cost_cents=30_000, notice_min=4 * 60)
    return None


# --------------------------------------------------------------------------
# Forecast


def _forecast(horizon: Horizon, volume: float, sla: SlaMinutes) -> list[ForecastItem]:
    """Hourly forecast items from the HKIA flight profile.

    Imports arrive `TERMINAL_DELAY_H` after their flight's hour, exports
    `EXPORT_CUTOFF_H` before theirs; arrivals outside the warm-up days and
    the horizon are left out.
    """
    first = horizon.start_date - timedelta(days=WARM_UP_DAYS)
    last = horizon.start_date + timedelta(days=horizon.days)  # exclusive
    window_start = local_midnight(first, TIMEZONE)
    window_end = local_midnight(last, TIMEZONE)

    # Step 1: shipments arriving at the warehouse per (regime, hour).
    arrivals: dict[tuple[Regime, datetime], float] = defaultdict(float)
    flight_days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    for day in [first - timedelta(days=1), *flight_days]:
        for hour in range(24):
            flight_at = local_instant(day, time(hour), TIMEZONE)
            imports, exports = _flights(day, hour)
            arrivals[
                (Regime.import_, add_minutes(flight_at, 60 * TERMINAL_DELAY_H))
            ] += imports * IMPORT_SHIPMENTS_PER_FLIGHT * volume
            arrivals[
                (Regime.export, add_minutes(flight_at, -60 * EXPORT_CUTOFF_H))
            ] += exports * EXPORT_SHIPMENTS_PER_FLIGHT * volume

    # Step 2: one item per hour, regime, priority and commodity. Arrivals
    # in the last half SLA are left to the next roster: demand squeezes
    # work due after the horizon into its last hours, and without this
    # cut-off the last evening would need three times a normal evening.
    items = []
    for (regime, start), shipments in sorted(arrivals.items()):
        if shipments <= 0 or not window_start <= start < window_end:
            continue
        for priority, priority_share in PRIORITY_MIX[regime].items():
            if add_minutes(start, 60 + sla.of(priority) // 2) > window_end:
                continue
            pallets, documents, lines = SHIPMENT_SIZE[priority]
            for commodity, (share, compliance_share) in COMMODITY_MIX.items():
                items.append(
                    ForecastItem(
                        start=start,
                        end=add_minutes(start, 60),
                        shipments=round(shipments * priority_share * share, 3),
                        priority=priority,
                        regime=regime,
                        commodity=commodity,
                        pallets_per_shipment=pallets,
                        documents_per_shipment=documents,
                        lines_per_shipment=lines,
                        compliance_share=compliance_share,
                    )
                )
    return items


def _flights(day: date, hour: int) -> tuple[float, float]:
    """Freighter arrivals and departures scheduled in a local hour.

    The real count of that date when the data has it, else the mean of
    that weekday and hour over the data.
    """
    counts, means = _hourly_counts()
    if (day, hour) in counts:
        return counts[(day, hour)]
    return means[(day.weekday(), hour)]


@lru_cache(maxsize=1)
def _hourly_counts() -> tuple[
    dict[tuple[date, int], tuple[float, float]],
    dict[tuple[int, int], tuple[float, float]],
]:
    """The HKIA hourly counts by (date, hour) and their weekday-hour means."""
    counts: dict[tuple[date, int], tuple[float, float]] = {}
    with HOURLY_COUNTS.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = (date.fromisoformat(row["date"]), int(row["hour_local"]))
            counts[key] = (float(row["cargo_arr"]), float(row["cargo_dep"]))

    sums: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for (day, hour), (arrivals, departures) in counts.items():
        total = sums[(day.weekday(), hour)]
        total[0] += arrivals
        total[1] += departures
        total[2] += 1
    means = {key: (a / n, d / n) for key, (a, d, n) in sums.items()}
    return counts, means
