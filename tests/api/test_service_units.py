"""Pieces of the service on their own: settings, Accept, dock documents, fencing."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from redis import Redis
from service_helpers import small_request
from solve_doubles import make_plan

from api.dock_documents import choose_format, documents, etag_of, slots_by_date
from api.jobs import settle_cancelled
from api.settings import ServiceSettings, SettingsError, load_settings
from api.store import JobStatus, Store
from scheduler.models import PlanStatus, Request


def test_settings_refuse_unsafe_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """A memory cap under 1 GiB and a non-Redis URL are refused, naming the
    variables."""
    monkeypatch.setenv("CLEARPLAN_JOB_MEMORY_BYTES", str(256 * 1024**2))
    monkeypatch.setenv("CLEARPLAN_REDIS_URL", "http://localhost:6379")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert "CLEARPLAN_JOB_MEMORY_BYTES: Input should be greater than or equal to" in (
        message
    )
    assert "CLEARPLAN_REDIS_URL: must start with redis://" in message


def test_settings_queue_timeout_and_lost_bound_are_derived() -> None:
    """Queue timeout = ceil(time limit) + margin; the lost-worker bound is
    four heartbeats."""
    settings = ServiceSettings(queue_timeout_margin_s=120, worker_heartbeat_s=10)
    assert settings.queue_timeout_s(300) == 420
    assert settings.queue_timeout_s(29.2) == 150
    assert settings.worker_lost_bound_s == 40
    assert ServiceSettings().max_body_bytes == 32 * 1024 * 1024


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "json"),
        ("text/csv", "csv"),
        ("application/json;q=0.5, text/csv", "csv"),
        ("text/csv;q=0.2, application/json;q=0.9", "json"),
        ("*/*", "json"),
        ("text/html", None),
        ("text/csv;q=0", None),
    ],
)
def test_dock_documents_accept_chooses_json_or_csv(
    accept: str | None, chosen: str | None
) -> None:
    """Accept picks the representation by quality, JSON by default."""
    assert choose_format(accept) == chosen


def test_dock_documents_slot_over_midnight_is_on_both_dates() -> None:
    """A 23:30-00:30 unload shows on both local dates; one 10:00-11:00 on one;
    every date has a JSON and a CSV body with its ETag."""
    request = Request.model_validate(small_request())
    plan = make_plan(request, PlanStatus.optimal, 1, 1)
    by_date = slots_by_date(plan)
    assert [slot["load_id"] for slot in by_date[date(2025, 11, 11)]] == ["L1", "L2"]
    assert [slot["load_id"] for slot in by_date[date(2025, 11, 12)]] == ["L2"]
    fields = documents(plan)
    assert sorted(fields) == sorted(
        f"{day}|{fmt}|{part}"
        for day in ("2025-11-11", "2025-11-12")
        for fmt in ("json", "csv")
        for part in ("body", "etag")
    )
    body = fields["2025-11-12|json|body"]
    assert json.loads(body)["slots"][0]["start"] == "2025-11-11T23:30:00+08:00"
    assert fields["2025-11-12|json|etag"] == etag_of(body)


RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")


def test_dock_documents_instants_are_rfc3339_with_seconds() -> None:
    """Every slot window, in JSON and in CSV, is an RFC 3339 instant with
    its seconds (a strict parser refuses 2025-11-11T23:30+08:00)."""
    plan = make_plan(Request.model_validate(small_request()), PlanStatus.optimal, 1, 1)
    fields = documents(plan)
    instants = [
        slot[edge]
        for day in ("2025-11-11", "2025-11-12")
        for slot in json.loads(fields[f"{day}|json|body"])["slots"]
        for edge in ("start", "end")
    ]
    for day in ("2025-11-11", "2025-11-12"):
        rows = fields[f"{day}|csv|body"].decode().splitlines()[1:]
        instants += [cell for row in rows for cell in row.split(",")[3:5]]
    assert len(instants) == 12
    assert [text for text in instants if not RFC3339.fullmatch(text)] == []


def test_settle_cancelled_never_says_optimal_without_proof() -> None:
    """After a cancel, a plan is optimal only when its bound equals its
    objective; anything else is cancelled."""
    request = Request.model_validate(small_request())
    unproven = make_plan(request, PlanStatus.optimal, 120, 100)
    proven = make_plan(request, PlanStatus.feasible, 100, 100)
    settled = json.loads(settle_cancelled(unproven.model_dump_json().encode()))
    assert settled["status"] == "cancelled"
    assert (
        json.loads(settle_cancelled(proven.model_dump_json().encode()))["status"]
        == "optimal"
    )


def test_store_attempt_writes_are_fenced(redis_url: str) -> None:
    """Once an attempt is superseded, its heartbeat and result are refused,
    and a published pointer swaps in one step."""
    store = Store(Redis.from_url(redis_url), 60)
    pipe = store.redis.pipeline()
    store.create_plan_job(
        pipe,
        job_id="j1",
        plan_id="p1",
        site_id="S",
        request_json=b"{}",
        input_hash="h",
        time_limit_s=1.0,
        queue_timeout_s=3,
    )
    pipe.execute()
    assert store.start_attempt("j1", 1) == "ok"
    assert store.start_attempt("j1", 1) == "running"
    assert store.requeue_attempt("j1", 1, "worker lost", lambda pipe, n: None)
    assert store.beat("j1", "p1", 1) == "fenced"
    answer = store.finish_attempt("j1", "p1", 1, JobStatus.succeeded, plan_json=b"{}")
    assert answer == "fenced"
    assert store.plan_json("p1", 1) is None
    assert store.start_attempt("j1", 2) == "ok"
    assert store.finish_attempt(
        "j1", "p1", 2, JobStatus.succeeded, plan_json=b"{}"
    ) == ("ok")
    assert store.plan_json("p1", 1) == b"{}" and store.latest_revision("p1") == 1
    store.publish("S", "p1", 1, {"2025-11-11|json|body": b"[]"})
    assert store.published("S") == ("p1", 1)
    assert store.dock_document("S", "2025-11-11|json") == ("p1:1", b"[]", b"")
