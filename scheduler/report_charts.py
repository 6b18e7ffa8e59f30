"""The charts of the dispatcher's report: dock doors, people, cover.

Every chart is a plotly figure on a local-time axis of the site. Bars are
grouped into one trace per task kind (and one for shifts), never one trace
per bar: a plan of 8,000 tasks drawn as 8,000 traces takes minutes to open,
drawn as six traces it opens in seconds.

Plotly has no time zones, so instants are drawn as the site's wall-clock
times (naive datetimes). On a DST fall-back night the repeated hour is drawn
twice over the same stretch of axis; hover texts still give the real times.

Every user string (ids, names, skills) is HTML-escaped before it goes into
a label or a hover text, because plotly renders a small subset of HTML in
them.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scheduler.models import (
    CoverageRow,
    Plan,
    Request,
    RosterShift,
    Shipment,
    Task,
    TaskKind,
)
from scheduler.shifts import ShiftInstance, instance
from scheduler.sitetime import local_midnight, zone

# One colour per task kind, the same in every chart and in the legend.
KIND_COLOURS: dict[TaskKind, str] = {
    TaskKind.unload: "#4c78a8",
    TaskKind.review: "#72b7b2",
    TaskKind.compliance: "#b279a2",
    TaskKind.declare: "#f58518",
    TaskKind.respond: "#e45756",
    TaskKind.exam: "#54a24b",
}
SHIFT_COLOUR = "#d9e2ec"
OVERTIME_COLOUR = "#fbd9a6"
OUTAGE_COLOUR = "#9aa5b1"
SHORT_COLOUR = "rgba(214, 39, 40, 0.35)"

ROW_HEIGHT_PX = 18
CHART_MARGIN_PX = 150
TOP_AXIS_FROM_ROWS = 30
COVER_ROW_HEIGHT_PX = 150
MAX_SHIPMENTS_IN_HOVER = 6
MAX_NAME_CHARS = 22

esc = html.escape


# --------------------------------------------------------------------------
# Local time


def local_clock(instant: datetime, tz: str) -> datetime:
    """The site's wall-clock time of an instant, as a naive datetime."""
    return instant.astimezone(zone(tz)).replace(tzinfo=None)


def clock_span(start: datetime, end: datetime, tz: str) -> str:
    """A local interval as a dispatcher says it: ``Tue 11 Nov 23:30-00:30 +1d``."""
    local_start = local_clock(start, tz)
    local_end = local_clock(end, tz)
    text = f"{local_start:%a %d %b %H:%M}-{local_end:%H:%M}"
    days = (local_end.date() - local_start.date()).days
    if days > 0:
        text += f" +{days}d"
    return text


def zone_label(request: Request) -> str:
    """The axis title naming the zone and its offsets over the horizon."""
    tz = request.site.timezone
    offsets: list[str] = []
    for day in [*request.horizon.dates(), _end_date(request)]:
        offset = local_midnight(day, tz).strftime("%z")
        text = f"UTC{offset[:3]}:{offset[3:]}"
        if text not in offsets:
            offsets.append(text)
    return f"local time, {tz} ({' / '.join(offsets)})"


def horizon_range(request: Request) -> list[datetime]:
    """The horizon as local wall-clock bounds of an x-axis."""
    tz = request.site.timezone
    start = local_midnight(request.horizon.start_date, tz)
    end = local_midnight(_end_date(request), tz)
    return [local_clock(start, tz), local_clock(end, tz)]


def _end_date(request: Request) -> date:
    return request.horizon.start_date + timedelta(days=request.horizon.days)


# --------------------------------------------------------------------------
# Bars


