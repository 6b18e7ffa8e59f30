"""Jobs through real workers: cancel, timeouts, memory, lost workers, expiry.

Cases C-03, C-04 (b), C-12, C-15, C-16 and C-18 of the failure catalogue,
scaled down here; the full-size runs are marked slow.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq.job import Job
from service_helpers import (
    Processes,
    job_status,
    post_plan,
    service_settings,
    small_request,
    wait_for,
    wait_status,
)

from api.app import create_app
from api.settings import ServiceSettings

FINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture
def make_client() -> Iterator[object]:
    """Start an app with given settings; closed after the test."""
    opened: list[TestClient] = []

    def make(settings: ServiceSettings) -> TestClient:
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _wait_running(client: TestClient, headers: dict[str, str], job_id: str) -> dict:
    """Wait until the job runs and has reported a first solution."""

    def first_solution() -> dict | None:
        job = job_status(client, headers, job_id)
        return job if job["best_objective"] is not None else None

    return wait_for(first_solution, 20, 0.05)


@pytest.mark.parametrize(
    "after_first_s", [0.5, pytest.param(3.0, marks=pytest.mark.slow)]
)
def test_service_jobs_cancel_after_first_solution_is_cancelled_not_optimal(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    settings: ServiceSettings,
    processes: Processes,
    tmp_path: Path,
    after_first_s: float,
) -> None:
    """C-03: a real CP-SAT search cancelled after its first solution comes
    back `cancelled` with objective, bound and gap, and not optimal."""
    processes.worker(settings, tmp_path / "worker.log")
    dispatcher = keys["dispatcher"]
    submitted = post_plan(client, dispatcher, "cpsat:40", time_limit_s=60)
    _wait_running(client, dispatcher, submitted["job_id"])
    time.sleep(after_first_s)

    response = client.delete(f"/v1/jobs/{submitted['job_id']}", headers=dispatcher)
    assert response.status_code == 202 and response.json()["status"] == "cancelling"
    job = wait_status(client, dispatcher, submitted["job_id"], FINAL, 5)
    assert job["status"] == "cancelled" and job["force_stopped"] is False

    plan = client.get(f"/v1/plans/{submitted['plan_id']}", headers=dispatcher).json()
    assert plan["status"] == "cancelled"
    objective, bound = plan["objective"]["total"], plan["bound"]
    # Weighted tardiness of 40 jobs: far from proven within seconds.
    assert bound is not None and 0 <= bound < objective
    assert plan["gap"] == pytest.approx((objective - bound) / objective)
    again = client.delete(f"/v1/jobs/{submitted['job_id']}", headers=dispatcher)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("script", "force_stopped", "objective"),
    [("sleep:30", False, None), ("stubborn:30", True, 500)],
)
def test_service_jobs_cancel_half_a_second_after_start_within_5_s(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    settings: ServiceSettings,
    processes: Processes,
    tmp_path: Path,
    script: str,
    force_stopped: bool,
    objective: int | None,
) -> None:
    """C-04 (b): a cancel 0.5 s after the start takes effect within 5 s; a
    solver that ignores it is killed and the job says force-stopped, keeping
    the incumbent it had reported."""
    processes.worker(settings, tmp_path / "worker.log")
    dispatcher = keys["dispatcher"]
    submitted = post_plan(client, dispatcher, script, time_limit_s=60)
    wait_status(client, dispatcher, submitted["job_id"], {"running"}, 20)
    time.sleep(0.5)

    cancelled_at = time.monotonic()
    client.delete(f"/v1/jobs/{submitted['job_id']}", headers=dispatcher)
    job = wait_status(client, dispatcher, submitted["job_id"], FINAL, 5)
    assert time.monotonic() - cancelled_at < 5
    assert job["status"] == "cancelled"
    assert job["force_stopped"] is force_stopped
    plan = client.get(f"/v1/plans/{submitted['plan_id']}", headers=dispatcher).json()
    assert plan["status"] == "cancelled"
    if objective is not None:
        assert plan["objective"]["total"] == objective


def test_service_jobs_cancel_of_a_queued_job_is_immediate(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """A job cancelled before any worker took it ends at once, with no plan."""
    dispatcher = keys["dispatcher"]
    submitted = post_plan(client, dispatcher, "quick")
    response = client.delete(f"/v1/jobs/{submitted['job_id']}", headers=dispatcher)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    job = job_status(client, dispatcher, submitted["job_id"])
    assert job["status"] == "cancelled"
    assert job["reason"] == "cancelled before it started"


@pytest.mark.parametrize(
    ("ttl_s", "early_s", "late_s"),
    [(2, 0.5, 3.0), pytest.param(60, 30.0, 120.0, marks=pytest.mark.slow)],
)
def test_service_jobs_expired_job_is_410_and_its_plan_stays(
    redis_url: str,
    keys: dict[str, dict[str, str]],
    processes: Processes,
    make_client,
    tmp_path: Path,
    ttl_s: int,
    early_s: float,
    late_s: float,
) -> None:
    """C-16: a finished job reads with its plan before its TTL, 410 after,
    is left out of the list, and the plan is still readable."""
    settings = service_settings(redis_url, job_result_ttl_s=ttl_s)
    client = make_client(settings)
    processes.worker(settings, tmp_path / "worker.log")
    dispatcher = keys["dispatcher"]
    submitted = post_plan(client, dispatcher, "quick")
    job = wait_status(client, dispatcher, submitted["job_id"], FINAL, 20)
    finished = time.monotonic()

    time.sleep(max(0.0, early_s - (time.monotonic() - finished)))
    early = job_status(client, dispatcher, submitted["job_id"])
    assert early["status"] == "succeeded" and early["revision"] == 1
    plan = client.get(f"/v1/plans/{submitted['plan_id']}", headers=dispatcher)
    assert plan.status_code == 200 and plan.json()["objective"]["total"] == 100

    time.sleep(max(0.0, late_s - (time.monotonic() - finished)))
    late = client.get(f"/v1/jobs/{submitted['job_id']}", headers=dispatcher)
    assert late.status_code == 410
    assert late.json()["detail"] == f"job '{submitted['job_id']}' has expired"
    listed = client.get("/v1/jobs", headers=dispatcher)
    assert listed.status_code == 200 and listed.json()["jobs"] == []
    kept = client.get(f"/v1/plans/{submitted['plan_id']}", headers=dispatcher)
    assert kept.status_code == 200 and kept.json()["plan_id"] == job["plan_id"]


def test_service_jobs_queue_timeout_is_derived_from_the_time_limit(
    redis_url: str, keys: dict[str, dict[str, str]], make_client
) -> None:
    """C-18: a 300 s time limit gives a 420 s queue timeout (margin 120 s),
    and RQ's own timeout is later still, never RQ's default 180 s."""
    settings = service_settings(redis_url, queue_timeout_margin_s=120)
    client = make_client(settings)
    submitted = post_plan(client, keys["dispatcher"], "quick", time_limit_s=300)
    job = job_status(client, keys["dispatcher"], submitted["job_id"])
    assert job["queue_timeout_s"] == 420
    rq_job = Job.fetch(f"{submitted['job_id']}-1", connection=Redis.from_url(redis_url))
    # 420 s, the 1 s stop grace of the test settings, 30 s to save the plan.
    assert rq_job.timeout == 451


@pytest.mark.parametrize(
    ("script", "force_stopped", "objective"),
    [("sleep:100", False, None), ("stubborn:100", True, 500)],
)
def test_service_jobs_overrun_fails_with_timeout_keeping_the_plan(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    settings: ServiceSettings,
    processes: Processes,
    tmp_path: Path,
    script: str,
    force_stopped: bool,
    objective: int | None,
) -> None:
    """C-18: a solve that overruns its queue timeout (1 s limit + 2 s margin)
    fails with reason "timeout" and keeps the plan it had: the one returned
    after the stop, or the saved incumbent of a solver that had to be killed."""
    processes.worker(settings, tmp_path / "worker.log")
    dispatcher = keys["dispatcher"]
    submitted = post_plan(client, dispatcher, script, time_limit_s=1)
    job = wait_status(client, dispatcher, submitted["job_id"], FINAL, 20)
    assert (job["status"], job["reason"]) == ("failed", "timeout")
    assert job["force_stopped"] is force_stopped
    assert job["revision"] == 1
    started = job["started_at"]
    finished = job["finished_at"]
    assert started is not None and finished is not None
    plan = client.get(f"/v1/plans/{submitted['plan_id']}", headers=dispatcher).json()
    if objective is not None:
        assert plan["objective"]["total"] == objective


def test_service_jobs_out_of_memory_fails_after_three_attempts(
    redis_url: str,
    keys: dict[str, dict[str, str]],
    processes: Processes,
    make_client,
    tmp_path: Path,
) -> None:
    """C-15 (b): a job that exceeds the memory cap every time, with two
    retries, fails with "resource limit" after exactly 3 attempts, and a
    job behind it still succeeds."""
    settings = service_settings(redis_url, job_memory_bytes=1024**3, job_max_retries=2)
    client = make_client(settings)
    processes.worker(settings, tmp_path / "worker.log")
    dispatcher = keys["dispatcher"]
    hog = post_plan(client, dispatcher, "hog")
    other = post_plan(client, dispatcher, "quick")

    job = wait_status(client, dispatcher, hog["job_id"], FINAL, 60)
    assert (job["status"], job["reason"], job["attempt"]) == (
        "failed",
        "resource limit",
        3,
    )
    assert wait_status(client, dispatcher, other["job_id"], FINAL, 20)["status"] == (
        "succeeded"
    )


@pytest.mark.parametrize(
    ("solve_s", "kill_after_s"),
    [(4, 1.5), pytest.param(60, 10, marks=pytest.mark.slow)],
)
def test_service_jobs_killed_worker_job_requeued_within_bound(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    settings: ServiceSettings,
    processes: Processes,
    tmp_path: Path,
    solve_s: float,
    kill_after_s: float,
) -> None:
    """C-15 (a): SIGKILL on a worker mid-solve; within the lost-worker bound
    the job is queued again (never left running), and a fresh worker
    finishes it as attempt 2."""
    worker = processes.worker(settings, tmp_path / "worker1.log")
    dispatcher = keys["dispatcher"]
    submitted = post_plan(client, dispatcher, f"sleep:{solve_s}", time_limit_s=120)
    wait_status(client, dispatcher, submitted["job_id"], {"running"}, 20)
    time.sleep(kill_after_s)

    processes.kill_tree(worker)
    killed_at = time.monotonic()
    job = wait_status(
        client,
        dispatcher,
        submitted["job_id"],
        {"queued"},
        settings.worker_lost_bound_s + 1,
    )
    assert time.monotonic() - killed_at <= settings.worker_lost_bound_s + 1
    assert job["attempt"] == 2

    processes.worker(settings, tmp_path / "worker2.log")
    job = wait_status(client, dispatcher, submitted["job_id"], FINAL, solve_s + 20)
    assert (job["status"], job["attempt"]) == ("succeeded", 2)


@pytest.mark.parametrize("solve_s", [4, pytest.param(20, marks=pytest.mark.slow)])
def test_service_jobs_api_answers_fast_during_a_cpu_heavy_solve(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    settings: ServiceSettings,
    processes: Processes,
    tmp_path: Path,
    solve_s: float,
) -> None:
    """C-12: POST answers 202 at once; during a CPU-bound solve, 10 health
    and 10 job-status calls each answer in under 200 ms (p99)."""
    processes.worker(settings, tmp_path / "worker.log")
    dispatcher = keys["dispatcher"]
    posted_at = time.perf_counter()
    response = client.post(
        "/v1/plans",
        content=json.dumps(small_request(f"cpu:{solve_s}", time_limit_s=60)),
        headers=dispatcher,
    )
    assert response.status_code == 202
    assert time.perf_counter() - posted_at < 0.5
    job_id = response.json()["job_id"]
    wait_status(client, dispatcher, job_id, {"running"}, 20)

    latencies = []
    for path in ["/healthz"] * 10 + [f"/v1/jobs/{job_id}"] * 10:
        started = time.perf_counter()
        answer = client.get(path, headers=dispatcher)
        latencies.append(time.perf_counter() - started)
        assert answer.status_code == 200
    assert job_status(client, dispatcher, job_id)["status"] == "running"
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert p99 < 0.2, latencies
    final = wait_status(client, dispatcher, job_id, FINAL, solve_s + 20)
    assert final["status"] == "succeeded"
