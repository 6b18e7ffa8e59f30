"""Offline HTML reports of a simulation and of a capacity sweep (plotly).

Each report is one self-contained file: plotly's JavaScript is written
into it once, so it opens without a network.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio

from simulations.montecarlo import MetricSummary, SimulationResult
from simulations.sweep import SweepPoint, SweepResult

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; }
td.name, th.name { text-align: left; }
.answer { background: #eef7ee; padding: 0.8em 1em; border-left: 4px solid #3a3; }
.none { background: #fbeeee; border-left-color: #c33; }
"""


def _page(title: str, parts: Sequence[str]) -> str:
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


class _Figures:
    """Turns figures into HTML, writing plotly's JavaScript only once."""

    def __init__(self) -> None:
        self._first = True

    def html(self, figure: go.Figure) -> str:
        text = pio.to_html(
            figure, full_html=False, include_plotlyjs=self._first, auto_play=False
        )
        self._first = False
        return text


def _number(value: float | None, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if percent:
        return f"{value:.1%}"
    # Small values (waits of minutes, shares) need their decimals to be
    # compared with theory; large ones do not.
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3f}"


def _summary_row(name: str, summary: MetricSummary) -> str:
    percent = name.startswith(("sla.", "utilisation", "late_share"))
    cells = [
        _number(summary.mean, percent),
        _number(summary.low, percent),
        _number(summary.high, percent),
        _number(summary.sd, percent),
        str(summary.n),
    ]
    return (
        f"<tr><td class='name'>{html.escape(name)}</td>"
        + "".join(f"<td>{c}</td>" for c in cells)
        + "</tr>"
    )


def simulation_report_html(result: SimulationResult) -> str:
    """The report of `clearplan simulate`: measures, then their curves."""
    figures = _Figures()
    mix = ", ".join(f"{v} {k}" for k, v in result.mix.items())
    intro = (
        f"<p>Site {html.escape(result.site_id)}, {result.replications} replications, "
        f"root seed {result.seed}; intervals are {result.confidence:.0%} Student-t "
        f"intervals of the mean over replications."
        + (f" Mix: {mix}." if mix else "")
        + "</p>"
    )
    rows = [
        _summary_row(name, summary)
        for name, summary in result.metrics.items()
        if not name.startswith("utilisation.door.")
    ]
    table = (
        "<table><tr><th class='name'>measure</th><th>mean</th><th>low</th>"
        "<th>high</th><th>sd</th><th>n</th></tr>" + "".join(rows) + "</table>"
    )
    notes = "".join(f"<p>{html.escape(note)}.</p>" for note in result.notes)
    if result.kind == "single_queue":
        parts = [intro, _erlang_c_verdict(result), table]
        return _page("Single queue (M/M/c) against Erlang C", [p for p in parts if p])
    parts = [intro, notes, _sla_figure(result, figures), table]
    parts.extend(_series_figures(result, figures))
    parts.append(_lateness_figure(result, figures))
    parts.append(_utilisation_figure(result, figures))
    return _page("Simulation of a peak", [p for p in parts if p])


def _erlang_c_verdict(result: SimulationResult) -> str:
    """Whether the simulated mean wait's interval holds the Erlang-C value."""
    wait = result.metrics.get("wait_min.mean")
    theory = result.metrics.get("erlang_c_wait_min")
    load = result.metrics.get("load")
    if wait is None or theory is None or wait.mean is None or theory.mean is None:
        return ""
    text = (
        f"Mean wait in queue {wait.mean:.3f} min over {wait.n} replications; "
        f"Erlang C gives {theory.mean:.3f} min"
        + (f" at load {load.mean:.3f}" if load is not None and load.mean else "")
        + ". "
    )
    if wait.low is None or wait.high is None:
        text += "One replication has no interval: run more to compare."
    elif wait.low <= theory.mean <= wait.high:
        text += (
            f"The Erlang-C value lies inside the {result.confidence:.0%} interval "
            f"[{wait.low:.3f}, {wait.high:.3f}]."
        )
    else:
        text += (
            f"The Erlang-C value lies outside the {result.confidence:.0%} interval "
            f"[{wait.low:.3f}, {wait.high:.3f}] (expected about once in "
            f"{1 / (1 - result.confidence):.0f} checks; more customers per run "
            f"shrink the warm-up bias)."
        )
    return f"<p class='answer'>{html.escape(text)}</p>"


