"""Tests of the re-plan routes against the real Redis: events posted as a
job, the worker writing the next revision, and the diff between revisions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from redis import Redis
from service_helpers import Processes, wait_status

from api.settings import ServiceSettings
from api.store import Store, plan_key
from scheduler.models import Plan
from scheduler.taskplan import plan_tasks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scheduler"))
from task_site import at, broker, clerk, shipment, site_request  # noqa: E402


def _stored_parent(settings: ServiceSettings) -> Plan:
    """A real task plan stored as revision 1, as a finished plan job leaves it:
    b1 and b2 alternate the declares of s0-s3 (09:00 onwards)."""
    request = site_request(
        staff=[clerk("c1"), broker("b1"), broker("b2")],
        shipments=[
            shipment(
                f"s{i}",
                documents_ready_at=at("09:00").isoformat(),
                declaration_lines=20,
            )
            for i in range(4)
        ],
        time_limit_s=2.0,
    )
    plan = plan_tasks(request).model_copy(update={"plan_id": "plan_replan_test"})
    redis = Redis.from_url(settings.redis_url)
    redis.hset(
        plan_key(plan.plan_id),
        mapping={"site_id": "HKG", "job_id": "job_x", "latest": "0", "created_at": "0"},
    )
    assert Store(redis, 60).add_revision(
        plan.plan_id, 1, plan.model_dump_json().encode()
    )
    redis.close()
    return plan


def test_service_replan_events_make_revision_2_with_its_diff(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    settings: ServiceSettings,
    processes: Processes,
    tmp_path: Path,
) -> None:
    """b1 absent from 09:30: a worker writes revision 2 with b1's later
    declares on b2; the diff route answers the stored patch."""
    parent = _stored_parent(settings)
    later = [
        t.id for t in parent.tasks if t.person_id == "b1" and t.start >= at("09:30")
    ]
    assert later
    processes.worker(settings, tmp_path / "worker.log")
    dispatcher = keys["dispatcher"]

    body = {
        "at": at("09:30").isoformat(),
        "events": [
            {
                "type": "person.absent",
                "at": at("09:20").isoformat(),
                "subject_id": "b1",
                "payload": {"start": at("09:30").isoformat()},
            }
        ],
    }
    response = client.post(
        f"/v1/plans/{parent.plan_id}/events",
        content=json.dumps(body),
        headers=dispatcher,
    )
    assert response.status_code == 202, response.text
    job = wait_status(
        client, dispatcher, response.json()["job_id"], {"succeeded", "failed"}, 30
    )
    assert (job["status"], job["revision"]) == ("succeeded", 2), job

    child = Plan.model_validate(
        client.get(f"/v1/plans/{parent.plan_id}", headers=dispatcher).json()
    )
    assert (child.revision, child.parent_revision) == (2, 1)
    assert all(t.person_id == "b2" for t in child.tasks if t.id in later)
    diff = client.get(
        f"/v1/plans/{parent.plan_id}/diff",
        params={"against": 1},
        headers=keys["planner"],
    )
    assert diff.status_code == 200
    assert {op["task_id"] for op in diff.json() if op["op"] == "reassign"} == set(later)


def test_service_replan_roles_and_bad_events(
    client: TestClient, keys: dict[str, dict[str, str]], settings: ServiceSettings
) -> None:
    """Only a dispatcher posts events; a planner reads diffs; an unknown event
    type is 422 naming the field; an unknown plan is 404."""
    parent = _stored_parent(settings)
    url = f"/v1/plans/{parent.plan_id}/events"
    good = {
        "at": at("10:00").isoformat(),
        "events": [
            {
                "type": "task.pinned",
                "at": at("09:00").isoformat(),
                "subject_id": parent.tasks[0].id,
            }
        ],
    }
    assert (
        client.post(url, content=json.dumps(good), headers=keys["planner"]).status_code
        == 403
    )
    assert (
        client.post(
            url, content=json.dumps(good), headers=keys["warehouse"]
        ).status_code
        == 403
    )
    bad = {**good, "events": [{**good["events"][0], "type": "truck.lost"}]}
    answer = client.post(url, content=json.dumps(bad), headers=keys["dispatcher"])
    assert answer.status_code == 422 and "events[0].type" in answer.text
    missing = client.post(
        "/v1/plans/plan_nope/events",
        content=json.dumps(good),
        headers=keys["dispatcher"],
    )
    assert missing.status_code == 404
    same = client.get(
        f"/v1/plans/{parent.plan_id}/diff",
        params={"against": 1},
        headers=keys["planner"],
    )
    assert same.status_code == 200 and same.json() == []