@dataclass
class _Bars:
    """The bars of one trace: rows, local starts, lengths and hover texts."""

    rows: list[str] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)
    lengths_ms: list[int] = field(default_factory=list)
    hovers: list[str] = field(default_factory=list)

    def add(
        self, row: str, start: datetime, end: datetime, tz: str, hover: str
    ) -> None:
        # Lengths are wall-clock, so a bar ends where its local end time is.
        local_start = local_clock(start, tz)
        local_end = local_clock(end, tz)
        self.rows.append(row)
        self.starts.append(local_start)
        self.lengths_ms.append(int((local_end - local_start).total_seconds() * 1000))
        self.hovers.append(hover)

    def trace(self, name: str, colour: str, width: float) -> go.Bar:
        return go.Bar(
            name=name,
            orientation="h",
            y=self.rows,
            base=self.starts,
            x=self.lengths_ms,
            width=width,
            marker={"color": colour, "line": {"width": 0}},
            hovertext=self.hovers,
            hovertemplate="%{hovertext}<extra></extra>",
        )


def _gantt_layout(fig: go.Figure, request: Request, rows: list[str]) -> None:
    """Axes, size and legend shared by the two Gantt charts."""
    fig.update_layout(
        barmode="overlay",
        height=ROW_HEIGHT_PX * max(len(rows), 4) + CHART_MARGIN_PX,
        margin={"l": 10, "r": 10, "t": 40, "b": 50},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        hovermode="closest",
        plot_bgcolor="white",
    )
    fig.update_xaxes(
        type="date",
        range=horizon_range(request),
        title_text=zone_label(request),
        showgrid=True,
        gridcolor="#eef1f4",
        side="bottom",
    )
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=rows,
        # First row on top; a fixed range, as autorange pads for markers.
        range=[max(len(rows), 1) - 0.5, -0.5],
        tickfont={"size": 10},
        automargin=True,
    )

    # Plotly only draws categories that hold a bar; an invisible point per
    # row keeps idle doors and people on the chart.
    start = horizon_range(request)[0]
    fig.add_trace(
        go.Scatter(
            x=[start] * len(rows),
            y=rows,
            mode="markers",
            marker={"opacity": 0},
            showlegend=False,
            hoverinfo="skip",
        )
    )

    # A tall chart gets the time axis at the top too, so a dispatcher
    # scrolled into the middle of 300 people still sees the hours.
    if len(rows) > TOP_AXIS_FROM_ROWS:
        fig.update_layout(
            xaxis2={
                "type": "date",
                "matches": "x",
                "overlaying": "x",
                "side": "top",
                "showgrid": False,
            },
            margin={"t": 90},
            legend={"y": 1.0, "yanchor": "top", "x": 0, "yref": "container"},
        )
        # An axis is only drawn when a trace uses it: an empty, silent one.
        fig.add_trace(
            go.Scatter(x=[], y=[], xaxis="x2", showlegend=False, hoverinfo="skip")
        )


# --------------------------------------------------------------------------
# Dock doors


def door_gantt(plan: Plan) -> go.Figure:
    """One row per dock door: unload and exam bars by kind, and outages."""
    request = plan.request
    tz = request.site.timezone
    labels = {
        door.id: esc(f"{door.id} ({', '.join(c.value for c in door.capabilities)})")
        for door in request.doors
    }
    shipments_of = _shipments_by_load(request)
    shipment_by_id = {s.id: s for s in request.shipments}

    # Tasks first: a door a malformed plan names but the request lacks
    # still gets a row, so nothing planned is hidden.
    bars: dict[TaskKind, _Bars] = defaultdict(_Bars)
    for task in plan.tasks:
        if task.door_id is None:
            continue
        row = labels.setdefault(task.door_id, esc(task.door_id))
        hover = _door_hover(task, tz, shipments_of, shipment_by_id, request)
        bars[task.kind].add(row, task.start, task.end, tz, hover)

    outages = _Bars()
    for door in request.doors:
        for outage in door.outages:
            reason = esc(outage.reason or "no reason given")
            hover = (
                f"<b>{esc(door.id)}</b> out of service<br>"
                f"{clock_span(outage.start, outage.end, tz)}<br>{reason}"
            )
            outages.add(labels[door.id], outage.start, outage.end, tz, hover)

    fig = go.Figure()
    if outages.rows:
        fig.add_trace(outages.trace("door outage", OUTAGE_COLOUR, 0.8))
    for kind in (TaskKind.unload, TaskKind.exam):
        if kind in bars:
            fig.add_trace(bars[kind].trace(kind.value, KIND_COLOURS[kind], 0.6))
    _gantt_layout(fig, request, list(labels.values()))
    return fig


