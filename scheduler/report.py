"""The dispatcher's report: one self-contained HTML page of a plan.

The page opens offline: plotly.js is embedded inline (plotly's own offline
bundle, about 4.7 MB), nothing is fetched when it is viewed. It reads top to
bottom the way a dispatcher looks at a day: what kind of plan this is, the
few numbers that matter, what went wrong in plain words, the dock doors,
the people, demand against cover, then the tables to act on (unscheduled
shipments, the roster).

Staff names appear in the page (it is for the dispatcher) but never in the
logs. Every user string is HTML-escaped where it enters the page.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import plotly.io as pio
from plotly.offline import get_plotlyjs

from scheduler.models import Plan, PlanStatus, Priority
from scheduler.report_charts import (
    clock_span,
    cover_chart,
    door_gantt,
    local_clock,
    people_gantt,
    shift_instance,
)
from scheduler.report_kpis import (
    SLA_HEADERS,
    UTILISATION_HEADERS,
    kpi_tiles,
    other_rows,
    sla_rows,
    utilisation_rows,
)

logger = logging.getLogger(__name__)

esc = html.escape

EXPLANATIONS_SHOWN = 10
_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False}

REASON_WORDS = {
    "no_licensed_broker": "no broker holding the licence is on shift in time",
    "no_clerk": "no clerk (or no one with the compliance skill or language)",
    "no_capable_door": "no dock door with the capabilities it needs",
    "no_time_left": "the work cannot finish inside the horizon",
    "cancelled": "planning was cancelled before it was placed",
}


def render_report(plan: Plan) -> str:
    """Render a plan as one self-contained, offline HTML page.

    Parameters
    ----------
    plan
        Any plan: roster only, tasks only or both, of any status.

    Returns
    -------
    str
        The whole page, plotly.js included inline.
    """
    started = time.perf_counter()
    request = plan.request
    sections = [
        _header(plan),
        _kpi_section(plan),
        _explanation_section(plan),
        _chart_section(
            "doors",
            "Dock doors",
            "One row per door; hover a bar for the load, its shipments and pallets.",
            door_gantt(plan) if request.doors or _has_door_tasks(plan) else None,
        ),
        _chart_section(
            "people",
            "People",
            "One row per person on shift: the shift in light grey (a gap is the "
            "break, amber is overtime), tasks on top by kind.",
            people_gantt(plan) if plan.roster or plan.tasks else None,
        ),
        _chart_section(
            "cover",
            "Demand against planned cover",
            "Persons required and rostered per skill; red where short.",
            cover_chart(plan),
        ),
        _unscheduled_section(plan),
        _roster_section(plan),
    ]
    page = _page(f"clearplan: {request.site.id} plan {plan.plan_id}", sections)
    logger.info(
        "report: plan %s rendered, %d tasks, %d shifts, %d bytes in %.2f s",
        plan.plan_id,
        len(plan.tasks),
        len(plan.roster),
        len(page),
        time.perf_counter() - started,
    )
    return page


def _has_door_tasks(plan: Plan) -> bool:
    return any(task.door_id is not None for task in plan.tasks)


# --------------------------------------------------------------------------
# Header


def status_text(plan: Plan) -> str:
    """The plan's status in the words a dispatcher uses."""
    status = plan.status
    reason = f" ({plan.status_reason})" if plan.status_reason else ""
    if status == PlanStatus.optimal:
        return "optimal: no better plan exists under these rules and weights"
    if status == PlanStatus.feasible:
        if plan.gap is not None:
            return f"time-limited: best found, gap {plan.gap * 100:.1f} %"
        why = plan.bound_reason or "no global bound"
        return f"time-limited: best found, no global bound ({why})"
    if status == PlanStatus.heuristic:
        return "greedy fallback: the solver found nothing better in time"
    if status == PlanStatus.cancelled:
        return "cancelled: best so far"
    if status == PlanStatus.infeasible:
        return f"infeasible: the hard rules contradict each other{reason}"
    return f"failed{reason}"


