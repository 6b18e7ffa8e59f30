"""The key figures of the dispatcher's report: big numbers and tables.

Reads the plan's `kpis` as `scheduler.kpis.compute_kpis` writes them
(`shipments`, `sla`, `lateness_min`, `utilisation`, `door_waiting_min`,
`unscheduled_by_reason`). A figure the plan lacks (a roster-only plan, an
older plan) is left out rather than shown as zero; keys this module does not
know are still listed, flattened, so nothing the plan holds is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scheduler.models import Plan, Priority

# Attainment at or above GOOD is green, at or above WARN amber, else red.
GOOD_ATTAINMENT = 0.95
WARN_ATTAINMENT = 0.80
# Utilisation above BUSY is amber: little slack left for a late truck.
BUSY_UTILISATION = 0.90

_ROSTER_KEYS = {
    "shifts": "shifts",
    "paid_hours": "paid hours",
    "cost_cents": "cost (cents)",
    "overtime_shifts": "overtime shifts",
    "call_ins": "call-ins",
    "num_solutions": "improving rosters found",
}
_KNOWN_KEYS = {
    *_ROSTER_KEYS,
    "cover_attainment",
    "shipments",
    "sla",
    "lateness_min",
    "utilisation",
    "door_waiting_min",
    "unscheduled_by_reason",
}


@dataclass(frozen=True)
class Tile:
    """One big number: its text, what it measures, and a tone for colour."""

    value: str
    label: str
    tone: str = "neutral"


def kpi_tiles(plan: Plan) -> list[Tile]:
    """The few numbers a dispatcher reads first, most telling first."""
    kpis = plan.kpis
    tiles: list[Tile] = []

    # SLA attainment per priority that has shipments.
    sla = kpis.get("sla") or {}
    for priority in Priority:
        group = sla.get(priority.value) or {}
        attainment = group.get("attainment")
        if not group.get("shipments") or attainment is None:
            continue
        tiles.append(
            Tile(
                f"{attainment * 100:.1f} %",
                f"{priority.value} within SLA ({group.get('met', 0):,} of "
                f"{group['shipments']:,})",
                _attainment_tone(attainment),
            )
        )

    # Late and unscheduled shipments.
    every = sla.get("all") or {}
    if every:
        late = int(every.get("missed", 0)) - int(every.get("unscheduled", 0))
        tiles.append(Tile(f"{late:,}", "shipments late", "bad" if late else "good"))
    # A roster-only plan has not placed the shipments: no count to show.
    unscheduled = len(plan.unscheduled)
    if plan.tasks or plan.unscheduled:
        tone = "bad" if unscheduled else "good"
        tiles.append(Tile(f"{unscheduled:,}", "shipments unscheduled", tone))
    p90 = ((kpis.get("lateness_min") or {}).get("all") or {}).get("p90")
    if p90 is not None:
        tiles.append(Tile(f"{p90:,} min", "lateness p90", "bad" if p90 else "good"))

    # Utilisation per role, then cover shortfall.
    roles = (kpis.get("utilisation") or {}).get("roles") or {}
    for role, figures in roles.items():
        share = figures.get("utilisation")
        if share is not None:
            tone = "warn" if share > BUSY_UTILISATION else "neutral"
            tiles.append(Tile(f"{share * 100:.0f} %", f"{role} utilisation", tone))
    if plan.coverage:
        short_rows = [row for row in plan.coverage if row.planned < row.required]
        tiles.append(
            Tile(
                f"{len(short_rows):,}",
                f"cover intervals short (of {len(plan.coverage):,})",
                "bad" if short_rows else "good",
            )
        )
    return tiles + _roster_tiles(plan)


def _roster_tiles(plan: Plan) -> list[Tile]:
    """Shifts, overtime waiting for approval and call-ins, read off the roster."""
    if not plan.roster:
        return []
    to_approve = sum(1 for shift in plan.roster if shift.needs_approval)
    call_ins = sum(1 for shift in plan.roster if shift.call_in)
    people = len({shift.person_id for shift in plan.roster})
    return [
        Tile(f"{len(plan.roster):,}", f"shifts ({people:,} people)"),
        Tile(
            f"{to_approve:,}",
            "overtime shifts to approve",
            "warn" if to_approve else "neutral",
        ),
        Tile(f"{call_ins:,}", "call-ins", "warn" if call_ins else "neutral"),
    ]


def _attainment_tone(attainment: float) -> str:
    if attainment >= GOOD_ATTAINMENT:
        return "good"
    if attainment >= WARN_ATTAINMENT:
        return "warn"
    return "bad"


def sla_rows(kpis: dict[str, Any]) -> list[list[str]]:
    """Per priority: shipments, met, late, unscheduled, attainment, lateness."""
    sla = kpis.get("sla") or {}
    lateness = kpis.get("lateness_min") or {}
    rows = []
    for group_name in [p.value for p in Priority] + ["all"]:
        group = sla.get(group_name) or {}
        if not group.get("shipments"):
            continue
        late = lateness.get(group_name) or {}
        missed = int(group.get("missed", 0))
        unscheduled = int(group.get("unscheduled", 0))
        rows.append(
            [
                group_name,
                f"{group['shipments']:,}",
                f"{group.get('met', 0):,}",
                f"{missed - unscheduled:,}",
                f"{unscheduled:,}",
                _percent(group.get("attainment")),
                *(_minutes(late.get(key)) for key in ("p50", "p90", "p99", "max")),
            ]
        )
    return rows


SLA_HEADERS = [
    "priority",
    "shipments",
    "met",
    "late",
    "unscheduled",
    "within SLA",
    "late p50",
    "late p90",
    "late p99",
    "late max",
]


def utilisation_rows(kpis: dict[str, Any]) -> list[list[str]]:
    """Per role, then per dock door: busy minutes, available minutes, share."""
    utilisation = kpis.get("utilisation") or {}
    rows = []
    for role, figures in (utilisation.get("roles") or {}).items():
        rows.append(
            [
                f"role {role}",
                f"{figures.get('task_min', 0):,}",
                f"{figures.get('rostered_min', 0):,}",
                _percent(figures.get("utilisation")),
            ]
        )
    for door_id, figures in (utilisation.get("doors") or {}).items():
        rows.append(
            [
                f"door {door_id}",
                f"{figures.get('busy_min', 0):,}",
                f"{figures.get('open_min', 0):,}",
                _percent(figures.get("utilisation")),
            ]
        )
    return rows


UTILISATION_HEADERS = ["who", "busy min", "available min", "utilisation"]


def other_rows(kpis: dict[str, Any]) -> list[list[str]]:
    """Door waiting, unscheduled by reason, roster figures and any other KPI."""
    rows = []
    waiting = kpis.get("door_waiting_min") or {}
    if waiting.get("trucks"):
        mean, p90 = _minutes(waiting.get("mean")), _minutes(waiting.get("p90"))
        worst = _minutes(waiting.get("max"))
        rows.append(
            [
                "door waiting (ETA to unload start)",
                f"{waiting['trucks']:,} truck{'' if waiting['trucks'] == 1 else 's'}; "
                f"mean {mean}, p90 {p90}, max {worst}",
            ]
        )
    shipments = kpis.get("shipments") or {}
    if shipments:
        rows.append(
            [
                "shipments",
                ", ".join(f"{key} {value:,}" for key, value in shipments.items()),
            ]
        )
    for reason, count in (kpis.get("unscheduled_by_reason") or {}).items():
        rows.append([f"unscheduled: {reason}", f"{count:,}"])
    for key, label in _ROSTER_KEYS.items():
        if key in kpis:
            rows.append([label, _number(kpis[key])])
    for skill, share in (kpis.get("cover_attainment") or {}).items():
        rows.append([f"cover met: {skill}", _percent(share)])
    for key in sorted(set(kpis) - _KNOWN_KEYS):
        rows.extend(_flatten(key, kpis[key]))
    return rows


def _flatten(prefix: str, value: Any) -> list[list[str]]:
    if isinstance(value, dict):
        return [
            row
            for key, item in value.items()
            for row in _flatten(f"{prefix}.{key}", item)
        ]
    return [[prefix, str(value)]]


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f} %"


def _minutes(value: float | None) -> str:
    return "–" if value is None else f"{value:,} min"