def _shipments_by_load(request: Request) -> dict[str, list[Shipment]]:
    result: dict[str, list[Shipment]] = defaultdict(list)
    for shipment in request.shipments:
        if shipment.load_id is not None:
            result[shipment.load_id].append(shipment)
    return result


def _door_hover(
    task: Task,
    tz: str,
    shipments_of: dict[str, list[Shipment]],
    shipment_by_id: dict[str, Shipment],
    request: Request,
) -> str:
    """What a dispatcher needs about a door booking: load, shipments, pallets."""
    span = clock_span(task.start, task.end, tz)
    door = esc(task.door_id or "")
    if task.kind == TaskKind.unload:
        load_id = task.load_id or task.id.rsplit(":", 1)[0]
        carried = shipments_of.get(load_id, [])
        load = next((ld for ld in request.loads if ld.id == load_id), None)
        pallets = (
            load.pallets
            if load is not None and load.pallets is not None
            else (sum(s.pallets for s in carried))
        )
        names = ", ".join(esc(s.id) for s in carried[:MAX_SHIPMENTS_IN_HOVER])
        if len(carried) > MAX_SHIPMENTS_IN_HOVER:
            names += f", … (+{len(carried) - MAX_SHIPMENTS_IN_HOVER})"
        return (
            f"<b>{esc(load_id)}</b> unload at {door}<br>{span}<br>"
            f"{len(carried)} shipments: {names}<br>{pallets} pallets"
        )
    shipment = shipment_by_id.get(task.shipment_id or "")
    pallets_text = f"<br>{shipment.pallets} pallets" if shipment else ""
    return (
        f"<b>{esc(task.shipment_id or task.id)}</b> {esc(task.kind.value)} at "
        f"{door}<br>{span}<br>broker {esc(task.person_id or '-')}{pallets_text}"
    )


# --------------------------------------------------------------------------
# People


def people_gantt(plan: Plan) -> go.Figure:
    """One row per person who works: shift bars with break gaps, tasks on top."""
    request = plan.request
    tz = request.site.timezone
    labels = _person_labels(plan)

    # Shifts: regular time light, overtime amber, the break left as a gap.
    shifts, overtime = _Bars(), _Bars()
    for shift in plan.roster:
        real = shift_instance(request, shift)
        if real is None:
            continue
        row = labels[shift.person_id]
        hover = _shift_hover(shift, real, tz)
        regular_end = real.end - timedelta(minutes=shift.extension_min)
        for start, end in _cut(
            real.start, regular_end, real.break_start, real.break_end
        ):
            shifts.add(row, start, end, tz, hover)
        if shift.extension_min > 0:
            overtime.add(row, regular_end, real.end, tz, hover)

    # Tasks: a paused task is drawn in pieces, around the break it pauses over.
    bars: dict[TaskKind, _Bars] = defaultdict(_Bars)
    shipment_by_id = {s.id: s for s in request.shipments}
    for task in plan.tasks:
        if task.person_id is None:
            continue
        row = labels[task.person_id]
        hover = _task_hover(task, tz, shipment_by_id)
        pieces = [(task.start, task.end)]
        for pause in task.pauses:
            pieces = [
                piece
                for start, end in pieces
                for piece in _cut(start, end, pause.start, pause.end)
            ]
        for start, end in pieces:
            bars[task.kind].add(row, start, end, tz, hover)

    fig = go.Figure()
    fig.add_trace(shifts.trace("shift", SHIFT_COLOUR, 0.85))
    if overtime.rows:
        fig.add_trace(overtime.trace("overtime", OVERTIME_COLOUR, 0.85))
    for kind in TaskKind:
        if kind in bars:
            fig.add_trace(bars[kind].trace(kind.value, KIND_COLOURS[kind], 0.5))
    _gantt_layout(fig, request, list(labels.values()))
    return fig


