"""The service under faults: Redis down, an evicting Redis, huge bodies, SIGTERM.

Cases C-13, C-14 and C-17 of the failure catalogue, and the service driven
from outside with keys made by `clearplan keys create`.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient
from redis import Redis
from service_helpers import (
    CLEARPLAN,
    SITE,
    Processes,
    serve,
    service_settings,
    settings_env,
    small_request,
    start_redis,
    wait_for,
)

from api.app import create_app
from api.keys import Role, create_key
from api.settings import ServiceSettings
from api.store import Store


def test_service_resilience_redis_down_503_then_recovers(tmp_path: Path) -> None:
    """While Redis is down every store-backed route answers 503 with
    Retry-After and liveness stays up; when Redis is back (its AOF kept the
    data) the same app answers again without a restart."""
    redis_server = start_redis(tmp_path)
    try:
        settings = service_settings(f"redis://127.0.0.1:{redis_server.port}/0")
        token = create_key(Redis.from_url(settings.redis_url), Role.dispatcher, [])[1]
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings)) as client:
            body = json.dumps(small_request("quick"))
            job_id = client.post("/v1/plans", content=body, headers=headers).json()[
                "job_id"
            ]

            redis_server.stop()
            started = time.monotonic()
            down = client.get(f"/v1/jobs/{job_id}", headers=headers)
            assert down.status_code == 503
            assert down.headers["retry-after"] == "5"
            assert time.monotonic() - started < 5
            assert client.post(
                "/v1/plans", content=body, headers=headers
            ).status_code == (503)
            assert client.get("/readyz").status_code == 503
            assert client.get("/healthz").status_code == 200

            redis_server.start()
            back = client.get(f"/v1/jobs/{job_id}", headers=headers)
            assert back.status_code == 200 and back.json()["status"] == "queued"
            assert client.get("/readyz").json() == {"status": "ready"}
    finally:
        redis_server.stop()


def test_service_resilience_evicting_redis_is_not_ready(
    tmp_path: Path, processes: Processes
) -> None:
    """C-17: with maxmemory-policy allkeys-lru the service reports degraded,
    accepts no job, and a worker refuses to start; with noeviction it is
    ready again."""
    redis_server = start_redis(
        tmp_path, maxmemory="50mb", maxmemory_policy="allkeys-lru"
    )
    try:
        settings = service_settings(f"redis://127.0.0.1:{redis_server.port}/0")
        redis = Redis.from_url(settings.redis_url)
        headers = {
            "Authorization": f"Bearer {create_key(redis, Role.dispatcher, [])[1]}"
        }
        with TestClient(create_app(settings)) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "degraded"
            assert "allkeys-lru" in ready.json()["reason"]
            body = json.dumps(small_request("quick"))
            refused = client.post("/v1/plans", content=body, headers=headers)
            assert refused.status_code == 503
            assert "noeviction" in refused.json()["detail"]

            worker = processes.worker(settings, tmp_path / "worker.log")
            assert worker.wait(timeout=30) == 2
            assert "refusing to start" in (tmp_path / "worker.log").read_text()

            redis.config_set("maxmemory-policy", "noeviction")
            assert client.get("/readyz").json() == {"status": "ready"}
            accepted = client.post("/v1/plans", content=body, headers=headers)
            assert accepted.status_code == 202
        redis.close()
    finally:
        redis_server.stop()


def _send_until_answered(
    port: int, head: bytes, chunk: bytes, total_bytes: int, chunked: bool
) -> tuple[bytes, float]:
    """Send a request body while waiting for the answer; (answer head, seconds).

    The body goes out from a thread, as a client would keep writing, while
    this thread reads: a server that answers early is seen answering early.
    """
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall(head)
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk

    def write_body() -> None:
        try:
            for _ in range(total_bytes // len(chunk)):
                sock.sendall(frame)
        except OSError:
            return  # the server closed the connection after answering

    writer = threading.Thread(target=write_body, daemon=True)
    writer.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        elapsed = time.monotonic() - started
    finally:
        with contextlib.suppress(OSError):  # the server may have closed it
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        writer.join(timeout=20)
    return answer, elapsed


# README: a valid request is checked and accepted within this, up to 20 MB.
ACCEPT_BOUND_S = 20


@pytest.mark.parametrize(
    ("limit_mib", "huge_mib", "valid_mib"),
    [(4, 20, 2), pytest.param(32, 200, 20, marks=pytest.mark.slow)],
)
def test_service_resilience_huge_body_413_fast_with_bounded_memory(
    redis_url: str,
    processes: Processes,
    tmp_path: Path,
    limit_mib: int,
    huge_mib: int,
    valid_mib: int,
) -> None:
    """C-14: a body far over the limit gets 413 within a second, declared or
    streamed, the API grows by well under 100 MB, and a valid large request
    right after is accepted."""
    settings = service_settings(redis_url, max_body_bytes=limit_mib * 1024 * 1024)
    token = create_key(Redis.from_url(redis_url), Role.dispatcher, [])[1]
    server, base = serve(processes, settings, tmp_path / "serve.log")
    port = int(base.rsplit(":", 1)[1])
    rss_before = psutil.Process(server.pid).memory_info().rss
    chunk = b"x" * (1024 * 1024)
    total = huge_mib * 1024 * 1024

    declared = (
        f"POST /v1/plans HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {total}\r\n\r\n"
    ).encode()
    answer, seconds = _send_until_answered(port, declared, chunk, total, False)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # C-14 asks for "quickly": well under a second on an idle machine, but
    # CI shares two cores, so the bound leaves room for a loaded scheduler.
    assert seconds < 5

    streamed = (
        f"POST /v1/plans HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    answer, seconds = _send_until_answered(port, streamed, chunk, total, True)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    growth_mb = (psutil.Process(server.pid).memory_info().rss - rss_before) / 1e6
    assert growth_mb < 100

    # A valid request of `valid_mib` MiB: forecast rows of similar shipments.
    request = small_request("quick")
    row = {
        "start": "2025-11-11T08:00:00+08:00",
        "end": "2025-11-11T09:00:00+08:00",
        "shipments": 3.0,
    }
    rows = valid_mib * 1024 * 1024 // len(json.dumps(row))
    request["forecast"] = [row] * rows
    body = json.dumps(request).encode()
    assert len(body) < limit_mib * 1024 * 1024
    outcome: dict[str, Any] = {}

    def post_valid() -> None:
        started = time.monotonic()
        outcome["response"] = httpx.post(
            base + "/v1/plans",
            content=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        outcome["seconds"] = time.monotonic() - started

    # While it is being validated, the service keeps answering.
    poster = threading.Thread(target=post_valid)
    poster.start()
    health_s = []
    while poster.is_alive() and len(health_s) < 20:
        started = time.monotonic()
        assert httpx.get(base + "/healthz", timeout=5).status_code == 200
        health_s.append(time.monotonic() - started)
        time.sleep(0.1)
    poster.join(timeout=120)
    assert outcome["response"].status_code == 202, outcome["response"].text[:300]
    assert outcome["seconds"] < ACCEPT_BOUND_S
    assert max(health_s) < 0.5, health_s
    assert httpx.get(base + "/readyz").json() == {"status": "ready"}


def _keys_create(settings: ServiceSettings, *args: str) -> str:
    """Run `clearplan keys create`; the token it prints."""
    done = subprocess.run(
        [CLEARPLAN, "keys", "create", *args],
        env=settings_env(settings),
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout.decode().strip()


def test_service_resilience_driven_from_outside_survives_disconnect_and_sigterm(
    redis_url: str, processes: Processes, tmp_path: Path
) -> None:
    """C-13 and the outside flow: keys from `clearplan keys create`, a real
    `clearplan serve` and `clearplan worker`; a client leaving right after its
    202, and the API killed by SIGTERM 1 s after accepting, lose no job."""
    settings = service_settings(redis_url)
    dispatcher = {
        "Authorization": f"Bearer {_keys_create(settings, '--role', 'dispatcher')}"
    }
    warehouse = {
        "Authorization": "Bearer "
        + _keys_create(settings, "--role", "warehouse", "--site", SITE)
    }
    server, base = serve(processes, settings, tmp_path / "serve.log")
    processes.worker(settings, tmp_path / "worker.log")

    # (a) the client goes away as soon as it has its 202.
    with httpx.Client(base_url=base) as gone:
        first = gone.post(
            "/v1/plans",
            content=json.dumps(small_request("sleep:1")),
            headers=dispatcher,
        ).json()

    # The flow from outside: poll, publish, dock schedule, 304.
    def finished(job_id: str) -> dict[str, Any] | None:
        job = httpx.get(f"{base}/v1/jobs/{job_id}", headers=dispatcher).json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    assert wait_for(lambda: finished(first["job_id"]), 30, 0.2)["status"] == "succeeded"
    published = httpx.post(
        f"{base}/v1/plans/{first['plan_id']}/publish", headers=dispatcher
    )
    assert published.status_code == 200
    url = f"{base}/v1/sites/{SITE}/dock-schedule?date=2025-11-12"
    dock = httpx.get(url, headers=warehouse)
    assert dock.status_code == 200 and dock.json()["slots"][0]["load_id"] == "L2"
    unchanged = httpx.get(
        url, headers={**warehouse, "If-None-Match": dock.headers["etag"]}
    )
    assert unchanged.status_code == 304

    # (b) SIGTERM to the API 1 s after it accepted a job.
    second = httpx.post(
        f"{base}/v1/plans",
        content=json.dumps(small_request("sleep:2")),
        headers=dispatcher,
    ).json()
    time.sleep(1)
    server.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then ends by the signal it caught.
    assert server.wait(timeout=20) in (0, -signal.SIGTERM)
    store = Store(Redis.from_url(redis_url), settings.job_result_ttl_s)

    def done() -> str | None:
        record = store.job(second["job_id"])
        return (
            record.status.value
            if record
            and record.status.value
            in (
                "succeeded",
                "failed",
            )
            else None
        )

    assert wait_for(done, 30, 0.2) == "succeeded"


def _large_valid_body(size_bytes: int) -> bytes:
    """A valid request over the helper-process threshold: forecast rows."""
    request = small_request("quick")
    row = {
        "start": "2025-11-11T08:00:00+08:00",
        "end": "2025-11-11T09:00:00+08:00",
        "shipments": 3.0,
    }
    request["forecast"] = [row] * (size_bytes // len(json.dumps(row)) + 1)
    return json.dumps(request).encode()


def test_service_resilience_large_body_checker_replaced_after_it_dies(
    redis_url: str, processes: Processes, tmp_path: Path
) -> None:
    """The helper process that checks large bodies is killed (as the OOM
    killer would): the next large request is still accepted, on a new
    helper, instead of a 500 on every large request until a restart."""
    settings = service_settings(redis_url)
    token = create_key(Redis.from_url(redis_url), Role.dispatcher, [])[1]
    headers = {"Authorization": f"Bearer {token}"}
    server, base = serve(processes, settings, tmp_path / "serve.log")
    body = _large_valid_body(3 * 1024 * 1024)

    def helpers() -> list[psutil.Process]:
        return [
            child
            for child in psutil.Process(server.pid).children(recursive=True)
            if "spawn_main" in " ".join(child.cmdline())
        ]

    first = httpx.post(base + "/v1/plans", content=body, headers=headers, timeout=60)
    assert first.status_code == 202, first.text[:300]
    dead = helpers()
    assert len(dead) == 1
    dead[0].kill()
    dead[0].wait(timeout=10)

    second = httpx.post(base + "/v1/plans", content=body, headers=headers, timeout=60)
    assert second.status_code == 202, second.text[:300]
    assert [helper.pid for helper in helpers()] != [dead[0].pid]
    assert "request checking process died; starting another" in (
        (tmp_path / "serve.log").read_text()
    )


def test_service_resilience_worker_outlives_redis_restart_mid_job(
    tmp_path: Path, processes: Processes
) -> None:
    """Redis stopped for 5 s while a worker solves, then started again: the
    worker process stays up, the job ends succeeded, and the next job is
    solved too (RQ alone quits on the failed heartbeat and needs a restart)."""
    redis_server = start_redis(tmp_path)
    try:
        settings = service_settings(
            f"redis://127.0.0.1:{redis_server.port}/0", worker_heartbeat_s=3.0
        )
        token = create_key(Redis.from_url(settings.redis_url), Role.dispatcher, [])[1]
        headers = {"Authorization": f"Bearer {token}"}
        worker = processes.worker(settings, tmp_path / "worker.log")
        with TestClient(create_app(settings)) as client:
            body = json.dumps(small_request("sleep:12", time_limit_s=30))
            job_id = client.post("/v1/plans", content=body, headers=headers).json()[
                "job_id"
            ]

            def job() -> dict[str, Any]:
                answer: dict[str, Any] = client.get(
                    f"/v1/jobs/{job_id}", headers=headers
                ).json()
                return answer

            wait_for(lambda: job()["best_objective"] is not None, 30, 0.1)

            redis_server.stop()
            time.sleep(5)
            redis_server.start()

            finished = wait_for(
                lambda: (answer := job())["status"] != "running" and answer, 40, 0.2
            )
            assert finished["status"] == "succeeded"
            assert worker.poll() is None
            again = client.post(
                "/v1/plans", content=json.dumps(small_request("quick")), headers=headers
            ).json()["job_id"]
            wait_for(
                lambda: (
                    client.get(f"/v1/jobs/{again}", headers=headers).json()["status"]
                    == "succeeded"
                ),
                30,
                0.2,
            )
        assert worker.poll() is None
        log = (tmp_path / "worker.log").read_text()
        assert "lost Redis while working" in log
        assert "started again after a Redis outage" in log
    finally:
        redis_server.stop()