def _sla_figure(result: SimulationResult, figures: _Figures) -> str:
    names = [n for n in ("express", "standard", "deferred", "all")
             if f"sla.{n}" in result.metrics]  # fmt: skip
    if not names:
        return ""
    summaries = [result.metrics[f"sla.{n}"] for n in names]
    figure = go.Figure(
        go.Bar(
            x=names,
            y=[s.mean for s in summaries],
            error_y={
                "type": "data",
                "array": [
                    (s.high - s.mean) if s.high and s.mean else 0 for s in summaries
                ],
            },
        )
    )
    figure.update_layout(
        title="Released within SLA, by priority (mean and interval)",
        yaxis={"tickformat": ".0%", "range": [0, 1.05]},
        height=360,
    )
    return figures.html(figure)


def _series_figures(result: SimulationResult, figures: _Figures) -> list[str]:
    parts = []
    queue_names = [n for n in result.series if n.startswith("queue.")]
    if queue_names:
        figure = go.Figure()
        for name in queue_names:
            step = result.series_step_min.get(name, 30.0)
            values = result.series[name]
            figure.add_scatter(
                x=[k * step / 60 for k in range(len(values))],
                y=values,
                name=name.removeprefix("queue."),
                mode="lines",
            )
        figure.update_layout(
            title="Tasks waiting over time (mean over replications)",
            xaxis_title="hours from the start of the horizon",
            yaxis_title="tasks waiting",
            height=380,
        )
        parts.append(figures.html(figure))
    wait = result.series.get("door_wait_min.by_hour")
    if wait:
        figure = go.Figure(go.Bar(x=list(range(len(wait))), y=wait))
        figure.update_layout(
            title="Trucks' wait for a door, by hour of arrival (mean minutes)",
            xaxis_title="hour from the start of the horizon",
            yaxis_title="minutes",
            height=340,
        )
        parts.append(figures.html(figure))
    return parts


def _lateness_figure(result: SimulationResult, figures: _Figures) -> str:
    names = sorted(
        (n for n in result.metrics if n.startswith("late_share.")), key=_band_order
    )
    if not names:
        return ""
    figure = go.Figure(
        go.Bar(
            x=[n.removeprefix("late_share.") for n in names],
            y=[result.metrics[n].mean for n in names],
        )
    )
    figure.update_layout(
        title="Lateness of due shipments (share per band of minutes late)",
        yaxis={"tickformat": ".1%"},
        height=340,
    )
    return figures.html(figure)


def _band_order(name: str) -> float:
    """On time first, then the bands by minutes late, unreleased last."""
    band = name.removeprefix("late_share.")
    if band == "on_time":
        return -1.0
    if band == "unreleased":
        return math.inf
    return float(band.partition("-")[0].rstrip("+"))


def _utilisation_figure(result: SimulationResult, figures: _Figures) -> str:
    names = [n for n in result.metrics if n.startswith("utilisation.")]
    if not names:
        return ""
    figure = go.Figure(
        go.Bar(
            x=[n.removeprefix("utilisation.") for n in names],
            y=[result.metrics[n].mean for n in names],
        )
    )
    figure.update_layout(
        title="Utilisation per role and door (busy minutes / available minutes)",
        yaxis={"tickformat": ".0%"},
        height=360,
    )
    return figures.html(figure)


# ------------------------------------------------------------------ sweep


def sweep_report_html(result: SweepResult) -> str:
    """The report of `clearplan sweep`: the answer, the curves, the table."""
    figures = _Figures()
    metric = f"sla.{result.target_priority.value}"
    parts = [
        f"<p>Site {html.escape(result.site_id)}; {result.replications} replications "
        f"per point, root seed {result.seed} at every point; a mix qualifies when "
        f"the {result.criterion} of its {result.confidence:.0%} interval of "
        f"{result.target_priority.value} shipments within SLA is at least "
        f"{result.target:.1%}. Cost: paid hours of the rostered shifts and open "
        f"hours of the doors over the horizon.</p>"
    ]
    parts.extend(_answer_html(result))
    parts.append(_cost_curve(result, metric, figures))
    parts.extend(_level_curves(result, metric, figures))
    parts.append(_sweep_table(result))
    return _page("Capacity sweep", parts)


