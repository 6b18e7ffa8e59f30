"""Tests of live re-planning: the issue's hand-checked cases, C-02 (b) and
invariants over random event sequences.

Small sites are the one of `task_site` (Hong Kong, Tue 2025-11-11,
everyone on 08:00-16:00 with a 12:00-12:30 break, default standards:
review 6 + 0.25/line, declare 10 + 0.5/line, unload 10 + 2/pallet, exam
30 + 5/pallet, customs response 20 min).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from task_site import at, broker, clerk, shipment, site_request

from scheduler.diff import apply_patch
from scheduler.models import Event, Plan, PlanStatus, Request, RosterShift
from scheduler.replan import replan
from scheduler.sitetime import local_midnight
from scheduler.taskplan import plan_tasks
from scheduler.validate_plan import validate_plan
from scheduler.validate_revision import validate_revision
from simulations.generate import generated_request


def _event(kind: str, subject: str, clock: str, **payload: Any) -> Event:
    return Event(type=kind, at=at(clock), subject_id=subject, payload=payload)


def _iso(clock: str) -> str:
    return at(clock).isoformat()


def _by_id(plan: Plan) -> dict[str, Any]:
    return {task.id: task for task in plan.tasks}


def _assert_revision_trusted(child: Plan, parent: Plan) -> None:
    """The revision passes both validators and its diff gives its tasks."""
    assert validate_plan(child).violations == []
    assert validate_revision(child, parent) == []
    assert apply_patch(parent.tasks, child.diff or []) == child.tasks
    assert (child.plan_id, child.parent_revision) == (parent.plan_id, parent.revision)


def _broker_day() -> Plan:
    """s0's declare starts 09:50 on b1 (review 09:34-09:50, 40 lines: 16 and
    30 min); s1-s4 are ready at 10:00 and alternate b2, b1, b2, b1."""
    request = site_request(
        staff=[clerk("c1"), broker("b1"), broker("b2")],
        shipments=[
            shipment("s0", documents_ready_at=_iso("09:34"), declaration_lines=40)
        ]
        + [
            shipment(f"s{i}", documents_ready_at=_iso("10:00"), declaration_lines=40)
            for i in range(1, 5)
        ],
    )
    return plan_tasks(request)


def test_replan_absent_broker_keeps_the_started_task_and_loses_the_rest() -> None:
    """b1 absent from 10:00 finishes the declare begun at 09:50; b1's later
    declares (s2 at 10:32, s4 at 11:04) go to b2."""
    parent = _broker_day()
    before = _by_id(parent)
    assert (before["s0:declare"].person_id, before["s0:declare"].start) == (
        "b1",
        at("09:50"),
    )
    assert before["s2:declare"].person_id == before["s4:declare"].person_id == "b1"

    absent = _event("person.absent", "b1", "09:58", start=_iso("10:00"))
    child = replan(parent, [absent], at("10:00"))

    after = _by_id(child)
    assert after["s0:declare"] == before["s0:declare"]
    assert [t.id for t in child.tasks if t.person_id == "b1"] == ["s0:declare"]
    # b2 takes s2 when s1 ends (10:46); s3 follows at 11:16; s4 waits for the
    # break (11:46 + 30 would straddle 12:00) and starts 12:30.
    assert after["s2:declare"].start == at("10:46")
    assert after["s4:declare"].start == at("12:30")
    ops = {op.task_id: op for op in child.diff or []}
    assert ops["s2:declare"].op == "reassign"
    assert "person.absent b1" in ops["s2:declare"].reason
    assert child.unscheduled == []
    _assert_revision_trusted(child, parent)


def test_replan_pinned_door_slot_stays() -> None:
    """L2's unload pinned at 11:00 on D1 stays when L1, now due at 11:00 too,
    would have taken it first; L1 unloads after it, 11:12."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        loads=[
            {"id": "L1", "eta": _iso("10:00")},
            {"id": "L2", "eta": _iso("11:00")},
        ],
        shipments=[
            shipment("s1", load_id="L1", in_warehouse=False),
            shipment("s2", load_id="L2", in_warehouse=False),
        ],
        doors=[{"id": "D1"}],
    )
    parent = plan_tasks(request)
    pinned_slot = _by_id(parent)["L2:unload"]
    assert (pinned_slot.door_id, pinned_slot.start) == ("D1", at("11:00"))

    events = [
        _event("task.pinned", "L2:unload", "08:30"),
        _event("load.eta_changed", "L1", "08:40", eta=_iso("11:00")),
    ]
    child = replan(parent, events, at("09:00"))

    after = _by_id(child)
    assert after["L2:unload"] == pinned_slot
    assert child.pinned_task_ids == ["L2:unload"]
    assert after["L1:unload"].start == at("11:12")
    _assert_revision_trusted(child, parent)


