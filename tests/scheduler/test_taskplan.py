"""Tests of `plan_tasks` and `make_plan`: statuses, limits, determinism, trust.

Small sites are the hand-checked one of `task_site` (Hong Kong, Tue
2025-11-11, everyone on 08:00-16:00 with a 12:00-12:30 break, default
labour standards). Larger instances come from `simulations.generate` with
every person rostered on the template that suits their index.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from task_site import at, broker, clerk, shipment, site_request

from scheduler.models import Plan, PlanStatus, Request, RosterShift
from scheduler.planning import make_plan
from scheduler.taskplan import plan_tasks
from scheduler.validate_plan import validate_plan
from simulations.generate import generated_request

TERMS = {
    "unscheduled",
    "lateness",
    "undercover",
    "overcover",
    "cost",
    "requests",
    "unavailability",
    "fairness",
    "stability",
}


def _assert_trusted(plan: Plan) -> None:
    """The validator accepts the plan and agrees with its objective."""
    report = validate_plan(plan)
    assert report.violations == []
    assert report.objective == plan.objective
    assert set(plan.objective.terms) == TERMS


def _by_id(plan: Plan) -> dict[str, Any]:
    return {task.id: task for task in plan.tasks}


# --------------------------------------------------------------------------
# Hand-checked plans


def test_plan_tasks_quiet_day_is_optimal_with_its_bound() -> None:
    """Two trucks at 14:00 on one door: no lateness, so the plan is optimal."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        loads=[
            {"id": "LA", "eta": at("14:00").isoformat()},
            {"id": "LB", "eta": at("14:00").isoformat()},
        ],
        shipments=[
            shipment("SA", load_id="LA", in_warehouse=False),
            shipment("SB", load_id="LB", in_warehouse=False),
        ],
    )

    plan = plan_tasks(request)

    assert plan.status == PlanStatus.optimal
    assert plan.objective.total == plan.bound == 0
    tasks = _by_id(plan)
    assert (tasks["LA:unload"].start, tasks["LA:unload"].end) == (
        at("14:00"),
        at("14:12"),
    )
    assert (tasks["LB:unload"].start, tasks["LB:unload"].end) == (
        at("14:12"),
        at("14:24"),
    )
    # Both unloads are in the dock schedule of their local date.
    assert [slot.load_id for slot in plan.dock_schedule["2025-11-11"]] == ["LA", "LB"]
    _assert_trusted(plan)


def test_plan_tasks_reports_no_licensed_broker() -> None:
    """A pharma shipment with no pharma broker on shift: no_licensed_broker."""
    request = site_request(
        staff=[clerk("c1"), broker("b1", commodities=["general"])],
        shipments=[shipment("S1", commodity="pharma", priority="express")],
    )

    plan = plan_tasks(request)

    assert [(u.shipment_id, u.reason) for u in plan.unscheduled] == [
        ("S1", "no_licensed_broker")
    ]
    # 100,000 x express weight 100; the chain bound knows it is unavoidable.
    assert plan.objective.terms["unscheduled"] == 10_000_000
    assert plan.status == PlanStatus.optimal
    _assert_trusted(plan)


