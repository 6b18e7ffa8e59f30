"""Tests of the greedy task plan on small sites worked out by hand.

The site (see `task_site`): Hong Kong, Tue 2025-11-11, everyone on the
08:00-16:00 day shift with a 12:00-12:30 break, default labour standards.
"""

from __future__ import annotations

import time

from task_site import at, broker, clerk, shipment, site_request

from scheduler.models import Task, TaskKind
from scheduler.task_greedy import greedy_tasks


def _by_id(tasks: list[Task]) -> dict[str, Task]:
    return {task.id: task for task in tasks}


def test_greedy_back_to_back_unloadings_at_14_do_not_overlap() -> None:
    """Two trucks due at 14:00 at one door unload 14:00-14:12 and 14:12-14:24."""
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

    tasks, unscheduled = greedy_tasks(request)

    tasks_by_id = _by_id(tasks)
    # unload: 10 + 2 x 1 pallet = 12 min; same priority and deadline, so
    # shipment id order.
    first, second = tasks_by_id["LA:unload"], tasks_by_id["LB:unload"]
    assert (first.start, first.end) == (at("14:00"), at("14:12"))
    assert (second.start, second.end) == (at("14:12"), at("14:24"))
    assert first.door_id == second.door_id == "D1"
    assert unscheduled == []


def test_greedy_task_never_straddles_the_brokers_break() -> None:
    """A 20-min declaration ready at 11:50 waits for 12:30 under no_straddle."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        # review 6 + 0.25 x 20 = 11 min from 11:39 ends 11:50; declare
        # 10 + 0.5 x 20 = 20 min.
        shipments=[
            shipment(
                "S1", documents_ready_at=at("11:39").isoformat(), declaration_lines=20
            )
        ],
    )

    tasks, _ = greedy_tasks(request)

    tasks_by_id = _by_id(tasks)
    assert (tasks_by_id["S1:review"].start, tasks_by_id["S1:review"].end) == (
        at("11:39"),
        at("11:50"),
    )
    declare = tasks_by_id["S1:declare"]
    assert (declare.start, declare.end) == (at("12:30"), at("12:50"))
    assert declare.pauses == []


def test_greedy_pauses_over_the_break_under_policy_pause() -> None:
    """Under policy pause the same declaration runs 11:50-12:40 around the break."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        shipments=[
            shipment(
                "S1", documents_ready_at=at("11:39").isoformat(), declaration_lines=20
            )
        ],
        breaks="pause",
    )

    tasks, _ = greedy_tasks(request)

    declare = _by_id(tasks)["S1:declare"]
    assert (declare.start, declare.end) == (at("11:50"), at("12:40"))
    assert declare.work_min == 20
    assert [(p.start, p.end) for p in declare.pauses] == [(at("12:00"), at("12:30"))]


def test_greedy_unscheduled_without_a_licensed_broker_on_shift() -> None:
    """A pharma shipment with only general-licensed brokers is no_licensed_broker."""
    request = site_request(
        staff=[clerk("c1"), broker("b1", commodities=["general"])],
        shipments=[shipment("S1", commodity="pharma"), shipment("S2")],
    )

    tasks, unscheduled = greedy_tasks(request)

    assert [(u.shipment_id, u.reason) for u in unscheduled] == [
        ("S1", "no_licensed_broker")
    ]
    assert "pharma" in unscheduled[0].detail
    assert not any(task.shipment_id == "S1" for task in tasks)
    assert "S2:declare" in _by_id(tasks)


def test_greedy_unscheduled_without_a_clerk_speaking_the_language() -> None:
    """A shipment in Korean with no Korean-speaking clerk is no_clerk."""
    request = site_request(
        staff=[clerk("c1", languages=["en"]), broker("b1")],
        shipments=[shipment("S1", language="ko")],
    )

    _, unscheduled = greedy_tasks(request)

    assert [(u.shipment_id, u.reason) for u in unscheduled] == [("S1", "no_clerk")]


def test_greedy_unscheduled_without_a_capable_door() -> None:
    """A cold-chain truck at a site without a cold-chain door is no_capable_door."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        loads=[
            {"id": "L1", "eta": at("09:00").isoformat(), "requirements": ["cold_chain"]}
        ],
        shipments=[shipment("S1", load_id="L1", in_warehouse=False)],
    )

    tasks, unscheduled = greedy_tasks(request)

    assert [(u.shipment_id, u.reason) for u in unscheduled] == [
        ("S1", "no_capable_door")
    ]
    assert tasks == []


def test_greedy_unscheduled_when_the_day_is_full() -> None:
    """Two 220-min declarations for one broker: the second has no_time_left."""
    reviewed = {"done_tasks": ["review"], "declaration_lines": 420}
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        # declare 10 + 0.5 x 420 lines = 220 min: 08:00-11:40 for S1; the
        # afternoon 12:30-16:00 has 210 min, too short for S2.
        shipments=[
            shipment("S1", priority="express", **reviewed),
            shipment("S2", **reviewed),
        ],
    )

    _, unscheduled = greedy_tasks(request)

    assert [(u.shipment_id, u.reason) for u in unscheduled] == [("S2", "no_time_left")]


def test_greedy_exam_never_before_its_goods_are_unloaded() -> None:
    """An exam starts when the truck's unload ends (13:00-13:12), not before."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        loads=[{"id": "L1", "eta": at("13:00").isoformat()}],
        shipments=[
            shipment(
                "S1",
                load_id="L1",
                in_warehouse=False,
                lane="physical",
                documents_ready_at=at("08:00").isoformat(),
            )
        ],
    )

    tasks, unscheduled = greedy_tasks(request)

    tasks_by_id = _by_id(tasks)
    unload, exam = tasks_by_id["L1:unload"], tasks_by_id["S1:exam"]
    assert unscheduled == []
    assert unload.end == at("13:12")
    # declare 08:06-08:16 + 20 min customs is long past; the goods decide.
    assert exam.start == at("13:12")
    assert (exam.door_id, exam.person_id) == ("X1", "b1")
    # exam: 30 + 5 x 1 pallet = 35 min.
    assert exam.end == at("13:47")