def test_replan_late_freighter_moves_its_trucks_and_their_exams() -> None:
    """A freighter's three trucks two hours late (10:00 -> 12:00): their
    unloads and the exam waiting on L0 move; other trucks stay; any other
    task given to another person or door names the lateness it saves."""
    loads = [{"id": f"L{i}", "eta": _iso("10:00")} for i in range(3)] + [
        {"id": f"M{i}", "eta": _iso("11:00")} for i in range(3)
    ]
    shipments = [
        shipment(f"a{i}", load_id=f"L{i}", in_warehouse=False, pallets=4)
        for i in range(3)
    ] + [
        shipment(f"m{i}", load_id=f"M{i}", in_warehouse=False, pallets=4)
        for i in range(3)
    ]
    shipments.append(shipment("ax", load_id="L0", in_warehouse=False, lane="physical"))
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        loads=loads,
        shipments=shipments,
        doors=[{"id": "D1"}, {"id": "D2"}, {"id": "X1", "capabilities": ["exam"]}],
    )
    parent = plan_tasks(request)
    late = [
        _event("load.eta_changed", f"L{i}", "09:00", eta=_iso("12:00"))
        for i in range(3)
    ]
    child = replan(parent, late, at("09:00"))

    before, after = _by_id(parent), _by_id(child)
    for i in range(3):
        assert after[f"L{i}:unload"].start >= at("12:00")
    assert after["ax:exam"].start >= after["L0:unload"].end
    for i in range(3):
        assert after[f"M{i}:unload"] == before[f"M{i}:unload"]
    own = {f"L{i}:unload" for i in range(3)} | {"ax:exam"}
    for op in child.diff or []:
        if op.task_id in own:
            assert "load.eta_changed L" in op.reason
        elif op.op == "reassign":
            assert "lateness" in op.reason
    _assert_revision_trusted(child, parent)


def test_replan_exam_ordered_for_15_gets_a_door_and_broker_in_the_window() -> None:
    """Customs orders an exam of s1 for 15:00-16:00: the exam is added on the
    exam door with a broker, starting inside the window."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        shipments=[shipment("s1"), shipment("s2")],
    )
    parent = plan_tasks(request)
    window = {"start": _iso("15:00"), "end": _iso("16:00")}
    exam = _event("customs.exam", "s1", "10:00", window=window)
    child = replan(parent, [exam], at("10:00"))

    task = _by_id(child)["s1:exam"]
    assert (task.door_id, task.person_id) == ("X1", "b1")
    assert at("15:00") <= task.start < at("16:00")
    ops = {op.task_id: op for op in child.diff or []}
    assert ops["s1:exam"].op == "add"
    assert "customs.exam s1" in ops["s1:exam"].reason
    _assert_revision_trusted(child, parent)


def test_replan_finished_task_keeps_its_reported_times() -> None:
    """A review reported finished at 08:20 ends at 08:20 in the revision."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")], shipments=[shipment("s1")]
    )
    parent = plan_tasks(request)
    done = _event("task.finished", "s1:review", "08:20", finished_at=_iso("08:20"))
    child = replan(parent, [done], at("08:30"))
    review = _by_id(child)["s1:review"]
    assert (review.start, review.end) == (at("08:14"), at("08:20"))
    _assert_revision_trusted(child, parent)