def _person_labels(plan: Plan) -> dict[str, str]:
    """Row labels of the people who work, brokers first, then clerks, by id."""
    staff = {person.id: person for person in plan.request.staff}
    working = {shift.person_id for shift in plan.roster}
    working |= {task.person_id for task in plan.tasks if task.person_id is not None}

    def order(person_id: str) -> tuple[str, str]:
        person = staff.get(person_id)
        return (person.role.value if person else "~", person_id)

    labels: dict[str, str] = {}
    for person_id in sorted(working, key=order):
        person = staff.get(person_id)
        name = person.name[:MAX_NAME_CHARS] if person else ""
        role = person.role.value if person else "unknown"
        text = f"{person_id} {name} · {role}" if name else f"{person_id} · {role}"
        labels[person_id] = esc(text)
    return labels


def shift_instance(request: Request, shift: RosterShift) -> ShiftInstance | None:
    """The shift's real instants, recomputed from its template."""
    try:
        template = request.template(shift.template_id)
    except KeyError:
        return None
    return instance(template, shift.date, request.site.timezone, shift.extension_min)


def _cut(
    start: datetime,
    end: datetime,
    gap_start: datetime | None,
    gap_end: datetime | None,
) -> list[tuple[datetime, datetime]]:
    """[start, end) less the half-open gap, as zero, one or two pieces."""
    if gap_start is None or gap_end is None or gap_end <= start or end <= gap_start:
        return [(start, end)]
    pieces = []
    if start < gap_start:
        pieces.append((start, gap_start))
    if gap_end < end:
        pieces.append((gap_end, end))
    return pieces


def _shift_hover(shift: RosterShift, real: ShiftInstance, tz: str) -> str:
    lines = [
        f"<b>shift {esc(real.shift_id(shift.person_id))}</b>",
        clock_span(real.start, real.end, tz),
        f"post {esc(shift.post)}",
    ]
    if real.break_start is not None and real.break_end is not None:
        lines.append(f"break {clock_span(real.break_start, real.break_end, tz)}")
    if shift.extension_min > 0:
        approval = ", needs approval" if shift.needs_approval else ""
        lines.append(f"overtime {shift.extension_min} min{approval}")
    if shift.call_in:
        lines.append("called in")
    return "<br>".join(lines)


def _task_hover(task: Task, tz: str, shipment_by_id: dict[str, Shipment]) -> str:
    lines = [
        f"<b>{esc(task.id)}</b>",
        f"{esc(task.kind.value)} · {clock_span(task.start, task.end, tz)}",
        f"work {task.work_min} min",
    ]
    shipment = shipment_by_id.get(task.shipment_id or "")
    if shipment is not None:
        lines.append(
            f"shipment {esc(shipment.id)} ({shipment.priority.value}, "
            f"{shipment.regime.value}, {esc(shipment.commodity)})"
        )
    if task.door_id is not None:
        lines.append(f"door {esc(task.door_id)}")
    for pause in task.pauses:
        lines.append(f"paused {clock_span(pause.start, pause.end, tz)}")
    return "<br>".join(lines)


# --------------------------------------------------------------------------
# Demand against planned cover


@dataclass(frozen=True)
class CoverStep:
    """Required and planned persons of a skill over one stretch of time."""

    start: datetime
    end: datetime
    required: int
    planned: int


