"""A mid-size bonded warehouse at Hong Kong airport: people, shifts, doors.

The site of the HKIA example (`simulations.hkia`) and of the generated
days (`simulations.generate`), at any size: `scale` 1.0 is the example's
site, sized for about 2,200 shipments a day; the generator scales staff,
staffing plan and doors with the number of shipments. Every number is an
assumption of ours, justified in the docstring of `simulations.hkia` and
in `docs/examples.md`. In short:

- shift templates, every day, 30 min unpaid break, up to 2 h overtime in
  1 h steps: night 00:00-08:00, day 08:00-16:00, mid 11:00-19:00,
  evening 16:00-24:00;
- a staffing plan, `STAFFING_PLAN`: persons per shift slot and post
  (clerk, compliance, broker, commodity:food/pharma/dangerous_goods),
  given as slot cover requirements, each missing person weighted
  `COVER_WEIGHT_UNDER` so that cover outweighs the wage of a shift. The
  first day has a thin night crew (7 clerks, 8 brokers) against a full
  day; the second day only finishes the first day's work;
- a staff pool of the busier day's posts plus 15 %, and on-call staff
  (8 % more, call-in HK$600, 4 h notice); wages clerk HK$90/h, broker
  HK$160/h, overtime 150 % up to 10 h a week;
- broker licences in jurisdiction HK: brokers of a commodity post hold
  `general` and that commodity, the others `general` only; 15 % of the
  general brokers are licensed for import only;
- doors open around the clock: 8 standard, 2 standard and oversize,
  2 cold chain, 2 dangerous goods; 3 exam bays open 07:00-23:00. Door
  D05 is out 10:00-14:00 on the first day (dock leveller maintenance);
- labour standards `LABOUR_STANDARDS`, with their sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, time, timedelta

from scheduler.models import (
    Contract,
    CoverRequirement,
    Door,
    DoorCapability,
    Interval,
    LabourStandards,
    LaneMix,
    Licence,
    OnCall,
    OpeningHours,
    Person,
    Regime,
    Role,
    ShiftTemplate,
    TaskStandard,
)
from scheduler.sitetime import local_instant

REFERENCE_SHIPMENTS_PER_DAY = 2200
COVER_WEIGHT_UNDER = 1_000_000
POOL_SLACK = 0.15
ON_CALL_SHARE = 0.08
IMPORT_ONLY_SHARE = 0.15
CLERK_HOURLY_CENTS = 9_000
BROKER_HOURLY_CENTS = 16_000
CALL_IN_CENTS = 60_000
CALL_IN_NOTICE_MIN = 240

# (template id, start, end, break start)
TEMPLATES: tuple[tuple[str, str, str, str], ...] = (
    ("night", "00:00", "08:00", "04:00"),
    ("day", "08:00", "16:00", "12:00"),
    ("mid", "11:00", "19:00", "15:00"),
    ("evening", "16:00", "24:00", "20:00"),
)
BREAK_MIN = 30

# Persons per shift slot at scale 1.0: first day, then second day.
# Posts: clerk, compliance (clerks with that skill), broker, and the
# commodity posts a broker fills with the matching licence.
STAFFING_PLAN: tuple[dict[str, dict[str, int]], ...] = (
    {
        "night": {"clerk": 6, "compliance": 1, "broker": 5, "food": 1,
                  "pharma": 1, "dangerous_goods": 1},
        "day": {"clerk": 26, "compliance": 3, "broker": 22, "food": 2,
                "pharma": 1, "dangerous_goods": 1},
        "mid": {"clerk": 10, "compliance": 1, "broker": 10},
        "evening": {"clerk": 22, "compliance": 3, "broker": 19, "food": 2,
                    "pharma": 1, "dangerous_goods": 1},
    },
    {
        "night": {"clerk": 18, "compliance": 2, "broker": 15, "food": 1,
                  "pharma": 1, "dangerous_goods": 1},
        "day": {"clerk": 22, "compliance": 2, "broker": 19, "food": 1,
                "pharma": 1, "dangerous_goods": 1},
        "mid": {"clerk": 8, "compliance": 1, "broker": 7},
        "evening": {"clerk": 10, "compliance": 1, "broker": 9, "food": 1,
                    "pharma": 1},
    },
)  # fmt: skip
COMMODITY_POSTS = ("food", "pharma", "dangerous_goods")

# Task times. The declaration follows the one published figure we have
# (process_effort.csv, VENDOR-ZF: 12 min for a simple declaration, 25-30
# min for a complex one): 9 + 0.6 per line gives 12 min at 5 lines and
# 27 min at 30. The customs response follows the Japanese time-release
# surveys (release_times.csv, JP-TRS-2012..2021: 0.3 h from declaration to
# permit for air cargo). The rest are our assumptions: review and data
# entry 6 + 2 per document + 0.4 per line (about 14 min simple, 30 min
# complex, so review plus declaration stays inside the 30-90 min per entry
# of VENDOR-GM-2025); compliance 10 + 1 per document; a documentary
# query answered in 15 + 3 per document; unloading 10 min at the door plus
# 3 per pallet; an exam 30 + 6 per pallet.
LABOUR_STANDARDS = LabourStandards(
    unload=TaskStandard(base_min=10, per_pallet_min=3.0),
    review=TaskStandard(base_min=6, per_document_min=2.0, per_line_min=0.4),
    compliance=TaskStandard(base_min=10, per_document_min=1.0),
    declare=TaskStandard(base_min=9, per_line_min=0.6),
    respond=TaskStandard(base_min=15, per_document_min=3.0),
    exam=TaskStandard(base_min=30, per_pallet_min=6.0),
    customs_response_min=20,
    lane_mix=LaneMix(green=0.88, documentary=0.08, physical=0.04),
)

# (id prefix, how many at scale 1.0, capabilities, exam bay hours)
DOOR_GROUPS: tuple[tuple[str, int, tuple[DoorCapability, ...], bool], ...] = (
    ("D", 8, (DoorCapability.standard,), False),
    ("O", 2, (DoorCapability.standard, DoorCapability.oversize), False),
    ("C", 2, (DoorCapability.cold_chain,), False),
    ("G", 2, (DoorCapability.dangerous_goods,), False),
    ("X", 3, (DoorCapability.exam,), True),
)
EXAM_BAY_HOURS = ("07:00", "23:00")
OUTAGE_DOOR = "D05"
OUTAGE_LOCAL = (time(10, 0), time(14, 0))


@dataclass(frozen=True)
class SiteSetup:
    """The parts of a request that describe the site rather than the day."""

    staff: list[Person]
    shift_templates: list[ShiftTemplate]
    doors: list[Door]
    labour_standards: LabourStandards
    cover_requirements: list[CoverRequirement]


def warehouse(start_date: date, tz: str, scale: float = 1.0) -> SiteSetup:
    """The bonded warehouse for a two-day horizon from `start_date`.

    Parameters
    ----------
    start_date
        First local date of the horizon.
    tz
        The site's IANA time zone.
    scale
        Size relative to the HKIA example's site (1.0); staff, staffing
        plan and doors are multiplied by it, keeping at least one of each
        kind.
    """
    if not 0 < scale <= 100:
        raise ValueError(f"scale must be above 0 and at most 100, not {scale}")
    plan = [
        {
            t: {post: _scaled(n, scale) for post, n in posts.items()}
            for t, posts in day.items()
        }
        for day in STAFFING_PLAN
    ]
    return SiteSetup(
        staff=_staff(plan),
        shift_templates=_templates(),
        doors=_doors(start_date, tz, scale),
        labour_standards=LABOUR_STANDARDS.model_copy(deep=True),
        cover_requirements=_cover(plan, start_date),
    )


def _scaled(count: int, scale: float) -> int:
    """A count at another size: rounded, and never scaled away to zero."""
    return max(1, round(count * scale)) if count > 0 else 0


def _templates() -> list[ShiftTemplate]:
    return [
        ShiftTemplate(
            id=template_id,
            start_local=start,
            end_local=end,
            break_start_local=break_start,
            break_min=BREAK_MIN,
            max_extension_min=120,
            extension_step_min=60,
        )
        for template_id, start, end, break_start in TEMPLATES
    ]


def _cover(
    plan: list[dict[str, dict[str, int]]], start_date: date
) -> list[CoverRequirement]:
    """One slot requirement per day, template and post with persons."""
    result = []
    for offset, day in enumerate(plan):
        for template_id, posts in day.items():
            for post, persons in posts.items():
                if persons == 0:
                    continue
                result.append(
                    CoverRequirement(
                        skill=_post_skill(post),
                        persons=persons,
                        date=start_date + timedelta(days=offset),
                        template_id=template_id,
                        weight_under=COVER_WEIGHT_UNDER,
                    )
                )
    return result


def _post_skill(post: str) -> str:
    return f"commodity:{post}" if post in COMMODITY_POSTS else post


def _staff(plan: list[dict[str, dict[str, int]]]) -> list[Person]:
    """The pool: the busiest day's posts plus slack, then on-call staff."""
    peak: dict[str, int] = {}
    for day in plan:
        totals: dict[str, int] = {}
        for posts in day.values():
            for post, persons in posts.items():
                totals[post] = totals.get(post, 0) + persons
        for post, persons in totals.items():
            peak[post] = max(peak.get(post, 0), persons)

    staff: list[Person] = []
    for post in ("clerk", "compliance", "broker", *COMMODITY_POSTS):
        regular = math.ceil(peak.get(post, 0) * (1 + POOL_SLACK))
        on_call = math.ceil(peak.get(post, 0) * ON_CALL_SHARE)
        for i in range(regular + on_call):
            staff.append(_person(post, i, on_call=i >= regular, pool=regular))
    return staff