def test_replan_refuses_an_event_after_the_replanning_time() -> None:
    """An event learnt after T cannot be applied at T."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")], shipments=[shipment("s1")]
    )
    parent = plan_tasks(request)
    late = _event("task.pinned", "s1:review", "11:00")
    try:
        replan(parent, [late], at("10:00"))
    except ValueError as exc:
        assert "events[0].at" in str(exc)
    else:
        raise AssertionError("the event after T was accepted")


# --------------------------------------------------------------------------
# C-02 (b)


def _rostered(num_shipments: int) -> Request:
    request = generated_request(num_shipments, 0)
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


def test_replan_c02b_500_tasks_one_change_2s_is_never_empty() -> None:
    """C-02 (b): a 500-task plan, one truck later, 2 s: the best validated
    plan comes back, marked time-limited, with every task of the parent
    accounted for in the diff."""
    parent = plan_tasks(_rostered(200), time_limit_s=1.0)
    assert 450 <= len(parent.tasks) <= 650
    unload = next(t for t in parent.tasks if t.kind.value == "unload")
    assert unload.load_id is not None
    horizon = parent.request.horizon
    horizon_start = local_midnight(horizon.start_date, parent.request.site.timezone)
    later = unload.start + timedelta(minutes=45)
    moved = Event(
        type="load.eta_changed",
        at=horizon_start,
        subject_id=unload.load_id,
        payload={"eta": later.isoformat()},
    )
    child = replan(parent, [moved], horizon_start, time_limit_s=2.0)

    assert child.status in (PlanStatus.feasible, PlanStatus.heuristic)
    assert child.status_reason.startswith("time-limited (2 s)")
    assert len(child.tasks) >= len(parent.tasks) - 10
    assert child.timings["total_s"] < 4.0
    _assert_revision_trusted(child, parent)


# --------------------------------------------------------------------------
# Properties over random event sequences


_PEOPLE = ["c1", "c2", "b1", "b2"]
_CLOCKS = ["08:30", "09:00", "09:40", "10:15", "11:00", "13:00"]


@st.composite
def _disruptions(draw: st.DrawFn) -> tuple[int, list[tuple[str, str, int]]]:
    """A re-planning time and up to four events (kind, subject, minute)."""
    replan_at = draw(st.sampled_from(range(len(_CLOCKS))))
    kinds = st.sampled_from(["absent", "outage", "eta", "docs", "pin", "started"])
    events = draw(
        st.lists(
            st.tuples(kinds, st.integers(0, 5), st.integers(0, 120)),
            min_size=1,
            max_size=4,
        )
    )
    return replan_at, [(k, str(n), m) for k, n, m in events]


def _property_parent() -> Plan:
    request = site_request(
        staff=[clerk("c1"), clerk("c2"), broker("b1"), broker("b2")],
        loads=[{"id": f"L{i}", "eta": _iso(f"{9 + i}:00".zfill(5))} for i in range(3)],
        shipments=[
            shipment(
                f"s{i}",
                load_id=f"L{i % 3}",
                in_warehouse=False,
                documents_ready_at=_iso(f"{8 + i % 4}:{15 * (i % 4):02d}".zfill(5)),
                declaration_lines=10 * (i % 3),
                lane="physical" if i == 4 else None,
            )
            for i in range(6)
        ],
        doors=[{"id": "D1"}, {"id": "D2"}, {"id": "X1", "capabilities": ["exam"]}],
        time_limit_s=1.0,
    )
    return plan_tasks(request)


_PARENT: list[Plan] = []


def _events_of(
    parent: Plan, at_clock: str, drawn: list[tuple[str, str, int]]
) -> list[Event]:
    tasks = sorted(parent.tasks, key=lambda t: t.id)
    events: list[Event] = []
    for kind, number, minute in drawn:
        n = int(number)
        when = at(at_clock) - timedelta(minutes=1 + n)
        if kind == "absent":
            person = _PEOPLE[2 + n % 2] if n % 3 else _PEOPLE[n % 2]
            # Never both people of one role: someone must finish the work.
            if any(e.type == "person.absent" for e in events):
                continue
            start = at("08:00") + timedelta(minutes=4 * minute)
            events.append(
                Event(
                    type="person.absent",
                    at=when,
                    subject_id=person,
                    payload={"start": start.isoformat()},
                )
            )
        elif kind == "outage":
            start = at("08:00") + timedelta(minutes=3 * minute)
            end = start + timedelta(minutes=30 + minute)
            events.append(
                Event(
                    type="door.outage",
                    at=when,
                    subject_id=f"D{1 + n % 2}",
                    payload={"start": start.isoformat(), "end": end.isoformat()},
                )
            )
        elif kind == "eta":
            eta = at("09:00") + timedelta(minutes=3 * minute)
            events.append(
                Event(
                    type="load.eta_changed",
                    at=when,
                    subject_id=f"L{n % 3}",
                    payload={"eta": eta.isoformat()},
                )
            )
        elif kind == "docs":
            ready = at("08:00") + timedelta(minutes=3 * minute)
            events.append(
                Event(
                    type="shipment.documents_late",
                    at=when,
                    subject_id=f"s{n}",
                    payload={"documents_ready_at": ready.isoformat()},
                )
            )
        elif kind == "pin":
            events.append(
                Event(
                    type="task.pinned",
                    at=when,
                    subject_id=tasks[(n * 7 + minute) % len(tasks)].id,
                    payload={},
                )
            )
        else:
            before = [t for t in tasks if t.start < when]
            if before:
                task = before[(n + minute) % len(before)]
                events.append(
                    Event(
                        type="task.started",
                        at=when,
                        subject_id=task.id,
                        payload={"started_at": task.start.isoformat()},
                    )
                )
    return events


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_disruptions())
def test_replan_revisions_keep_frozen_and_pinned_and_diff_exactly(
    drawn: tuple[int, list[tuple[str, str, int]]],
) -> None:
    """Random disruptions: frozen and pinned tasks unchanged, the revision
    valid, the diff applied to the parent gives the child."""
    if not _PARENT:
        _PARENT.append(_property_parent())
    parent = _PARENT[0]
    at_clock = _CLOCKS[drawn[0]]
    events = _events_of(parent, at_clock, drawn[1])
    child = replan(parent, events, at(at_clock), time_limit_s=0.5)

    _assert_revision_trusted(child, parent)
    after = _by_id(child)
    for task in _untouched_before(parent, events, at(at_clock)):
        assert after[task.id] == task
    for task_id in child.pinned_task_ids:
        assert after[task_id] == _by_id(parent)[task_id]


def _untouched_before(parent: Plan, events: list[Event], when: Any) -> list[Any]:
    """Tasks planned before T whose shipment (with its truck) and whose
    people and doors no event mentions: these are frozen as planned."""
    concerned = {e.subject_id for e in events if e.type != "task.pinned"}
    load_of = {s.id: s.load_id for s in parent.request.shipments}
    touched: set[str] = set()
    for task in parent.tasks:
        keys = {task.id, task.shipment_id, task.load_id, task.person_id, task.door_id}
        if keys & concerned:
            touched |= {task.shipment_id or "", task.load_id or ""}
    for shipment_id, load_id in load_of.items():
        if load_id in touched:
            touched.add(shipment_id)
    return [
        task
        for task in parent.tasks
        if task.start < when
        and (task.shipment_id or task.load_id) not in touched
        and not ({task.id, task.person_id, task.door_id} & concerned)
    ]