def cover_steps(rows: list[CoverageRow]) -> dict[str, list[CoverStep]]:
    """Per skill, the coverage rows as consecutive steps, gaps left out.

    Where requirements of one skill overlap, each stretch shows the row with
    the largest shortfall (then the largest requirement): the chart should
    show the worst case a dispatcher has to act on, not a sum that double
    counts the same rostered people.
    """
    by_skill: dict[str, list[CoverageRow]] = defaultdict(list)
    for row in rows:
        by_skill[row.skill].append(row)

    result: dict[str, list[CoverStep]] = {}
    for skill, skill_rows in by_skill.items():
        skill_rows.sort(key=lambda r: r.start)
        cuts = sorted({r.start for r in skill_rows} | {r.end for r in skill_rows})
        steps: list[CoverStep] = []
        active: list[CoverageRow] = []
        next_row = 0
        for seg_start, seg_end in zip(cuts, cuts[1:], strict=False):
            while (
                next_row < len(skill_rows) and skill_rows[next_row].start <= seg_start
            ):
                active.append(skill_rows[next_row])
                next_row += 1
            active = [r for r in active if r.end > seg_start]
            if not active:
                continue
            worst = max(active, key=lambda r: (r.required - r.planned, r.required))
            steps.append(CoverStep(seg_start, seg_end, worst.required, worst.planned))
        result[skill] = steps
    return result


def cover_chart(plan: Plan) -> go.Figure | None:
    """Required against planned persons per skill, shaded where short."""
    if not plan.coverage:
        return None
    request = plan.request
    tz = request.site.timezone
    steps_by_skill = cover_steps(plan.coverage)
    skills = sorted(steps_by_skill)

    fig = make_subplots(
        rows=len(skills),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=min(0.08, 0.3 / len(skills)),
        subplot_titles=[esc(skill) for skill in skills],
    )
    for index, skill in enumerate(skills, start=1):
        times, required, planned = _step_series(steps_by_skill[skill], tz)
        top = [
            None if r is None or p is None else max(r, p)
            for r, p in zip(required, planned, strict=True)
        ]
        first = index == 1
        # The shortfall is the area between planned and max(required,
        # planned): where cover is enough the two lines coincide.
        fig.add_trace(_step_line(times, planned, "planned", "#1f77b4", first), index, 1)
        short = _step_line(times, top, "short", SHORT_COLOUR, first)
        short.update(fill="tonexty", fillcolor=SHORT_COLOUR, line={"width": 0})
        fig.add_trace(short, index, 1)
        required_line = _step_line(times, required, "required", "#222222", first)
        required_line.update(line={"dash": "dot", "width": 1.5})
        fig.add_trace(required_line, index, 1)
        fig.update_yaxes(title_text="persons", rangemode="tozero", row=index, col=1)

    fig.update_layout(
        height=COVER_ROW_HEIGHT_PX * len(skills) + CHART_MARGIN_PX,
        margin={"l": 10, "r": 10, "t": 60, "b": 50},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        hovermode="x unified",
        plot_bgcolor="white",
    )
    fig.update_xaxes(type="date", range=horizon_range(request), gridcolor="#eef1f4")
    fig.update_xaxes(title_text=zone_label(request), row=len(skills), col=1)
    return fig


def _step_series(
    steps: list[CoverStep], tz: str
) -> tuple[list[datetime | None], list[int | None], list[int | None]]:
    """Points of a step line (shape ``hv``); a gap between steps breaks it."""
    times: list[datetime | None] = []
    required: list[int | None] = []
    planned: list[int | None] = []
    previous_end: datetime | None = None
    for step in steps:
        if previous_end is not None and step.start != previous_end:
            # Close the previous step, then break the line over the gap.
            times += [local_clock(previous_end, tz), None]
            required += [required[-1], None]
            planned += [planned[-1], None]
        times.append(local_clock(step.start, tz))
        required.append(step.required)
        planned.append(step.planned)
        previous_end = step.end
    if previous_end is not None:
        times.append(local_clock(previous_end, tz))
        required.append(required[-1])
        planned.append(planned[-1])
    return times, required, planned


def _step_line(
    times: list[datetime | None],
    values: list[int | None],
    name: str,
    colour: str,
    show_legend: bool,
) -> go.Scatter:
    return go.Scatter(
        x=times,
        y=values,
        name=name,
        mode="lines",
        line={"shape": "hv", "color": colour, "width": 2},
        legendgroup=name,
        showlegend=show_legend,
        connectgaps=False,
        hovertemplate=f"{name} %{{y}}<extra></extra>",
    )
