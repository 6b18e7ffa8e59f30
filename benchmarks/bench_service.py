"""Service benchmarks: dock-schedule polls, and 100 plan requests at once.

Usage::

    .venv/bin/python benchmarks/bench_service.py [--seconds 8] [--clients 50]

1. Dock-schedule polls: a published schedule of a busy day (24 doors, 300
   trucks) polled by 50 concurrent keep-alive clients for a fixed time,
   side by side with a bare FastAPI endpoint returning the same bytes under
   the same uvicorn. Both servers run as one process each; the load
   generator is a raw asyncio HTTP/1.1 client in this process.
2. 100 plan requests posted at once to `clearplan serve` with two
   `clearplan worker` processes and the real planning engine: every job
   must succeed, none be lost, none be solved twice (one start per job in
   the worker logs).

Everything runs on loopback against a redis-server started here; loops
are bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.dock_documents import documents  # noqa: E402
from api.keys import Role, create_key  # noqa: E402
from api.store import Store  # noqa: E402
from scheduler.fingerprint import input_hash  # noqa: E402
from scheduler.models import (  # noqa: E402
    DockSlot,
    Objective,
    Plan,
    PlanStatus,
    Provenance,
    Request,
    TaskKind,
)

CLEARPLAN = str(Path(sys.executable).parent / "clearplan")
SITE = "HKG1"
ROUNDS = 5
DAY = "2025-11-11"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


# ------------------------------------------------------------ bare server


def run_bare(port: int, body_path: Path) -> None:
    """A bare FastAPI endpoint returning the given bytes (subprocess mode)."""
    import uvicorn
    from fastapi import FastAPI, Response

    body = body_path.read_bytes()
    app = FastAPI()

    @app.get("/dock")
    async def dock() -> Response:
        return Response(body, media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# ------------------------------------------------------------ fixtures


def busy_day_plan() -> Plan:
    """A published plan with 300 trucks over 24 doors in one day."""
    request = Request.model_validate(
        {
            "site": {"id": SITE, "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": DAY, "days": 1},
            "doors": [{"id": f"D{i:02d}"} for i in range(24)],
        }
    )
    start = request.horizon.start_date
    from scheduler.sitetime import local_midnight

    midnight = local_midnight(start, request.site.timezone)
    slots = []
    for i in range(300):
        begin = midnight + timedelta(minutes=(i * 113) % (24 * 60 - 90))
        slots.append(
            DockSlot(
                door_id=f"D{i % 24:02d}",
                load_id=f"TRK{i:04d}",
                kind=TaskKind.unload,
                start=begin,
                end=begin + timedelta(minutes=45 + i % 40),
                shipment_ids=[f"SHP{i:04d}{k}" for k in range(1 + i % 4)],
                pallets=4 + i % 20,
            )
        )
    return Plan(
        plan_id="bench",
        request=request,
        status=PlanStatus.optimal,
        objective=Objective(total=0),
        dock_schedule={DAY: slots},
        provenance=Provenance(
            solver="bench",
            solver_version="0",
            clearplan_version="0",
            input_hash=input_hash(request),
        ),
    )


def small_plan_request(index: int) -> dict[str, Any]:
    """A request the real engine plans in well under a second."""
    return {
        "request_id": f"bench-{index}",
        "site": {"id": SITE, "timezone": "Asia/Hong_Kong"},
        "horizon": {"start_date": DAY, "days": 1},
        "staff": [
            {"id": "b1", "role": "broker", "licences": [{"jurisdiction": "HK"}]},
            {"id": "c1", "role": "clerk"},
        ],
        "shift_templates": [
            {"id": "day", "start_local": "08:00", "end_local": "16:00"}
        ],
        "doors": [{"id": "D1"}],
        "loads": [{"id": "L1", "eta": f"{DAY}T09:00:00+08:00"}],
        "shipments": [
            {
                "id": f"S{index}",
                "load_id": "L1",
                "documents_ready_at": f"{DAY}T08:30:00+08:00",
            }
        ],
        "settings": {"time_limit_s": 2, "seed": index},
    }


# ------------------------------------------------------------ load


async def _client(
    port: int, request: bytes, stop_at: float, latencies: list[float]
) -> int:
    """One keep-alive connection polling until `stop_at`; responses counted."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        match = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
        if not head.startswith(b"HTTP/1.1 200") or match is None:
            raise RuntimeError(f"unexpected answer: {head[:120]!r}")
        await reader.readexactly(int(match.group(1)))
        latencies.append(time.perf_counter() - started)
        done += 1
    writer.close()
    return done