def test_greedy_c11_inspection_waits_for_the_end_of_the_break() -> None:
    """C-11 no interruption: a 90-min exam possible from 11:30 runs 12:30-14:00."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        shipments=[_c11_shipment()],
    )

    tasks, _ = greedy_tasks(request)

    exam = _by_id(tasks)["S1:exam"]
    assert (exam.start, exam.end) == (at("12:30"), at("14:00"))
    assert exam.work_min == 90
    assert exam.pauses == []


def test_greedy_c11_inspection_pauses_over_the_break() -> None:
    """C-11 pause over breaks: the exam runs 11:30-13:30, paused 12:00-12:30."""
    request = site_request(
        staff=[clerk("c1"), broker("b1")],
        shipments=[_c11_shipment()],
        breaks="pause",
    )

    tasks, _ = greedy_tasks(request)

    exam = _by_id(tasks)["S1:exam"]
    assert (exam.start, exam.end) == (at("11:30"), at("13:30"))
    assert exam.work_min == 90
    assert [(p.start, p.end) for p in exam.pauses] == [(at("12:00"), at("12:30"))]


def _c11_shipment() -> dict[str, object]:
    """An exam of 30 + 5 x 12 pallets = 90 min, appointment from 11:30."""
    return shipment(
        "S1",
        lane="physical",
        pallets=12,
        done_tasks=[TaskKind.review.value, TaskKind.declare.value],
        exam_window={"start": at("11:30").isoformat(), "end": at("15:00").isoformat()},
    )


def test_greedy_places_a_chain_in_order() -> None:
    """Review, compliance, declare and respond follow one another with customs time."""
    request = site_request(
        staff=[clerk("c1"), broker("b1", skills=["compliance"])],
        shipments=[
            shipment(
                "S1",
                compliance_required=True,
                lane="documentary",
                documents=2,
                declaration_lines=4,
            )
        ],
    )

    tasks, _ = greedy_tasks(request)

    spans = {t.kind: (t.start, t.end) for t in tasks}
    # review 6 + 4 + 1 = 11; compliance 15 + 2 = 17 (by the broker, who
    # holds the skill); declare 10 + 2 = 12; respond 20 + 4 = 24 after 20 min.
    assert spans[TaskKind.review] == (at("08:00"), at("08:11"))
    assert spans[TaskKind.compliance] == (at("08:11"), at("08:28"))
    assert spans[TaskKind.declare] == (at("08:28"), at("08:40"))
    assert spans[TaskKind.respond] == (at("09:00"), at("09:24"))


def test_greedy_serves_express_before_standard() -> None:
    """With one broker, the express declaration goes first whatever the id order."""
    request = site_request(
        staff=[clerk("c1"), clerk("c2"), broker("b1")],
        shipments=[
            shipment("A-standard", declaration_lines=20),
            shipment("B-express", priority="express", declaration_lines=20),
        ],
    )

    tasks, _ = greedy_tasks(request)

    tasks_by_id = _by_id(tasks)
    # Reviews (6 + 0.25 x 20 = 11 min) run in parallel on two clerks
    # 08:00-08:11; declarations take 20 min each.
    assert tasks_by_id["B-express:declare"].start == at("08:11")
    assert tasks_by_id["A-standard:declare"].start == at("08:31")


def test_greedy_places_eight_thousand_shipments_in_seconds() -> None:
    """8,000 shipments and 300 staff: index and greedy plan take a few seconds."""
    staff = [clerk(f"c{i:03d}") for i in range(150)] + [
        broker(f"b{i:03d}") for i in range(150)
    ]
    shipments = [
        shipment(
            f"S{i:04d}",
            documents_ready_at=at(
                f"{8 + (i % 420) // 60:02d}:{(i % 420) % 60:02d}"
            ).isoformat(),
            priority=("express", "standard", "deferred")[i % 3],
            documents=2,
            declaration_lines=6,
        )
        for i in range(8_000)
    ]
    request = site_request(staff=staff, shipments=shipments)

    started = time.perf_counter()
    tasks, unscheduled = greedy_tasks(request)
    elapsed = time.perf_counter() - started

    assert len(tasks) + 2 * len(unscheduled) == 2 * 8_000
    # Measured 1.9 s on the 2-core development machine; CI gets headroom.
    assert elapsed < 10.0