def _header(plan: Plan) -> str:
    request = plan.request
    tz = request.site.timezone
    first = request.horizon.start_date
    last = first + timedelta(days=request.horizon.days - 1)
    site = esc(request.site.id)
    site_name = (
        f"<p class='site-name'>{esc(request.site.name)}</p>"
        if request.site.name
        else ""
    )
    horizon = f"{first:%a %d %b %Y}"
    if last != first:
        horizon += f" – {last:%a %d %b %Y}"
    status_class = esc(plan.status.value)

    terms = "".join(
        f"<span class='term{' nonzero' if value else ''}'>"
        f"{esc(name)} <b>{value:,}</b></span>"
        for name, value in plan.objective.terms.items()
    )
    people = len({shift.person_id for shift in plan.roster})
    counts = " · ".join(
        [
            _count(len(request.shipments), "shipment"),
            _count(len(request.loads), "load"),
            _count(len(plan.tasks), "task"),
            _count(people, "person", "people") + " on shift",
            _count(len(request.doors), "dock door"),
        ]
    )
    return (
        "<header>"
        f"<h1>Site {site}</h1>{site_name}"
        f"<p class='horizon'>{horizon} · {request.horizon.days} day(s), "
        f"local time {esc(tz)}</p>"
        f"<p><span class='status {status_class}'>{esc(plan.status.value)}</span> "
        f"{esc(status_text(plan))}</p>"
        f"<p class='objective'>objective <b>{plan.objective.total:,}</b>"
        f"{_bound_text(plan)}</p>"
        f"<p class='terms'>{terms}</p>"
        f"<p class='counts'>{counts}</p>"
        f"{_small_print(plan)}"
        "</header>"
    )


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else (many or one + 's')}"


def _bound_text(plan: Plan) -> str:
    if plan.bound is None:
        return ""
    return f" · bound {plan.bound:,}"


def _small_print(plan: Plan) -> str:
    provenance = plan.provenance
    request = plan.request
    planned_at = request.settings.planned_at
    made_at = (
        f"{local_clock(planned_at, request.site.timezone):%Y-%m-%d %H:%M} local"
        if planned_at is not None
        else "not given (settings.planned_at)"
    )
    total_s = plan.timings.get("total_s")
    timing = f" · took {total_s:.1f} s" if total_s is not None else ""
    parts = [
        f"plan {esc(plan.plan_id)} rev {plan.revision}",
        f"made at {made_at}{timing}",
        f"solver {esc(provenance.solver)} {esc(provenance.solver_version)}",
        f"clearplan {esc(provenance.clearplan_version)}",
        f"seed {provenance.seed}",
        f"fingerprint {esc(provenance.fingerprint or 'none')}",
        f"input {esc(provenance.input_hash)}",
    ]
    return f"<p class='small'>{' · '.join(parts)}</p>"


# --------------------------------------------------------------------------
# KPIs and explanations


def _kpi_section(plan: Plan) -> str:
    tiles = "".join(
        f"<div class='tile {esc(tile.tone)}'><div class='big'>{esc(tile.value)}</div>"
        f"<div class='label'>{esc(tile.label)}</div></div>"
        for tile in kpi_tiles(plan)
    )
    tables = []
    for title, headers, rows in (
        ("SLA by priority", SLA_HEADERS, sla_rows(plan.kpis)),
        ("Utilisation", UTILISATION_HEADERS, utilisation_rows(plan.kpis)),
        ("Other figures", ["figure", "value"], other_rows(plan.kpis)),
    ):
        if rows:
            tables.append(
                f"<div class='kpi-table'><h3>{title}</h3>"
                f"<div class='scroll short'>{_table(headers, rows)}</div></div>"
            )
    if not tables:
        tables.append("<p>No KPIs in this plan.</p>")
    return (
        "<section id='kpis'><h2>Key figures</h2>"
        f"<div class='tiles'>{tiles}</div>"
        f"<div class='kpi-tables'>{''.join(tables)}</div>"
        "</section>"
    )