async def _load(port: int, path: str, headers: str, clients: int, seconds: float):
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n").encode()
    # Warm up connections and caches for a second, then measure.
    loop = asyncio.get_running_loop()
    await asyncio.gather(
        *(_client(port, request, loop.time() + 1.0, []) for _ in range(clients))
    )
    latencies: list[float] = []
    started = time.perf_counter()
    stop_at = loop.time() + seconds
    counts = await asyncio.gather(
        *(_client(port, request, stop_at, latencies) for _ in range(clients))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": sum(counts),
        "rps": sum(counts) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


def poll_benchmark(
    env: dict[str, str], redis_url: str, workdir: Path, clients: int, seconds: float
) -> dict[str, dict[str, float]]:
    redis = Redis.from_url(redis_url)
    store = Store(redis, 3600)
    plan = busy_day_plan()
    store.publish(SITE, plan.plan_id, 1, documents(plan))
    token = create_key(redis, Role.warehouse, [SITE])[1]

    service_port, bare_port = free_port(), free_port()
    # Both servers without access logs, so both pay the same for logging.
    service = subprocess.Popen(
        [CLEARPLAN, "serve", "--port", str(service_port), "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "serve.log").open("wb"),
    )
    url = f"http://127.0.0.1:{service_port}/v1/sites/{SITE}/dock-schedule?date={DAY}"
    wait_http(f"http://127.0.0.1:{service_port}/healthz")
    auth = f"Authorization: Bearer {token}\r\n"
    body = httpx.get(url, headers={"Authorization": f"Bearer {token}"}).content
    etag = httpx.get(url, headers={"Authorization": f"Bearer {token}"}).headers["etag"]
    (workdir / "body.json").write_bytes(body)
    bare = subprocess.Popen(
        [sys.executable, __file__, "bare", str(bare_port), str(workdir / "body.json")],
        env=env,
    )
    wait_http(f"http://127.0.0.1:{bare_port}/dock")
    try:
        path = f"/v1/sites/{SITE}/dock-schedule?date={DAY}"
        not_modified = auth + f"If-None-Match: {etag}\r\n"
        runs: dict[str, list[dict[str, float]]] = {}
        # Rounds alternate the endpoints, so a change in the machine's load
        # (other processes share its two cores) hits all of them alike.
        for _ in range(ROUNDS):
            for name, load in (
                (
                    "bare FastAPI, same bytes",
                    _load(bare_port, "/dock", "", clients, seconds),
                ),
                (
                    "dock schedule (200)",
                    _load(service_port, path, auth, clients, seconds),
                ),
                (
                    "dock schedule (304, If-None-Match)",
                    _load_304(service_port, path, not_modified, clients, seconds),
                ),
            ):
                runs.setdefault(name, []).append(asyncio.run(load))
        results = {name: _pool(rows) for name, rows in runs.items()}
    finally:
        for process in (service, bare):
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)
    results["body"] = {"bytes": len(body)}
    results["cpu"] = cpu_per_poll(redis_url, token, body)
    return results


def _pool(rows: list[dict[str, float]]) -> dict[str, float]:
    """Totals over rounds (the rate is all requests over all seconds);
    latencies as the median of the rounds'."""
    seconds = sum(row["requests"] / row["rps"] for row in rows)
    return {
        "requests": sum(row["requests"] for row in rows),
        "rps": sum(row["requests"] for row in rows) / seconds,
        "p50_ms": statistics.median(row["p50_ms"] for row in rows),
        "p99_ms": statistics.median(row["p99_ms"] for row in rows),
    }


async def _load_304(port: int, path: str, headers: str, clients: int, seconds: float):
    """As `_load`, for answers without a body (304)."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()
    latencies: list[float] = []
    loop = asyncio.get_running_loop()

    async def one() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        done = 0
        while loop.time() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 304"):
                raise RuntimeError(f"unexpected answer: {head[:120]!r}")
            latencies.append(time.perf_counter() - started)
            done += 1
        writer.close()
        return done

    stop_at = loop.time() + seconds
    started = time.perf_counter()
    counts = await asyncio.gather(*(one() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": sum(counts),
        "rps": sum(counts) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


# ------------------------------------------------------------ CPU per poll


async def _asgi_calls(app: Any, path: str, query: bytes, headers: list, calls: int):
    """Microseconds per call of an ASGI app, no network or HTTP parsing."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    statuses = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(calls):
        await app(dict(scope), receive, send)
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {set(statuses)}")
    return 1e6 * (time.perf_counter() - started) / calls


def cpu_per_poll(redis_url: str, token: str, body: bytes) -> dict[str, float]:
    """Server CPU per poll, both apps called in-process, rounds alternating;
    the fastest round of each, as the least disturbed by other processes."""
    from fastapi import FastAPI, Response

    from api.app import create_app
    from api.settings import ServiceSettings

    bare = FastAPI()

    @bare.get("/dock")
    async def dock() -> Response:
        return Response(body, media_type="application/json")

    service = create_app(ServiceSettings(redis_url=redis_url))
    headers = [(b"authorization", f"Bearer {token}".encode())]

    async def measure() -> dict[str, float]:
        best = {"bare": float("inf"), "dock": float("inf")}
        async with service.router.lifespan_context(service):
            for _ in range(ROUNDS):
                bare_us = await _asgi_calls(bare, "/dock", b"", [], 2000)
                dock_us = await _asgi_calls(
                    service,
                    f"/v1/sites/{SITE}/dock-schedule",
                    f"date={DAY}".encode(),
                    headers,
                    2000,
                )
                best["bare"] = min(best["bare"], bare_us)
                best["dock"] = min(best["dock"], dock_us)
        return best

    return asyncio.run(measure())


# ------------------------------------------------------------ 100 jobs


def jobs_benchmark(
    env: dict[str, str], redis_url: str, workdir: Path
) -> dict[str, Any]:
    redis = Redis.from_url(redis_url)
    token = create_key(redis, Role.dispatcher, [])[1]
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    service = subprocess.Popen(
        [CLEARPLAN, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "serve2.log").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/healthz")
    logs = [workdir / f"worker{i}.log" for i in (1, 2)]
    workers = [
        subprocess.Popen(
            [CLEARPLAN, "worker"],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:

        async def post_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                return await asyncio.gather(
                    *(
                        client.post(
                            "/v1/plans",
                            content=json.dumps(small_plan_request(i)),
                            headers=headers,
                        )
                        for i in range(100)
                    )
                )

        posted_at = time.perf_counter()
        answers = asyncio.run(post_all())
        post_s = time.perf_counter() - posted_at
        job_ids = [answer.json()["job_id"] for answer in answers]
        statuses: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            listed = httpx.get(
                base + "/v1/jobs", params={"limit": 1000}, headers=headers
            ).json()["jobs"]
            statuses = {job["job_id"]: job for job in listed}
            if all(
                statuses.get(j, {}).get("status")
                in ("succeeded", "failed", "cancelled")
                for j in job_ids
            ):
                break
            time.sleep(0.5)
        all_done_s = time.perf_counter() - posted_at
    finally:
        for process in [*workers, service]:
            process.send_signal(signal.SIGTERM)
        for process in [*workers, service]:
            process.wait(timeout=60)
    starts = Counter(
        match.group(1)
        for log in logs
        for match in re.finditer(r"job (\S+) attempt \d+ started", log.read_text())
    )
    by_worker = [
        len(re.findall(r"attempt \d+ started", log.read_text())) for log in logs
    ]
    return {
        "accepted (202)": sum(answer.status_code == 202 for answer in answers),
        "post_all_s": post_s,
        "succeeded": sum(
            statuses.get(j, {}).get("status") == "succeeded" for j in job_ids
        ),
        "missing": sum(j not in statuses for j in job_ids),
        "max_attempt": max(statuses.get(j, {}).get("attempt", 0) for j in job_ids),
        "jobs_started_twice": sum(count > 1 for count in starts.values()),
        "jobs_started": len(starts),
        "per_worker": by_worker,
        "all_done_s": all_done_s,
        "failure_reasons": dict(
            Counter(
                statuses[j]["reason"]
                for j in job_ids
                if j in statuses and statuses[j]["status"] != "succeeded"
            )
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per round")
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    try:
        import uvloop

        # The load generator must cost as little CPU as it can: it shares
        # the two cores with the server under test.
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass

    workdir = Path(tempfile.mkdtemp(prefix="bench-service-"))
    redis_port = free_port()
    redis_server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARPLAN_")}
    env.update(
        {
            "CLEARPLAN_REDIS_URL": redis_url,
            "CLEARPLAN_KEY_CACHE_S": "5",
            "PYTHONPATH": str(ROOT),
        }
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                Redis.from_url(redis_url).ping()
                break
            except Exception:
                time.sleep(0.1)
        polls = poll_benchmark(env, redis_url, workdir, args.clients, args.seconds)
        Redis.from_url(redis_url).flushall()
        jobs = jobs_benchmark(env, redis_url, workdir)
    finally:
        redis_server.terminate()
        redis_server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    cpu = polls.pop("cpu")
    print(
        f"dock schedule body: {polls.pop('body')['bytes']} bytes, "
        f"{args.clients} clients, {ROUNDS} rounds of {args.seconds:.0f} s "
        "(req/s over all rounds; latencies: median over the rounds)"
    )
    print("| endpoint | requests | req/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, row in polls.items():
        print(
            f"| {name} | {row['requests']} | {row['rps']:.0f} | {row['p50_ms']:.1f} "
            f"| {row['p99_ms']:.1f} |"
        )
    ratio = (
        polls["dock schedule (200)"]["rps"] / polls["bare FastAPI, same bytes"]["rps"]
    )
    print(f"dock schedule / bare throughput: {ratio:.0%}")
    print(
        f"server CPU per poll, in-process: bare {cpu['bare']:.0f} us, dock schedule "
        f"{cpu['dock']:.0f} us (bare/dock {cpu['bare'] / cpu['dock']:.0%}); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(json.dumps(jobs, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "bare":
        run_bare(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
