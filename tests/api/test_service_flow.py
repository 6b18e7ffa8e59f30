"""The whole flow through the service: post, poll, read, publish, poll the dock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from service_helpers import (
    SITE,
    Processes,
    finish_with_double,
    post_plan,
    small_request,
    wait_status,
)

from api.settings import ServiceSettings


def _publish_and_read(
    client: TestClient, keys: dict[str, dict[str, str]], plan_id: str
) -> dict[str, Any]:
    response = client.post(f"/v1/plans/{plan_id}/publish", headers=keys["dispatcher"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_service_flow_post_poll_publish_dock_schedule(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    settings: ServiceSettings,
    processes: Processes,
    tmp_path: Path,
) -> None:
    """A plan asked for over HTTP is solved by a worker, published, and its
    dock schedule served with ETag and 304, a cross-midnight truck on both
    dates and no staff name anywhere in it."""
    processes.worker(settings, tmp_path / "worker.log")
    dispatcher = keys["dispatcher"]

    # Step 1: 202 at once, then the job runs to success.
    submitted = post_plan(client, dispatcher, "quick")
    assert submitted["status"] == "queued"
    job = wait_status(client, dispatcher, submitted["job_id"], {"succeeded"}, 20)
    assert job["plan_id"] == submitted["plan_id"]
    assert job["revision"] == 1
    assert job["attempt"] == 1

    # Step 2: the plan and its parts.
    plan_id = submitted["plan_id"]
    plan = client.get(f"/v1/plans/{plan_id}", headers=dispatcher).json()
    assert plan["plan_id"] == plan_id and plan["revision"] == 1
    assert plan["status"] == "optimal"
    tasks = client.get(
        f"/v1/plans/{plan_id}/tasks", params={"door": "D2"}, headers=dispatcher
    ).json()
    assert [task["id"] for task in tasks] == ["L2:unload"]
    roster = client.get(f"/v1/plans/{plan_id}/roster", headers=dispatcher).json()
    assert sorted(shift["id"] for shift in roster) == [
        "b1:2025-11-11:day",
        "c1:2025-11-11:day",
    ]
    kpis = client.get(f"/v1/plans/{plan_id}/kpis", headers=dispatcher).json()
    assert (kpis["objective"]["total"], kpis["bound"], kpis["gap"]) == (100, 100, 0.0)

    # Step 3: publish; the truck at 23:30-00:30 is on the 11th and the 12th.
    published = _publish_and_read(client, keys, plan_id)
    assert published == {
        "site_id": SITE,
        "plan_id": plan_id,
        "revision": 1,
        "dates": ["2025-11-11", "2025-11-12"],
    }
    url = f"/v1/sites/{SITE}/dock-schedule"
    warehouse = keys["warehouse"]
    first = client.get(url, params={"date": "2025-11-11"}, headers=warehouse)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    slots = first.json()["slots"]
    assert [(s["door_id"], s["load_id"], s["start"], s["end"]) for s in slots] == [
        ("D1", "L1", "2025-11-11T10:00:00+08:00", "2025-11-11T11:00:00+08:00"),
        ("D2", "L2", "2025-11-11T23:30:00+08:00", "2025-11-12T00:30:00+08:00"),
    ]
    assert slots[1]["shipment_ids"] == ["S2"] and slots[1]["pallets"] == 2
    second_day = client.get(url, params={"date": "2025-11-12"}, headers=warehouse)
    assert [s["load_id"] for s in second_day.json()["slots"]] == ["L2"]
    for text in (first.text, second_day.text):
        assert "Chan" not in text and "Wong" not in text and "b1" not in text

    # Step 4: 304 while unchanged, also after publishing the same plan again.
    etag = first.headers["etag"]
    again = client.get(
        url,
        params={"date": "2025-11-11"},
        headers={**warehouse, "If-None-Match": etag},
    )
    assert again.status_code == 304 and again.content == b""
    _publish_and_read(client, keys, plan_id)
    still = client.get(
        url,
        params={"date": "2025-11-11"},
        headers={**warehouse, "If-None-Match": etag},
    )
    assert still.status_code == 304

    # Step 5: CSV by Accept, with its own ETag.
    as_csv = client.get(
        url, params={"date": "2025-11-12"}, headers={**warehouse, "Accept": "text/csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines() == [
        "door_id,load_id,kind,start,end,shipment_ids,pallets",
        "D2,L2,unload,2025-11-11T23:30:00+08:00,2025-11-12T00:30:00+08:00,S2,2",
    ]
    assert as_csv.headers["etag"] != second_day.headers["etag"]

    # Step 6: a date with no slot is an empty schedule, not an error.
    empty = client.get(url, params={"date": "2025-11-20"}, headers=warehouse)
    assert empty.json() == {"site_id": SITE, "date": "2025-11-20", "slots": []}


def test_service_flow_shifts_as_icalendar(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    settings: ServiceSettings,
    processes: Processes,
    tmp_path: Path,
) -> None:
    """A person's shifts come as iCalendar events in UTC without their name."""
    processes.worker(settings, tmp_path / "worker.log")
    planner = keys["planner"]
    submitted = post_plan(client, keys["dispatcher"], "quick")
    wait_status(client, planner, submitted["job_id"], {"succeeded"}, 20)

    response = client.get(
        f"/v1/plans/{submitted['plan_id']}/people/b1/shifts.ics", headers=planner
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    text = response.text.replace("\r\n ", "")
    # 08:00-16:00 in Hong Kong (UTC+8) is 00:00-08:00 UTC.
    assert "DTSTART:20251111T000000Z" in text
    assert "DTEND:20251111T080000Z" in text
    assert f"UID:b1:2025-11-11:day@{submitted['plan_id']}.clearplan" in text
    assert "Chan" not in text
    missing = client.get(
        f"/v1/plans/{submitted['plan_id']}/people/nobody/shifts.ics", headers=planner
    )
    assert missing.status_code == 404


def test_service_flow_idempotency_key_returns_first_job_or_409(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """The same Idempotency-Key and body give the first job; another body, 409."""
    headers = {**keys["dispatcher"], "Idempotency-Key": "order-7"}
    body = json.dumps(small_request("quick"))
    first = client.post("/v1/plans", content=body, headers=headers)
    repeat = client.post("/v1/plans", content=body, headers=headers)
    assert first.status_code == repeat.status_code == 202
    assert repeat.json()["job_id"] == first.json()["job_id"]
    assert repeat.json()["plan_id"] == first.json()["plan_id"]
    assert repeat.json()["reused"] is True

    other = json.dumps(small_request("sleep:1"))
    conflict = client.post("/v1/plans", content=other, headers=headers)
    assert conflict.status_code == 409
    assert "Idempotency-Key" in conflict.json()["detail"]
    jobs = client.get("/v1/jobs", headers=keys["dispatcher"]).json()["jobs"]
    assert len(jobs) == 1


def test_service_flow_invalid_request_names_the_field(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """A bad request is refused with 422 naming each field and its rule."""
    request = small_request()
    request["loads"][0]["eta"] = "2025-11-11T10:00"
    request["staff"][1]["role"] = "pilot"
    response = client.post(
        "/v1/plans", content=json.dumps(request), headers=keys["dispatcher"]
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(line.startswith("staff[1].role:") for line in errors)
    assert any(
        line.startswith("loads[0].eta: must be an RFC 3339 instant") for line in errors
    )
    bad_date = client.get(
        f"/v1/sites/{SITE}/dock-schedule",
        params={"date": "11/11/2025"},
        headers=keys["warehouse"],
    )
    assert bad_date.status_code == 422
    assert bad_date.json()["errors"][0].startswith("date:")


def test_service_flow_body_not_declared_json_is_415(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """A body sent as text or a form is refused with 415 naming the header;
    JSON with a charset, a +json type or no Content-Type at all is read."""
    body = json.dumps(small_request())
    for declared in ("text/plain", "application/x-www-form-urlencoded"):
        refused = client.post(
            "/v1/plans",
            content=body,
            headers={**keys["dispatcher"], "Content-Type": declared},
        )
        assert refused.status_code == 415
        assert refused.json()["detail"] == (
            f"Content-Type: must be application/json, not '{declared}'"
        )
    for accepted in ("application/json; charset=utf-8", "application/ld+json", None):
        headers = dict(keys["dispatcher"])
        if accepted is not None:
            headers["Content-Type"] = accepted
        assert client.post("/v1/plans", content=body, headers=headers).status_code == (
            202
        )


def test_service_flow_dock_schedule_checks_the_key_before_the_date(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """Without a key a bad date is 401, with another site's key 403; with
    the site's key only a YYYY-MM-DD date is read (not 20251111 or
    2025-W46-2, which Python's ISO parser would take)."""
    url = f"/v1/sites/{SITE}/dock-schedule"
    assert client.get(url, params={"date": "bad"}).status_code == 401
    other = client.get(url, params={"date": "bad"}, headers=keys["warehouse_other"])
    assert other.status_code == 403
    for text in ("20251111", "2025-W46-2", "2025-11-1", "2025-11-31"):
        refused = client.get(url, params={"date": text}, headers=keys["warehouse"])
        assert refused.status_code == 422
        assert refused.json()["errors"] == [
            f"date: '{text}' is not a local date YYYY-MM-DD"
        ]


def test_service_flow_unknown_ids_are_404(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """Unknown plans, revisions, jobs and unpublished sites answer 404."""
    admin = keys["admin"]
    submitted = post_plan(client, admin, "quick")
    assert client.get("/v1/plans/plan_nope", headers=admin).status_code == 404
    waiting = client.get(f"/v1/plans/{submitted['plan_id']}", headers=admin)
    assert waiting.status_code == 404
    assert "no revision yet" in waiting.json()["detail"]
    assert client.get("/v1/jobs/job_nope", headers=admin).status_code == 404
    dock = client.get(
        "/v1/sites/NOWHERE/dock-schedule", params={"date": "2025-11-11"}, headers=admin
    )
    assert dock.status_code == 404


def test_service_flow_openapi_carries_the_formats(client: TestClient) -> None:
    """The OpenAPI document holds the request, plan and event schemas, the
    plan POST's body is the request schema, and every route is secured."""
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in ("Request", "Plan", "Event", "EventBatch", "JobView"):
        assert name in schemas, name
    post = document["paths"]["/v1/plans"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Request"}
    assert post["operationId"] == "post_plan"
    dock = document["paths"]["/v1/sites/{site_id}/dock-schedule"]["get"]
    assert dock["security"] == [{"HTTPBearer": []}]
    assert {p["name"] for p in dock["parameters"]} == {
        "site_id",
        "date",
        "Accept",
        "If-None-Match",
    }


def test_service_flow_jobs_filter_by_status_and_metrics(
    client: TestClient, keys: dict[str, dict[str, str]], settings: ServiceSettings
) -> None:
    """Listing filters by status, and /metrics counts requests and jobs."""
    admin = keys["admin"]
    done = post_plan(client, admin, "quick")
    waiting = post_plan(client, admin, "quick")
    finish_with_double(settings, done["job_id"])

    def listed(status: str) -> list[str]:
        answer = client.get("/v1/jobs", params={"status": status}, headers=admin)
        return [job["job_id"] for job in answer.json()["jobs"]]

    assert listed("succeeded") == [done["job_id"]]
    assert listed("queued") == [waiting["job_id"]]
    assert listed("failed") == []

    metrics = client.get("/metrics", headers=admin)
    assert metrics.status_code == 200
    assert 'clearplan_jobs{status="succeeded"} 1.0' in metrics.text
    assert 'clearplan_jobs{status="queued"} 1.0' in metrics.text
    posted = 'method="POST",route="/v1/plans",status="202"'
    assert f"clearplan_http_requests_total{{{posted}}} 2.0" in metrics.text


def test_service_flow_metrics_name_the_dock_schedule_route(
    client: TestClient, keys: dict[str, dict[str, str]], settings: ServiceSettings
) -> None:
    """Dock-schedule polls (a plain Starlette route) are counted under their
    route template, not as "unmatched"; an unknown path still is."""
    submitted = post_plan(client, keys["dispatcher"], "quick")
    finish_with_double(settings, submitted["job_id"])
    _publish_and_read(client, keys, submitted["plan_id"])
    url = f"/v1/sites/{SITE}/dock-schedule"
    warehouse = keys["warehouse"]
    first = client.get(url, params={"date": "2025-11-11"}, headers=warehouse)
    etag = first.headers["etag"]
    for _ in range(2):
        again = client.get(
            url,
            params={"date": "2025-11-11"},
            headers={**warehouse, "If-None-Match": etag},
        )
        assert again.status_code == 304
    assert client.get("/no/such/path").status_code == 404

    text = client.get("/metrics", headers=keys["admin"]).text
    dock = 'method="GET",route="/v1/sites/{site_id}/dock-schedule"'
    assert f'clearplan_http_requests_total{{{dock},status="200"}} 1.0' in text
    assert f'clearplan_http_requests_total{{{dock},status="304"}} 2.0' in text
    unmatched = 'method="GET",route="unmatched",status="404"'
    assert f"clearplan_http_requests_total{{{unmatched}}} 1.0" in text