def _answer_html(result: SweepResult) -> list[str]:
    lines = []
    for answer in result.answers:
        if answer.point is None:
            lines.append(
                f"<p class='answer none'>Volume x{answer.volume:g}: "
                f"{html.escape(answer.reason)}.</p>"
            )
            continue
        p = answer.point
        s = p.metrics[f"sla.{result.target_priority.value}"]
        lines.append(
            f"<p class='answer'>Volume x{answer.volume:g}: the cheapest mix is "
            f"<b>{p.brokers} brokers, {p.clerks} clerks, {p.doors} doors</b> "
            f"({p.cost_cents / 100:,.0f} over the horizon): "
            f"{_number(s.mean, True)} of {result.target_priority.value} shipments "
            f"within SLA ({_number(s.low, True)} to {_number(s.high, True)}).</p>"
        )
    return lines


def _cost_curve(result: SweepResult, metric: str, figures: _Figures) -> str:
    figure = go.Figure()
    for volume in sorted({p.volume for p in result.points}):
        points = sorted(
            (p for p in result.points if p.volume == volume), key=lambda p: p.cost_cents
        )
        summaries = [p.metrics.get(metric) for p in points]
        figure.add_scatter(
            x=[p.cost_cents / 100 for p in points],
            y=[s.mean if s else None for s in summaries],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [_up(s) for s in summaries],
                "arrayminus": [_down(s) for s in summaries],
            },
            mode="markers",
            name=f"volume x{volume:g}",
            text=[f"{p.brokers} B / {p.clerks} C / {p.doors} D" for p in points],
        )
    figure.add_hline(y=result.target, line_dash="dash", annotation_text="target")
    figure.update_layout(
        title=f"{metric} against cost, every mix (mean and interval)",
        xaxis_title="cost over the horizon",
        yaxis={"tickformat": ".0%"},
        height=440,
    )
    return figures.html(figure)


def _up(s: MetricSummary | None) -> float:
    return 0.0 if s is None or s.high is None or s.mean is None else s.high - s.mean


def _down(s: MetricSummary | None) -> float:
    return 0.0 if s is None or s.low is None or s.mean is None else s.mean - s.low


def _level_curves(result: SweepResult, metric: str, figures: _Figures) -> list[str]:
    """Per volume: the target measure against brokers, one line per
    (clerks, doors)."""
    parts = []
    for volume in sorted({p.volume for p in result.points}):
        figure = go.Figure()
        points = [p for p in result.points if p.volume == volume]
        for clerks, doors in sorted({(p.clerks, p.doors) for p in points}):
            line = sorted(
                (p for p in points if (p.clerks, p.doors) == (clerks, doors)),
                key=lambda p: p.brokers,
            )
            figure.add_scatter(
                x=[p.brokers for p in line],
                y=[
                    p.metrics[metric].mean if metric in p.metrics else None
                    for p in line
                ],
                mode="lines+markers",
                name=f"{clerks} clerks, {doors} doors",
            )
        figure.add_hline(y=result.target, line_dash="dash")
        figure.update_layout(
            title=f"Volume x{volume:g}: {metric} against brokers on the busiest shift",
            xaxis_title="brokers",
            yaxis={"tickformat": ".0%"},
            height=400,
        )
        parts.append(figures.html(figure))
    return parts


def _sweep_table(result: SweepResult) -> str:
    metric_names = sorted({n for p in result.points for n in p.metrics})
    head = "".join(f"<th>{html.escape(n)}</th>" for n in metric_names)
    rows = []
    for p in result.points:
        cells = "".join(_cell(p, n) for n in metric_names)
        rows.append(
            f"<tr><td>{p.volume:g}</td><td>{p.brokers}</td><td>{p.clerks}</td>"
            f"<td>{p.doors}</td><td>{p.cost_cents / 100:,.0f}</td>{cells}</tr>"
        )
    return (
        "<table><tr><th>volume</th><th>brokers</th><th>clerks</th><th>doors</th>"
        f"<th>cost</th>{head}</tr>" + "".join(rows) + "</table>"
    )


def _cell(point: SweepPoint, name: str) -> str:
    s = point.metrics.get(name)
    if s is None:
        return "<td>-</td>"
    percent = name.startswith(("sla.", "utilisation"))
    return f"<td>{_number(s.mean, percent)} [{_number(s.low, percent)}]</td>"
