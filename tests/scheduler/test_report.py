"""Tests of the dispatcher's HTML report, on a small plan built by hand."""

from __future__ import annotations

import html
import random
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.report_cmd import write_report
from scheduler.kpis import compute_kpis
from scheduler.models import (
    CoverageRow,
    Explanation,
    Interval,
    Objective,
    Plan,
    Provenance,
    Request,
    RosterShift,
    Task,
    TaskKind,
    Unscheduled,
)
from scheduler.report import render_report, status_text
from scheduler.report_charts import CoverStep, cover_steps, door_gantt, people_gantt

SHORT_TEXT = "16:00-20:00: 1 broker short; 1 shipment late because of it"
UNSCHEDULED_TEXT = "1 shipment unscheduled: no broker licensed for pharma on shift"
# Ids hold no slash, so the injected tag opens a script without closing it.
INJECTED = "<script>alert(1)<script>"


def _at(day: int, clock: str) -> datetime:
    return datetime.fromisoformat(f"2025-11-{day:02d}T{clock}:00+08:00")


def _request(clerk_id: str) -> Request:
    return Request.model_validate(
        {
            "site": {"id": "HKG-T1", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 2},
            "staff": [
                {
                    "id": "B1",
                    "name": "Mei Chan",
                    "role": "broker",
                    "licences": [{"jurisdiction": "HK"}],
                },
                {"id": clerk_id, "name": "Tom Lee", "role": "clerk"},
            ],
            "shift_templates": [
                {
                    "id": "late",
                    "start_local": "16:00",
                    "end_local": "02:00",
                    "break_start_local": "20:00",
                    "break_min": 30,
                    "max_extension_min": 60,
                }
            ],
            "doors": [
                {"id": "D1"},
                {
                    "id": "D2",
                    "capabilities": ["exam"],
                    "outages": [
                        {
                            "start": "2025-11-11T18:00:00+08:00",
                            "end": "2025-11-11T19:00:00+08:00",
                            "reason": "forklift repair",
                        }
                    ],
                },
            ],
            "loads": [{"id": "L1", "eta": "2025-11-11T23:00:00+08:00", "pallets": 25}],
            "shipments": [
                {
                    "id": "S1",
                    "load_id": "L1",
                    "priority": "express",
                    "documents_ready_at": "2025-11-11T16:00:00+08:00",
                },
                {
                    "id": "S2",
                    "load_id": "L1",
                    "lane": "physical",
                    "documents_ready_at": "2025-11-11T16:00:00+08:00",
                },
                {
                    "id": "S3",
                    "priority": "express",
                    "commodity": "pharma",
                    "in_warehouse": True,
                    "documents_ready_at": "2025-11-11T16:00:00+08:00",
                },
            ],
            "settings": {"policies": {"breaks": "pause"}},
        }
    )


