"""Helpers of the service tests: settings, processes, requests, polling."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
from pytest_redis.executor import RedisExecutor
from redis import Redis

from api.settings import ServiceSettings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CLEARPLAN = str(Path(sys.executable).parent / "clearplan")
SITE = "HKG1"
OTHER_SITE = "SZX1"


def free_port() -> int:

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], timeout_s: float, interval_s: float = 0.05
) -> Any:
    """Poll until `predicate()` is truthy; its value, or fail after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


def start_redis(tmp_path: Path, **config: str) -> RedisExecutor:
    """A redis-server of its own, for tests that stop it or change its policy."""
    executor = RedisExecutor(
        "/usr/bin/redis-server"
        if Path("/usr/bin/redis-server").exists()
        else "redis-server",
        databases=4,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=free_port(),
        datadir=tmp_path,
        appendonly="yes",
    )
    executor.start()
    if config:
        client = Redis(host="127.0.0.1", port=executor.port)
        for name, value in config.items():
            client.config_set(name.replace("_", "-"), value)
        client.close()
    return executor


def service_settings(redis_url: str, **overrides: Any) -> ServiceSettings:
    """Settings scaled down for tests: fast heartbeats, short margins."""
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "worker_heartbeat_s": 0.5,
        "queue_timeout_margin_s": 2,
        "cancel_grace_s": 1.0,
        "key_cache_s": 0,
        "dock_cache_s": 0,
        "job_memory_bytes": 2 * 1024**3,
        "solve_function": "solve_doubles:scripted",
    }
    values.update(overrides)
    return ServiceSettings(**values)


def settings_env(settings: ServiceSettings) -> dict[str, str]:
    """The environment that gives a subprocess the same settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARPLAN_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"CLEARPLAN_{name.upper()}"] = str(value)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT)])
    return env


class Processes:
    """Service processes started by a test, killed with their children after."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(
        self, args: list[str], settings: ServiceSettings, log: Path
    ) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            args,
            env=settings_env(settings),
            cwd=ROOT,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.started.append(process)
        return process

    def worker(self, settings: ServiceSettings, log: Path) -> subprocess.Popen[bytes]:
        return self.start([CLEARPLAN, "worker"], settings, log)

    def kill_tree(
        self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL
    ) -> None:
        """Send `sig` to a process and every process under it, at once."""
        try:
            tree = [psutil.Process(process.pid)]
            tree += tree[0].children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for member in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.send_signal(sig)

    def stop_all(self) -> None:
        for process in self.started:
            self.kill_tree(process)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


def small_request(script: str = "quick", time_limit_s: float = 5.0) -> dict[str, Any]:
    """A site with two people, two doors and two trucks, one unloading
    across midnight (23:30-00:30 local); `script` drives the solve double."""
    return {
        "request_id": script,
        "site": {"id": SITE, "timezone": "Asia/Hong_Kong", "name": "Tsing Yi"},
        "horizon": {"start_date": "2025-11-11", "days": 2},
        "staff": [
            {
                "id": "b1",
                "name": "Chan Tai Man",
                "role": "broker",
                "licences": [{"jurisdiction": "HK"}],
            },
            {"id": "c1", "name": "Wong Siu Ming", "role": "clerk"},
        ],
        "shift_templates": [
            {
                "id": "day",
                "start_local": "08:00",
                "end_local": "16:00",
                "break_start_local": "12:00",
                "break_min": 30,
            }
        ],
        "doors": [{"id": "D1"}, {"id": "D2"}],
        "loads": [
            {"id": "L1", "eta": "2025-11-11T10:00:00+08:00"},
            {"id": "L2", "eta": "2025-11-11T23:30:00+08:00"},
        ],
        "shipments": [
            {
                "id": "S1",
                "load_id": "L1",
                "pallets": 4,
                "documents_ready_at": "2025-11-11T09:00:00+08:00",
            },
            {
                "id": "S2",
                "load_id": "L2",
                "pallets": 2,
                "documents_ready_at": "2025-11-11T22:00:00+08:00",
            },
        ],
        "settings": {"time_limit_s": time_limit_s},
    }


def post_plan(
    client: Any, headers: dict[str, str], script: str = "quick", **kwargs: Any
) -> dict[str, Any]:
    """POST a small request; the 202 body."""
    response = client.post(
        "/v1/plans",
        content=json.dumps(small_request(script, **kwargs)),
        headers=headers,
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def job_status(client: Any, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/jobs/{job_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_status(
    client: Any,
    headers: dict[str, str],
    job_id: str,
    statuses: set[str],
    timeout_s: float,
) -> dict[str, Any]:
    """Poll a job until its status is one of `statuses`."""

    def reached() -> dict[str, Any] | None:
        job = job_status(client, headers, job_id)
        return job if job["status"] in statuses else None

    result: dict[str, Any] = wait_for(reached, timeout_s, 0.1)
    return result


def finish_with_double(settings: ServiceSettings, job_id: str) -> None:
    """Do a queued job's work in the test process, as a worker would record
    it, with the `quick` double's plan (for tests that need a plan fast)."""
    from solve_doubles import make_plan

    from api.store import JobStatus, Store
    from scheduler.models import PlanStatus
    from scheduler.models import Request as PlanRequest

    store = Store(Redis.from_url(settings.redis_url), settings.job_result_ttl_s)
    record = store.job(job_id)
    assert record is not None
    assert store.start_attempt(job_id, record.attempt) == "ok"
    request = PlanRequest.model_validate_json(store.request_json(record.plan_id) or b"")
    plan = make_plan(request, PlanStatus.optimal, 100, 100)
    plan = plan.model_copy(update={"plan_id": record.plan_id})
    answer = store.finish_attempt(
        job_id,
        record.plan_id,
        record.attempt,
        JobStatus.succeeded,
        plan_json=plan.model_dump_json().encode(),
    )
    assert answer == "ok"
    store.redis.close()


def serve(
    processes: Processes, settings: ServiceSettings, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """`clearplan serve` on a free port; the process and its base URL."""
    port = free_port()
    server = processes.start(
        [CLEARPLAN, "serve", "--host", "127.0.0.1", "--port", str(port)], settings, log
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(base + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, 30, 0.1)
    return server, base