@pytest.mark.parametrize(
    ("breaks", "start", "end", "pauses"),
    [
        ("no_straddle", "12:30", "14:00", []),
        ("pause", "11:30", "13:30", [("12:00", "12:30")]),
    ],
)
def test_plan_tasks_c11_inspection_over_the_break(
    breaks: str, start: str, end: str, pauses: list[tuple[str, str]]
) -> None:
    """C-11: a 90-min exam from 11:30 runs 12:30-14:00, or 11:30-13:30 paused."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        shipments=[
            shipment(
                "S1",
                lane="physical",
                pallets=12,  # exam 30 + 5 x 12 = 90 min
                done_tasks=["review", "declare"],
                exam_window={
                    "start": at("11:30").isoformat(),
                    "end": at("15:00").isoformat(),
                },
            )
        ],
        breaks=breaks,
    )

    plan = plan_tasks(request)

    exam = _by_id(plan)["S1:exam"]
    assert (exam.start, exam.end) == (at(start), at(end))
    assert exam.work_min == 90
    assert [(p.start, p.end) for p in exam.pauses] == [
        (at(a), at(b)) for a, b in pauses
    ]
    # The broker's break stays 30 minutes: the roster is untouched.
    assert plan.roster[0].break_start == at("12:00")
    assert plan.roster[0].break_end == at("12:30")
    _assert_trusted(plan)


def test_plan_tasks_lists_a_truck_over_midnight_under_both_dates() -> None:
    """A truck unloading 23:30-00:30 is in the dock schedule of both dates."""
    staff = [clerk("c1"), broker("b1")]
    one_day = site_request(
        staff=staff,
        # unload 10 + 2 x 25 pallets = 60 min from the 23:30 ETA.
        loads=[{"id": "L1", "eta": at("23:30").isoformat()}],
        shipments=[shipment("S1", load_id="L1", in_warehouse=False, pallets=25)],
    )
    roster = [
        RosterShift(person_id=p["id"], date=day, template_id="day", post=p["role"])
        for p in staff
        for day in (
            one_day.horizon.start_date,
            one_day.horizon.start_date + timedelta(1),
        )
    ]
    request = one_day.model_copy(
        update={
            "horizon": one_day.horizon.model_copy(update={"days": 2}),
            "roster": roster,
        }
    )

    plan = plan_tasks(request, time_limit_s=1.0)

    unload = _by_id(plan)["L1:unload"]
    assert (unload.start, unload.end) == (at("23:30"), at("00:30", day=12))
    for day in ("2025-11-11", "2025-11-12"):
        assert [slot.load_id for slot in plan.dock_schedule[day]] == ["L1"]
    _assert_trusted(plan)


def test_plan_tasks_counts_real_minutes_over_a_dst_night() -> None:
    """Berlin, 26 Oct 2025: a 30-min task from 02:46 (+02) ends 02:16 (+01)."""
    staff = [clerk("c1"), broker("b1")]
    request = Request.model_validate(
        {
            "site": {"id": "BER", "timezone": "Europe/Berlin", "jurisdiction": "HK"},
            "horizon": {"start_date": "2025-10-25", "days": 2},
            "staff": staff,
            "shift_templates": [
                {
                    "id": "night",
                    "start_local": "22:00",
                    "end_local": "06:00",
                    "break_start_local": "02:00",
                    "break_min": 30,
                }
            ],
            "doors": [{"id": "D1"}],
            # L2 comes in the second 02:10 of the night, an hour after L1.
            "loads": [
                {"id": "L1", "eta": "2025-10-26T02:30:00+02:00"},
                {"id": "L2", "eta": "2025-10-26T02:10:00+01:00"},
            ],
            "shipments": [
                shipment(
                    "S2",
                    load_id="L2",
                    in_warehouse=False,
                    priority="express",
                    documents_ready_at="2025-10-26T01:50:00+02:00",
                    declaration_lines=40,
                )
            ],
            "roster": [
                {
                    "person_id": p["id"],
                    "date": "2025-10-25",
                    "template_id": "night",
                    "post": p["role"],
                }
                for p in staff
            ],
        }
    )

    plan = plan_tasks(request, time_limit_s=1.0)

    tasks = {task.id: task for task in plan.tasks}
    # review 6 + 0.25 x 40 = 16 min cannot run 01:50-02:06 over the break.
    review, declare = tasks["S2:review"], tasks["S2:declare"]
    assert review.start.isoformat() == "2025-10-26T02:30:00+02:00"
    assert declare.start.isoformat() == "2025-10-26T02:46:00+02:00"
    assert declare.end.isoformat() == "2025-10-26T02:16:00+01:00"
    assert tasks["L2:unload"].start.isoformat() == "2025-10-26T02:10:00+01:00"
    _assert_trusted(plan)


# --------------------------------------------------------------------------
# C-01: reproducible mode and parallel mode


def _c01_request(reproducible: bool, num_workers: int = 2) -> Request:
    """20 customs tasks (declarations of 30 min), 4 brokers, one 8-hour day.

    Ten express shipments are due at 16:00, ten standard ones at 08:30: the
    greedy plan serves express first and makes the standard ones late; the
    best plan serves the standard ones first: 4 on time, 4 ending 09:00 (30
    late), 2 ending 09:30 (60 late), so lateness 10 x 10 x 240 = 24,000.
    """
    shipments = []
    for i in range(20):
        express = i < 10
        shipments.append(
            shipment(
                f"S{i:02d}",
                priority="express" if express else "standard",
                done_tasks=["review"],
                declaration_lines=40,  # 10 + 0.5 x 40 = 30 min
                sla_deadline=(at("16:00") if express else at("08:30")).isoformat(),
            )
        )
    return site_request(
        staff=[broker(f"b{i}") for i in range(4)],
        shipments=shipments,
        time_limit_s=10.0,  # as C-01 says; the solve proves optimality sooner
        seed=7,
        reproducible=reproducible,
        num_workers=num_workers,
    )


def test_plan_tasks_c01_reproducible_runs_share_a_fingerprint() -> None:
    """C-01: seed 7 in reproducible mode twice gives the same fingerprint."""
    request = _c01_request(reproducible=True)

    first = plan_tasks(request)
    second = plan_tasks(request)

    assert first.provenance.fingerprint == second.provenance.fingerprint
    assert first.plan_id != second.plan_id
    provenance = first.provenance
    assert provenance.solver == "cp-sat"
    assert provenance.solver_version.startswith("9.")
    assert provenance.seed == 7
    assert provenance.input_hash.startswith("sha256:")
    assert provenance.parameters["reproducible"] is True
    assert provenance.parameters["interleave_search"] is True
    assert provenance.parameters["random_seed"] == 7
    assert first.objective.terms["lateness"] == 24_000
    _assert_trusted(first)


def test_plan_tasks_c01_parallel_optimal_runs_agree() -> None:
    """C-01: two parallel runs, if both say optimal, have the same objective."""
    request = _c01_request(reproducible=False, num_workers=2)

    plans = [plan_tasks(request) for _ in range(2)]

    for plan in plans:
        _assert_trusted(plan)
    if all(plan.status == PlanStatus.optimal for plan in plans):
        assert plans[0].objective == plans[1].objective
        assert plans[0].objective.terms["lateness"] == 24_000
    # The greedy plan (express first) costs 10 x 10 x 960 = 96,000.
    assert all(plan.objective.terms["lateness"] < 96_000 for plan in plans)


# --------------------------------------------------------------------------
# C-02, C-04: limits


def _rostered(num_shipments: int, seed: int = 0) -> Request:
    """A generated day whose roster puts each regular person on the same
    template every day (16 h rest between shifts); on-call staff stay home."""
    request = generated_request(num_shipments, seed)
    templates = [t.id for t in request.shift_templates]
    roster = [
        RosterShift(
            person_id=person.id,
            date=request.horizon.start_date + timedelta(days=day),
            template_id=templates[i % len(templates)],
            post=person.role.value,
        )
        for i, person in enumerate(request.staff)
        if person.on_call is None
        for day in range(request.horizon.days)
    ]
    return request.model_copy(update={"roster": roster})


def test_plan_tasks_c02a_short_limit_is_never_infeasible() -> None:
    """C-02 (a), scaled: a 1 s limit gives the greedy plan or better, time-limited."""
    request = _rostered(300)

    plan = plan_tasks(request, time_limit_s=1.0)

    assert plan.status in (PlanStatus.heuristic, PlanStatus.feasible)
    assert "time-limited" in plan.status_reason
    assert plan.tasks
    _assert_trusted(plan)


@pytest.mark.slow
def test_plan_tasks_c02a_full_size() -> None:
    """C-02 (a): about 3,000 tasks, 1 s limit: never infeasible, time-limited."""
    request = _rostered(1_200)

    plan = plan_tasks(request, time_limit_s=1.0)

    assert len(plan.tasks) + len(plan.unscheduled) >= 2_500
    assert plan.status in (PlanStatus.heuristic, PlanStatus.feasible)
    assert "time-limited" in plan.status_reason
    _assert_trusted(plan)


def test_plan_tasks_c02c_improving_then_limited_is_feasible_with_a_gap() -> None:
    """C-02 (c): a search that improves and then hits its limit is feasible."""
    # 60 standard shipments due 30 min after 08:00 and 20 express ones due
    # at 16:00 on 3 brokers: the greedy plan serves express first; better
    # plans exist, and lateness is unavoidable, above the chain bound of 0.
    shipments = [
        shipment(
            f"E{i:02d}",
            priority="express",
            done_tasks=["review"],
            declaration_lines=20,
            sla_deadline=at("16:00").isoformat(),
        )
        for i in range(20)
    ] + [
        shipment(
            f"S{i:02d}",
            done_tasks=["review"],
            declaration_lines=20,
            sla_deadline=at("08:30").isoformat(),
        )
        for i in range(60)
    ]
    request = site_request(
        staff=[broker(f"b{i}") for i in range(3)], shipments=shipments
    )
    progress: list[tuple[int, int | None, float]] = []

    plan = plan_tasks(
        request,
        time_limit_s=1.5,
        on_progress=lambda objective, bound, elapsed: progress.append(
            (objective, bound, elapsed)
        ),
    )

    assert plan.status == PlanStatus.feasible
    assert len(progress) >= 2  # the greedy plan, then improvements
    assert progress[-1][0] == plan.objective.total < progress[0][0]
    assert plan.bound is not None and plan.bound < plan.objective.total
    assert plan.gap is not None and 0 < plan.gap <= 1
    assert plan.bound_reason
    _assert_trusted(plan)


def test_plan_tasks_c04a_ends_within_the_limit_scaled() -> None:
    """C-04 (a), scaled to 1/5: about 400 tasks, 6 s limit, done within 7 s."""
    request = _rostered(160)

    started = time.perf_counter()
    plan = plan_tasks(request, time_limit_s=6.0)
    elapsed = time.perf_counter() - started

    assert elapsed < 6.0 + 1.0
    assert plan.status != PlanStatus.failed


@pytest.mark.slow
def test_plan_tasks_c04a_ends_within_the_limit() -> None:
    """C-04 (a): about 2,000 tasks, 30 s limit, done within 35 s."""
    request = _rostered(800)

    started = time.perf_counter()
    plan = plan_tasks(request, time_limit_s=30.0)
    elapsed = time.perf_counter() - started

    assert elapsed < 30.0 + 5.0
    assert plan.status != PlanStatus.failed
    _assert_trusted(plan)


def test_plan_tasks_stopped_before_the_search_is_cancelled() -> None:
    """A stop flag already set gives the greedy plan, cancelled, still valid."""
    stop = threading.Event()
    stop.set()

    plan = plan_tasks(_c01_request(reproducible=False), stop=stop)

    assert plan.status == PlanStatus.cancelled
    assert "stopped" in plan.status_reason
    assert len(plan.tasks) == 20
    _assert_trusted(plan)


def test_plan_tasks_stop_during_the_search_returns_within_a_second() -> None:
    """A stop 0.5 s into a 20 s search ends it within a second, cancelled."""
    request = _rostered(160)
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)

    started = time.perf_counter()
    timer.start()
    plan = plan_tasks(request, stop=stop, time_limit_s=20.0)
    elapsed = time.perf_counter() - started

    assert elapsed < 0.5 + 1.0 + 1.5  # greedy and assembly included
    assert plan.status in (PlanStatus.cancelled, PlanStatus.optimal)
    _assert_trusted(plan)


# --------------------------------------------------------------------------
# make_plan


def test_make_plan_rosters_first_and_keeps_the_request_as_given() -> None:
    """Staff without a roster: the plan holds a roster, the tasks and all terms."""
    request = generated_request(60, seed=3)
    request = request.model_copy(
        update={"settings": request.settings.model_copy(update={"time_limit_s": 4.0})}
    )
    assert request.roster is None

    plan = make_plan(request)

    assert plan.request == request
    assert plan.roster
    assert plan.tasks
    assert plan.bound is None and plan.bound_reason
    assert plan.status in (PlanStatus.feasible, PlanStatus.heuristic)
    assert plan.objective.terms["cost"] > 0
    _assert_trusted(plan)


# --------------------------------------------------------------------------
# Property: every plan passes the validator with the same objective


@st.composite
def _small_requests(draw: st.DrawFn) -> Request:
    num_clerks = draw(st.integers(1, 2))
    num_brokers = draw(st.integers(1, 2))
    staff = [
        clerk(
            f"c{i}",
            languages=draw(st.sampled_from([[], ["en"], ["en", "zh"]])),
            skills=draw(st.sampled_from([[], ["compliance"]])),
        )
        for i in range(num_clerks)
    ] + [
        broker(f"b{i}", commodities=draw(st.sampled_from([[], ["general"], ["food"]])))
        for i in range(num_brokers)
    ]
    loads = [
        {
            "id": f"L{i}",
            "eta": at(
                draw(st.sampled_from(["07:30", "09:00", "11:50", "14:00"]))
            ).isoformat(),
            "requirements": draw(st.sampled_from([[], ["cold_chain"]])),
        }
        for i in range(draw(st.integers(0, 2)))
    ]
    shipments = []
    for i in range(draw(st.integers(1, 6))):
        lane = draw(st.sampled_from([None, "green", "documentary", "physical"]))
        fields: dict[str, Any] = {
            "priority": draw(st.sampled_from(["express", "standard", "deferred"])),
            "commodity": draw(st.sampled_from(["general", "food"])),
            "lane": lane,
            "documents_ready_at": at(
                draw(st.sampled_from(["06:00", "08:00", "11:40", "15:30"]))
            ).isoformat(),
            "documents": draw(st.integers(0, 4)),
            "declaration_lines": draw(st.integers(0, 60)),
            "pallets": draw(st.integers(0, 8)),
            "compliance_required": draw(st.booleans()),
            "language": draw(st.sampled_from([None, None, "zh"])),
        }
        on_truck = draw(st.booleans())
        if loads and on_truck:
            fields["load_id"] = draw(st.sampled_from([load["id"] for load in loads]))
            fields["in_warehouse"] = False
        if lane == "physical" and draw(st.booleans()):
            opens = draw(st.sampled_from(["09:00", "11:30", "13:00"]))
            fields["exam_window"] = {
                "start": at(opens).isoformat(),
                "end": (at(opens) + timedelta(hours=2)).isoformat(),
            }
        shipments.append(shipment(f"S{i}", **fields))
    doors = [{"id": "D1", "capabilities": ["standard"]}]
    if draw(st.booleans()):
        doors.append({"id": "X1", "capabilities": ["exam", "cold_chain"]})
    return site_request(
        staff=staff,
        shipments=shipments,
        loads=loads,
        doors=doors,
        breaks=draw(st.sampled_from(["no_straddle", "pause"])),
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(request=_small_requests())
def test_every_plan_passes_the_validator_with_its_objective(request: Request) -> None:
    """Greedy (no search time) and solved plans both validate, same objective."""
    greedy = plan_tasks(request, time_limit_s=0.0)
    solved = plan_tasks(request, time_limit_s=0.4)

    for plan in (greedy, solved):
        assert plan.status != PlanStatus.failed
        assert "fallback" not in plan.provenance.parameters
        _assert_trusted(plan)
    assert solved.objective.total <= greedy.objective.total