def _person(post: str, i: int, *, on_call: bool, pool: int) -> Person:
    """One person of a post group; ids say the group, never a name."""
    is_clerk = post in ("clerk", "compliance")
    contract = Contract(
        hourly_cost_cents=CLERK_HOURLY_CENTS if is_clerk else BROKER_HOURLY_CENTS,
        max_overtime_min_per_week=600,
    )
    on_call_terms = (
        OnCall(call_in_cost_cents=CALL_IN_CENTS, notice_min=CALL_IN_NOTICE_MIN)
        if on_call
        else None
    )
    group = {"clerk": "clerk", "compliance": "clerk-compliance", "broker": "broker"}
    person_id = f"{group.get(post, 'broker-' + post.replace('_', '-'))}-{i + 1:03d}"
    if is_clerk:
        return Person(
            id=person_id,
            role=Role.clerk,
            skills=["compliance"] if post == "compliance" else [],
            languages=["en", "zh"],
            contract=contract,
            on_call=on_call_terms,
        )
    commodities = ["general"] if post == "broker" else ["general", post]
    import_only = post == "broker" and i < round(pool * IMPORT_ONLY_SHARE)
    licence = Licence(
        jurisdiction="HK",
        regimes=[Regime.import_] if import_only else [],
        commodities=commodities,
    )
    return Person(
        id=person_id,
        role=Role.broker,
        licences=[licence],
        languages=["en", "zh"],
        contract=contract,
        on_call=on_call_terms,
    )


def _doors(start_date: date, tz: str, scale: float) -> list[Door]:
    doors = []
    for prefix, count, capabilities, exam_hours in DOOR_GROUPS:
        for i in range(_scaled(count, scale)):
            door_id = f"{prefix}{i + 1:02d}"
            hours = (
                [
                    OpeningHours(
                        open_local=EXAM_BAY_HOURS[0], close_local=EXAM_BAY_HOURS[1]
                    )
                ]
                if exam_hours
                else []
            )
            outages = []
            if door_id == OUTAGE_DOOR:
                outages.append(
                    Interval(
                        start=local_instant(start_date, OUTAGE_LOCAL[0], tz),
                        end=local_instant(start_date, OUTAGE_LOCAL[1], tz),
                        reason="dock leveller maintenance",
                    )
                )
            doors.append(
                Door(
                    id=door_id,
                    capabilities=list(capabilities),
                    opening_hours=hours,
                    outages=outages,
                )
            )
    return doors