def _explanation_section(plan: Plan) -> str:
    # The plan lists its explanations most important first (explain.py
    # ranks them by impact); keep that order and fold the tail away.
    if not plan.explanations:
        return (
            "<section id='explanations'><h2>What to know</h2>"
            "<p>Nothing to report: no shortfall found.</p></section>"
        )
    items = [
        f"<li><span class='kind'>{esc(explanation.kind.replace('_', ' '))}</span> "
        f"{esc(explanation.text)}</li>"
        for explanation in plan.explanations
    ]
    shown, folded = items[:EXPLANATIONS_SHOWN], items[EXPLANATIONS_SHOWN:]
    more = ""
    if folded:
        more = (
            f"<details><summary>{len(folded)} more</summary>"
            f"<ol class='explanations' start='{EXPLANATIONS_SHOWN + 1}'>"
            f"{''.join(folded)}</ol></details>"
        )
    return (
        "<section id='explanations'><h2>What to know</h2>"
        f"<ol class='explanations'>{''.join(shown)}</ol>{more}</section>"
    )


# --------------------------------------------------------------------------
# Charts


def _chart_section(anchor: str, title: str, note: str, figure: Any) -> str:
    if figure is None:
        return (
            f"<section id='{anchor}'><h2>{title}</h2>"
            "<p>Nothing to draw in this plan.</p></section>"
        )
    # A fixed div id keeps the page the same for the same plan.
    chart = pio.to_html(
        figure,
        config=_PLOTLY_CONFIG,
        include_plotlyjs=False,
        full_html=False,
        div_id=f"chart-{anchor}",
        default_height=f"{figure.layout.height}px",
    )
    return (
        f"<section id='{anchor}'><h2>{title}</h2><p class='note'>{note}</p>"
        f"{chart}</section>"
    )


# --------------------------------------------------------------------------
# Tables


_PRIORITY_ORDER = {priority: i for i, priority in enumerate(Priority)}


def _unscheduled_section(plan: Plan) -> str:
    request = plan.request
    shipments = {s.id: s for s in request.shipments}

    def order(shipment_id: str) -> tuple[int, str]:
        shipment = shipments.get(shipment_id)
        return (_PRIORITY_ORDER[shipment.priority] if shipment else 9, shipment_id)

    rows = []
    for item in sorted(plan.unscheduled, key=lambda u: order(u.shipment_id)):
        shipment = shipments.get(item.shipment_id)
        rows.append(
            [
                item.shipment_id,
                shipment.priority.value if shipment else "",
                f"{shipment.regime.value} / {shipment.commodity}" if shipment else "",
                (shipment.load_id or "in warehouse") if shipment else "",
                item.reason,
                REASON_WORDS.get(item.reason, "") + _detail(item.detail),
            ]
        )
    title = f"Unscheduled shipments ({len(rows):,})"
    if not rows:
        return f"<section id='unscheduled'><h2>{title}</h2><p>None.</p></section>"
    headers = ["shipment", "priority", "regime / commodity", "load", "reason", "why"]
    return (
        f"<section id='unscheduled'><h2>{title}</h2>"
        f"<div class='scroll'>{_table(headers, rows)}</div></section>"
    )


def _detail(detail: str) -> str:
    return f": {detail}" if detail else ""