def _task(
    task_id: str,
    start: datetime,
    end: datetime,
    person_id: str | None = None,
    door_id: str | None = None,
    pauses: list[Interval] | None = None,
) -> Task:
    owner, kind = task_id.split(":")
    paused_min = sum(int((p.end - p.start).total_seconds() // 60) for p in pauses or [])
    return Task(
        id=task_id,
        kind=TaskKind(kind),
        shipment_id=None if kind == "unload" else owner,
        load_id=owner if kind == "unload" else None,
        person_id=person_id,
        door_id=door_id,
        start=start,
        end=end,
        work_min=int((end - start).total_seconds() // 60) - paused_min,
        pauses=pauses or [],
    )


def small_plan(clerk_id: str = "C1") -> Plan:
    """Two people on the late shift, a truck over midnight, an exam, a pause."""
    request = _request(clerk_id)
    roster = [
        RosterShift(
            person_id="B1",
            date="2025-11-11",
            template_id="late",
            post="broker",
            extension_min=60,
            needs_approval=True,
        ),
        RosterShift(
            person_id=clerk_id, date="2025-11-11", template_id="late", post="clerk"
        ),
    ]
    tasks = [
        _task("L1:unload", _at(11, "23:30"), _at(12, "00:30"), door_id="D1"),
        _task("S1:review", _at(11, "16:30"), _at(11, "16:50"), person_id=clerk_id),
        _task("S2:review", _at(11, "16:50"), _at(11, "17:10"), person_id=clerk_id),
        _task(
            "S1:declare",
            _at(11, "19:50"),
            _at(11, "20:50"),
            person_id="B1",
            pauses=[Interval(start=_at(11, "20:00"), end=_at(11, "20:30"))],
        ),
        _task("S2:declare", _at(11, "21:00"), _at(11, "21:20"), person_id="B1"),
        _task(
            "S2:exam", _at(12, "00:40"), _at(12, "01:20"), person_id="B1", door_id="D2"
        ),
    ]
    unscheduled = [
        Unscheduled(
            shipment_id="S3", reason="no_licensed_broker", detail="pharma licence"
        )
    ]
    coverage = [
        CoverageRow(
            skill="broker",
            start=_at(11, "16:00"),
            end=_at(11, "20:00"),
            required=2,
            planned=1,
        ),
        CoverageRow(
            skill="broker",
            start=_at(11, "20:00"),
            end=_at(12, "00:00"),
            required=1,
            planned=1,
        ),
        CoverageRow(
            skill="clerk",
            start=_at(11, "16:00"),
            end=_at(12, "02:00"),
            required=1,
            planned=1,
        ),
    ]
    explanations = [
        Explanation(
            kind="shortfall",
            text=SHORT_TEXT,
            start=_at(11, "16:00"),
            end=_at(11, "20:00"),
        ),
        Explanation(kind="unscheduled", text=UNSCHEDULED_TEXT),
    ]
    terms = {"unscheduled": 10_000_000, "lateness": 0, "undercover": 10_000}
    return Plan(
        plan_id="plan-1",
        request=request,
        status="feasible",
        objective=Objective(total=sum(terms.values()), terms=terms),
        bound=9_000_000,
        gap=0.032,
        kpis=compute_kpis(request, roster, tasks, unscheduled),
        roster=roster,
        coverage=coverage,
        tasks=tasks,
        unscheduled=unscheduled,
        explanations=explanations,
        provenance=Provenance(
            solver="cp-sat",
            solver_version="9.12",
            clearplan_version="0.1.0",
            seed=7,
            input_hash="sha256:abc",
            fingerprint="sha256:def",
        ),
    )


def _decoded(page: str) -> str:
    """The page with plotly's JSON escapes (``\\u003c``, ``\\u002f``) undone."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)


@pytest.fixture(scope="module")
def page() -> str:
    return render_report(small_plan())


def test_report_is_one_offline_file(page: str) -> None:
    """Shows the page fetches nothing: no script or link with a source URL."""
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]*\ssrc\s*=", page, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\shref\s*=\s*['\"]?https?:", page, re.IGNORECASE)
    assert not re.search(r"<iframe|<img[^>]*src\s*=\s*['\"]?https?:", page, re.I)
    # plotly.js itself is inline: its bundle defines window.Plotly.
    assert "Plotly.newPlot" in page
    assert len(page) > 3_000_000


def test_report_names_site_doors_and_people(page: str) -> None:
    """Shows the site, both doors and both people appear."""
    for text in ("HKG-T1", "D1", "D2", "B1", "C1", "Mei Chan"):
        assert text in page


def test_report_shows_local_times(page: str) -> None:
    """Shows hover and table times in Hong Kong time, across midnight."""
    page = _decoded(page)
    # The unload 15:30-16:30 UTC is 23:30-00:30 at the site, on two dates.
    assert "Tue 11 Nov 23:30-00:30 +1d" in page
    # B1's late shift with an hour of overtime: 16:00 to 03:00 next day.
    assert "Tue 11 Nov 16:00-03:00 +1d" in page
    assert "local time, Asia/Hong_Kong (UTC+08:00)" in page


def test_report_shows_status_explanations_and_unscheduled(page: str) -> None:
    """Shows the status in words, explanations, and the unscheduled shipment."""
    assert "time-limited: best found, gap 3.2 %" in page
    assert html.escape(SHORT_TEXT) in page
    assert html.escape(UNSCHEDULED_TEXT) in page
    row = re.search(r"<tr><td>S3</td>.*?</tr>", page)
    assert row is not None
    assert "no_licensed_broker" in row.group(0)
    assert "pharma licence" in row.group(0)


def test_report_flags_overtime_for_approval(page: str) -> None:
    """Shows B1's hour of overtime flagged for approval in the roster table."""
    row = re.search(r"<tr><td>B1</td>.*?</tr>", page)
    assert row is not None
    assert "60 min ⚑ to approve" in row.group(0)


def test_report_shows_kpi_tiles(page: str) -> None:
    """Shows SLA attainment: S1 met (1 of 2 express, S3 unscheduled)."""
    # S1: actionable 23:00, deadline 03:00; released 20:50 + 20 min: met.
    assert "50.0 %" in page
    assert "express within SLA (1 of 2)" in page


def test_report_escapes_injected_person_id() -> None:
    """Shows a script tag given as a person id is escaped, never raw."""
    page = render_report(small_plan(clerk_id=INJECTED))

    assert INJECTED not in page
    assert INJECTED not in _decoded(page)
    assert html.escape(INJECTED) in page


def test_report_status_text_reads_every_status() -> None:
    """Shows each status said in the dispatcher's words."""
    plan = small_plan()
    expected = {
        "optimal": "optimal: no better plan exists under these rules and weights",
        "heuristic": "greedy fallback: the solver found nothing better in time",
        "cancelled": "cancelled: best so far",
    }
    for status, text in expected.items():
        assert status_text(plan.model_copy(update={"status": status})) == text
    no_bound = plan.model_copy(update={"gap": None, "bound_reason": "rolling windows"})
    assert status_text(no_bound) == (
        "time-limited: best found, no global bound (rolling windows)"
    )


def test_cover_steps_show_the_worst_overlapping_row() -> None:
    """Shows overlapping requirements of a skill drawn as the worst shortfall."""
    rows = [
        CoverageRow(
            skill="broker",
            start=_at(11, "08:00"),
            end=_at(11, "12:00"),
            required=2,
            planned=2,
        ),
        CoverageRow(
            skill="broker",
            start=_at(11, "10:00"),
            end=_at(11, "11:00"),
            required=3,
            planned=2,
        ),
    ]

    assert cover_steps(rows) == {
        "broker": [
            CoverStep(_at(11, "08:00"), _at(11, "10:00"), 2, 2),
            CoverStep(_at(11, "10:00"), _at(11, "11:00"), 3, 2),
            CoverStep(_at(11, "11:00"), _at(11, "12:00"), 2, 2),
        ]
    }


def test_write_report_writes_the_page(tmp_path: Path) -> None:
    """Shows write_report creates the folder and puts the page in the file."""
    target = tmp_path / "reports" / "report.html"

    write_report(small_plan(), target)

    text = target.read_text(encoding="utf-8")
    assert "HKG-T1" in text
    assert text.endswith("</html>\n")


def test_write_report_refuses_a_folder_as_the_file(tmp_path: Path) -> None:
    """Shows a report path naming a folder is a one-sentence ValueError."""
    with pytest.raises(ValueError, match="cannot write the HTML report"):
        write_report(small_plan(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def big_plan(num_people: int = 300, num_shipments: int = 3_000, seed: int = 0) -> Plan:
    """A peak-size plan for size and speed: not a valid plan, a busy picture.

    Three shipments a truck, one shift a person a day over two days, and
    review, declare, some compliance, respond and exam tasks: about 8,000
    tasks for 3,000 shipments.
    """
    rng = random.Random(seed)
    day0 = _at(11, "00:00")
    templates = [
        ("early", "06:00", "14:00", "10:00"),
        ("late", "14:00", "22:00", "18:00"),
    ]
    templates.append(("night", "22:00", "06:00", "02:00"))
    num_brokers = num_people // 3
    staff: list[dict[str, Any]] = [
        {
            "id": f"P{i:03d}",
            "name": f"Person {i}",
            "role": "broker" if i < num_brokers else "clerk",
            "licences": [{"jurisdiction": "HK"}] if i < num_brokers else [],
        }
        for i in range(num_people)
    ]
    loads = [
        {
            "id": f"L{i:04d}",
            "eta": (day0 + timedelta(minutes=rng.randrange(2800))).isoformat(),
        }
        for i in range(num_shipments // 3)
    ]
    shipments = [
        {
            "id": f"S{i:05d}",
            "load_id": f"L{i // 3:04d}",
            "priority": rng.choice(["express", "standard", "standard", "deferred"]),
            "lane": rng.choices(["green", "documentary", "physical"], [85, 10, 5])[0],
            "compliance_required": rng.random() < 0.2,
            "documents_ready_at": day0.isoformat(),
        }
        for i in range(num_shipments)
    ]
    request = Request.model_validate(
        {
            "site": {"id": "HKG-BIG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 2},
            "staff": staff,
            "shift_templates": [
                {
                    "id": name,
                    "start_local": start,
                    "end_local": end,
                    "break_start_local": brk,
                    "break_min": 30,
                }
                for name, start, end, brk in templates
            ],
            "doors": [
                {
                    "id": f"D{i:02d}",
                    "capabilities": ["exam"] if i >= 26 else ["standard"],
                }
                for i in range(30)
            ],
            "loads": loads,
            "shipments": shipments,
        }
    )
    roster = [
        RosterShift(
            person_id=person["id"],
            date=f"2025-11-{11 + day}",
            template_id=templates[i % 3][0],
            post=person["role"],
        )
        for i, person in enumerate(staff)
        for day in range(2)
    ]
    brokers = [p["id"] for p in staff if p["role"] == "broker"]
    clerks = [p["id"] for p in staff if p["role"] == "clerk"]

    def placed(
        task_id: str,
        minutes: int,
        person_id: str | None = None,
        door_id: str | None = None,
    ) -> Task:
        start = day0 + timedelta(minutes=rng.randrange(2 * 24 * 60 - minutes))
        end = start + timedelta(minutes=minutes)
        return _task(task_id, start, end, person_id=person_id, door_id=door_id)

    tasks = [
        placed(f"{ld['id']}:unload", 40, door_id=f"D{rng.randrange(26):02d}")
        for ld in loads
    ]
    for shipment in shipments[100:]:
        sid = shipment["id"]
        tasks.append(placed(f"{sid}:review", 15, person_id=rng.choice(clerks)))
        if shipment["compliance_required"]:
            tasks.append(placed(f"{sid}:compliance", 20, person_id=rng.choice(clerks)))
        tasks.append(placed(f"{sid}:declare", 15, person_id=rng.choice(brokers)))
        if shipment["lane"] == "documentary":
            tasks.append(placed(f"{sid}:respond", 25, person_id=rng.choice(brokers)))
        if shipment["lane"] == "physical":
            door = f"D{rng.randrange(26, 30):02d}"
            tasks.append(
                placed(f"{sid}:exam", 45, person_id=rng.choice(brokers), door_id=door)
            )
    unscheduled = [
        Unscheduled(shipment_id=s["id"], reason="no_time_left") for s in shipments[:100]
    ]
    coverage = [
        CoverageRow(
            skill=skill,
            start=day0 + timedelta(minutes=30 * k),
            end=day0 + timedelta(minutes=30 * (k + 1)),
            required=rng.randrange(5, 40),
            planned=rng.randrange(5, 40),
        )
        for skill in (
            "broker",
            "clerk",
            "compliance",
            "commodity:pharma",
            "regime:export",
        )
        for k in range(96)
    ]
    terms = {"unscheduled": 1_000_000, "lateness": 52_000}
    return Plan(
        plan_id="plan-big",
        request=request,
        status="heuristic",
        objective=Objective(total=sum(terms.values()), terms=terms),
        kpis=compute_kpis(request, roster, tasks, unscheduled),
        roster=roster,
        coverage=coverage,
        tasks=tasks,
        unscheduled=unscheduled,
        explanations=[Explanation(kind="shortfall", text=SHORT_TEXT)] * 10,
        provenance=Provenance(
            solver="greedy",
            solver_version="0",
            clearplan_version="0.1.0",
            input_hash="sha256:abc",
        ),
    )


@pytest.mark.slow
def test_report_of_a_peak_plan_stays_small_and_fast() -> None:
    """Shows 300 people and about 8,000 tasks render under 15 MB in seconds."""
    plan = big_plan()
    assert len(plan.tasks) > 7_500

    started = time.perf_counter()
    page = render_report(plan)
    elapsed_s = time.perf_counter() - started

    assert len(page.encode("utf-8")) < 15_000_000
    assert elapsed_s < 10
    # One trace per kind, not per bar: a handful of traces per chart.
    assert page.count('"type":"bar"') < 20


def _trace(figure: Any, name: str) -> Any:
    return next(trace for trace in figure.data if trace.name == name)


def _local_pieces(trace: Any, row: str) -> list[tuple[str, str]]:
    """The bars of a trace on one row as local (start, end) clock times."""
    pieces = []
    for y, base, length_ms in zip(trace.y, trace.base, trace.x, strict=True):
        if y == row:
            end = base + timedelta(milliseconds=length_ms)
            pieces.append((f"{base:%d %H:%M}", f"{end:%d %H:%M}"))
    return sorted(pieces)


def test_door_gantt_keeps_idle_doors_and_describes_the_truck() -> None:
    """Shows every door gets a row and the unload hover names load and pallets."""
    plan = small_plan()
    idle = plan.request.doors[0].model_copy(update={"id": "D3"})
    request = plan.request.model_copy(update={"doors": [*plan.request.doors, idle]})
    figure = door_gantt(plan.model_copy(update={"request": request}))

    assert list(figure.layout.yaxis.categoryarray) == [
        "D1 (standard)",
        "D2 (exam)",
        "D3 (standard)",
    ]
    # The invisible row keeper holds every row, so D3 is drawn while idle.
    keeper = next(t for t in figure.data if t.name is None and t.mode == "markers")
    assert list(keeper.y) == list(figure.layout.yaxis.categoryarray)
    unload = _trace(figure, "unload")
    assert _local_pieces(unload, "D1 (standard)") == [("11 23:30", "12 00:30")]
    assert unload.hovertext[0] == (
        "<b>L1</b> unload at D1<br>Tue 11 Nov 23:30-00:30 +1d<br>"
        "2 shipments: S1, S2<br>25 pallets"
    )


def test_people_gantt_leaves_breaks_and_pauses_as_gaps() -> None:
    """Shows B1's shift split at the 20:00 break, overtime and a paused task."""
    figure = people_gantt(small_plan())
    row = "B1 Mei Chan · broker"

    # Shift 16:00-02:00 with its break 20:00-20:30, then 60 min overtime.
    assert _local_pieces(_trace(figure, "shift"), row) == [
        ("11 16:00", "11 20:00"),
        ("11 20:30", "12 02:00"),
    ]
    assert _local_pieces(_trace(figure, "overtime"), row) == [("12 02:00", "12 03:00")]
    # S1:declare 19:50-20:50 pauses over the break: two pieces, 30 min work.
    assert _local_pieces(_trace(figure, "declare"), row) == [
        ("11 19:50", "11 20:00"),
        ("11 20:30", "11 20:50"),
        ("11 21:00", "11 21:20"),
    ]


def test_report_folds_explanations_after_the_first_ten() -> None:
    """Shows twelve explanations as ten in order, then two folded away."""
    explanations = [
        Explanation(kind="late_queue", text=f"finding number {i}") for i in range(12)
    ]
    page = render_report(small_plan().model_copy(update={"explanations": explanations}))

    assert page.index("finding number 0") < page.index("finding number 9")
    assert page.index("<summary>2 more</summary>") < page.index("finding number 10")


def test_report_of_a_roster_only_plan_shows_no_shipment_counts() -> None:
    """Shows a plan without tasks reports shifts, not zero unscheduled shipments."""
    plan = small_plan().model_copy(update={"tasks": [], "unscheduled": [], "kpis": {}})

    page = render_report(plan)

    assert "shipments unscheduled" not in page
    assert "shifts (2 people)" in page
    assert "overtime shifts to approve" in page