def _roster_section(plan: Plan) -> str:
    request = plan.request
    tz = request.site.timezone
    staff = {person.id: person for person in request.staff}

    # Recomputed from the template: a roster fed back in has no instants.
    rows: list[tuple[tuple[Any, float, str], list[str]]] = []
    for shift in plan.roster:
        person = staff.get(shift.person_id)
        real = shift_instance(request, shift)
        overtime = ""
        if shift.extension_min > 0:
            overtime = f"{shift.extension_min} min"
            if shift.needs_approval:
                overtime += " ⚑ to approve"
        cells = [
            shift.person_id,
            person.name if person else "",
            person.role.value if person else "",
            shift.date.isoformat(),
            shift.template_id,
            shift.post,
            clock_span(real.start, real.end, tz) if real else "",
            overtime,
            "call-in" if shift.call_in else "",
        ]
        start_s = real.start.timestamp() if real else float("inf")
        rows.append(((shift.date, start_s, shift.person_id), cells))
    rows.sort(key=lambda item: item[0])

    title = f"Roster ({len(rows):,} shifts)"
    if not rows:
        return f"<section id='roster'><h2>{title}</h2><p>No roster.</p></section>"
    headers = [
        "person",
        "name",
        "role",
        "date",
        "template",
        "post",
        "local start–end",
        "overtime",
        "call-in",
    ]
    table = _table(headers, [cells for _, cells in rows])
    return (
        f"<section id='roster'><h2>{title}</h2>"
        f"<div class='scroll'>{table}</div></section>"
    )


def _table(headers: list[str], rows: Iterable[list[str]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# --------------------------------------------------------------------------
# Page


_STYLE = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
       margin: 0 auto; max-width: 1800px; padding: 16px 24px; color: #1f2933; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 28px 0 8px; font-size: 19px; border-bottom: 1px solid #d9e2ec; }
header p { margin: 4px 0; }
.horizon { font-size: 16px; color: #52606d; }
.site-name { font-size: 12px; color: #52606d; max-width: 1100px; }
.status { display: inline-block; padding: 2px 10px; border-radius: 10px;
          color: white; font-weight: 600; background: #52606d; }
.status.optimal { background: #2f8132; } .status.feasible { background: #1f6fb2; }
.status.heuristic { background: #b7791f; } .status.cancelled { background: #9b2c2c; }
.status.infeasible, .status.failed { background: #c53030; }
.objective { font-size: 16px; }
.term { display: inline-block; margin: 2px 6px 2px 0; padding: 1px 8px;
        border-radius: 8px; background: #f0f4f8; color: #7b8794; font-size: 12px; }
.term.nonzero { color: #1f2933; background: #e1ecf7; }
.counts { color: #52606d; }
.small { font-size: 11px; color: #7b8794; word-break: break-all; }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; }
.tile { min-width: 150px; padding: 10px 16px; border-radius: 8px;
        background: #f0f4f8; border-left: 6px solid #9aa5b1; }
.tile.good { border-left-color: #2f8132; } .tile.warn { border-left-color: #d69e2e; }
.tile.bad { border-left-color: #c53030; }
.tile .big { font-size: 30px; font-weight: 700; }
.tile .label { font-size: 12px; color: #52606d; }
.kpi-tables { display: flex; flex-wrap: wrap; gap: 8px 32px; align-items: flex-start; }
.kpi-tables table { width: auto; }
h3 { font-size: 14px; margin: 14px 0 4px; }
.explanations li { margin: 4px 0; font-size: 15px; }
.kind { font-size: 11px; color: #7b8794; text-transform: uppercase; margin-right: 4px; }
.note { color: #52606d; margin: 0 0 4px; }
.scroll { max-height: 480px; overflow: auto; border: 1px solid #d9e2ec; }
.scroll.short { max-height: 260px; scrollbar-gutter: stable; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
th, td { padding: 3px 8px; text-align: left; border-bottom: 1px solid #eef1f4;
         white-space: nowrap; }
th { position: sticky; top: 0; background: #f0f4f8; }
"""


def _page(title: str, sections: list[str]) -> str:
    # Concatenated, not str.format: plotly.js is full of braces.
    return "".join(
        [
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<title>{esc(title)}</title><style>{_STYLE}</style>",
            "<script type='text/javascript'>",
            get_plotlyjs(),
            "</script></head><body>",
            *sections,
            "</body></html>\n",
        ]
    )
