"""Tests of the simulation routes: batches as RQ jobs, merged result, roles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue, SimpleWorker
from service_helpers import Processes, service_settings, wait_for

from api.app import create_app
from api.settings import ServiceSettings
from api.simulations_api import _done_batches, batch_key, simulation_key
from simulations.montecarlo import run_replications, summarise
from simulations.scenario import SingleQueue

QUEUE = {
    "arrival_rate_per_min": 1.5,
    "service_rate_per_min": 1.0,
    "servers": 2,
    "customers": 400,
    "warmup_customers": 40,
}


def _submission(replications: int = 10, batch_size: int = 4) -> dict[str, Any]:
    return {
        "scenario": {
            "kind": "single_queue",
            "site": {"id": "mmc", "timezone": "UTC"},
            "horizon": {"start_date": "2025-11-11", "days": 1},
            "single_queue": dict(QUEUE),
        },
        "replications": replications,
        "seed": 9,
        "batch_size": batch_size,
    }


def _work(settings: ServiceSettings) -> None:
    """Run every queued job in this process, as a worker would."""
    redis = Redis.from_url(settings.redis_url)
    queue = Queue(settings.queue_name, connection=redis)
    SimpleWorker([queue], connection=redis).work(burst=True)
    redis.close()


def test_simulations_api_merges_batches_into_the_local_result(
    client: TestClient, keys: dict[str, dict[str, str]], settings: ServiceSettings
) -> None:
    """10 replications in batches of 4 are 3 jobs; the merged result is the
    one `clearplan simulate` computes in one process."""
    answer = client.post("/v1/simulations", json=_submission(), headers=keys["planner"])
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["batches"] == 3
    url = accepted["url"]
    before = client.get(url, headers=keys["planner"]).json()
    assert (before["status"], before["batches_done"]) == ("queued", 0)

    _work(settings)

    view = client.get(url, headers=keys["admin"]).json()
    assert view["status"] == "succeeded"
    assert view["replications_done"] == 10
    local = summarise(run_replications(SingleQueue(**QUEUE), 10, seed=9), seed=9)
    assert view["result"]["metrics"]["wait_min.mean"] == (
        local.metrics["wait_min.mean"].model_dump()
    )


def test_simulations_api_admits_planners_and_admins_only(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """Dispatcher and warehouse keys get 403, no key 401."""
    body = _submission()
    for caller in ("dispatcher", "warehouse"):
        answer = client.post("/v1/simulations", json=body, headers=keys[caller])
        assert answer.status_code == 403, caller
    assert client.post("/v1/simulations", json=body).status_code == 401


def test_simulations_api_unknown_id_is_404_and_bad_scenario_422(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """An unknown simulation is 404; an unstable queue is refused with 422."""
    missing = client.get("/v1/simulations/sim_nope", headers=keys["planner"])
    assert missing.status_code == 404
    body = _submission()
    body["scenario"]["single_queue"]["arrival_rate_per_min"] = 5.0
    refused = client.post("/v1/simulations", json=body, headers=keys["planner"])
    assert refused.status_code == 422
    assert "must stay below 1" in refused.text


def test_simulations_api_runs_a_site_scenario(
    client: TestClient, keys: dict[str, dict[str, str]], settings: ServiceSettings
) -> None:
    """A one-clerk, one-broker site: the worker compiles it and the result
    holds the SLA attainment of its two express shipments, and the mix and
    time steps `clearplan simulate` writes."""
    staff = [
        {"id": "c1", "role": "clerk"},
        {"id": "b1", "role": "broker", "licences": [{"jurisdiction": "HK"}]},
    ]
    scenario = {
        "site": {"id": "tiny", "timezone": "UTC"},
        "horizon": {"start_date": "2025-11-11", "days": 1},
        "staff": staff,
        "shift_templates": [
            {"id": "all", "start_local": "00:00", "end_local": "24:00"}
        ],
        "doors": [{"id": "D1"}],
        "roster": [
            {
                "person_id": p["id"],
                "date": "2025-11-11",
                "template_id": "all",
                "post": p["role"],
            }
            for p in staff
        ],  # fmt: skip
        "shipments": [
            {
                "id": f"S{i}",
                "priority": "express",
                "in_warehouse": True,
                "documents_ready_at": "2025-11-11T01:00:00+00:00",
            }
            for i in range(2)
        ],  # fmt: skip
    }
    body = {"scenario": scenario, "replications": 3, "seed": 1, "batch_size": 2}
    answer = client.post("/v1/simulations", json=body, headers=keys["planner"])
    assert answer.status_code == 202, answer.text

    _work(settings)

    view = client.get(answer.json()["url"], headers=keys["planner"]).json()
    assert view["status"] == "succeeded"
    assert (view["result"]["site_id"], view["result"]["kind"]) == ("tiny", "site")
    assert view["result"]["metrics"]["shipments"]["mean"] == 2.0
    assert view["result"]["metrics"]["sla.express"]["mean"] == 1.0
    assert view["result"]["mix"] == {"brokers": 1, "clerks": 1, "doors": 1}
    assert view["result"]["series_step_min"]["queue.clerk"] == 30.0
    assert view["result"]["series_step_min"]["door_wait_min.by_hour"] == 60.0


def _slow_queue_submission(batches: int) -> dict[str, Any]:
    """`batches` batches of one replication, each a few seconds of work."""
    body = _submission(replications=batches, batch_size=1)
    body["scenario"]["single_queue"]["customers"] = 300_000
    return body


def _horse_of(worker: Any, timeout_s: float) -> Any:
    """The work horse a worker forked for its job in hand."""
    parent = psutil.Process(worker.pid)
    return wait_for(lambda: next(iter(parent.children()), None), timeout_s)


def test_simulations_api_refuses_unknown_fields_and_too_many_batches(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """A misspelt field is named, not ignored (`replication` would have
    run 100); 100,000 batches of one replication are refused before any
    job is queued, saying which batch_size would do."""
    body = _submission()
    body["replication"] = 500
    refused = client.post("/v1/simulations", json=body, headers=keys["planner"])
    assert refused.status_code == 422
    assert "replication: Extra inputs are not permitted" in refused.text

    body = _submission(replications=100_000, batch_size=1)
    refused = client.post("/v1/simulations", json=body, headers=keys["planner"])
    assert refused.status_code == 422
    assert "batch_size: 100000 replications in batches of 1" in refused.text
    assert "at least 100" in refused.text


def test_simulations_api_non_json_body_is_415_after_the_key_check(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """As for plan requests: a body declared as text is 415, but only for
    a caller allowed to post; others still get 401 or 403."""
    text = {"Content-Type": "text/plain"}
    body = json.dumps(_submission())
    answer = client.post(
        "/v1/simulations", content=body, headers=keys["planner"] | text
    )
    assert answer.status_code == 415
    assert "Content-Type" in answer.json()["detail"]
    answer = client.post(
        "/v1/simulations", content=body, headers=keys["dispatcher"] | text
    )
    assert answer.status_code == 403
    assert client.post("/v1/simulations", content=body, headers=text).status_code == 401


def test_simulations_api_killed_batch_fails_the_simulation_as_worker_lost(
    redis_url: str,
    keys: dict[str, dict[str, str]],
    processes: Processes,
    tmp_path: Path,
) -> None:
    """Without retries, a batch whose work horse is killed (as the OOM
    killer would) fails its simulation with reason `worker lost`, instead
    of leaving it running for ever."""
    settings = service_settings(redis_url, job_max_retries=0)
    worker = processes.worker(settings, tmp_path / "worker.log")
    with TestClient(create_app(settings)) as client:
        answer = client.post(
            "/v1/simulations",
            json=_slow_queue_submission(2),
            headers=keys["planner"],
        )
        assert answer.status_code == 202, answer.text
        url = answer.json()["url"]
        _horse_of(worker, 30).kill()

        def failed() -> dict[str, Any] | None:
            view = client.get(url, headers=keys["planner"]).json()
            return view if view["status"] == "failed" else None

        view = wait_for(failed, 30, interval_s=0.5)
    assert view["reason"] == "batch 0 failed: worker lost"
    assert view["result"] is None


def test_simulations_api_killed_batch_is_run_again_and_counted_once(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    settings: ServiceSettings,
    processes: Processes,
    tmp_path: Path,
) -> None:
    """With retries (2 by default), the killed batch is queued again and
    run anew: the simulation succeeds with every replication counted once
    and the result `clearplan simulate` gives."""
    worker = processes.worker(settings, tmp_path / "worker.log")
    answer = client.post(
        "/v1/simulations", json=_slow_queue_submission(2), headers=keys["planner"]
    )
    url = answer.json()["url"]
    _horse_of(worker, 30).kill()

    def finished() -> dict[str, Any] | None:
        view = client.get(url, headers=keys["planner"]).json()
        return view if view["status"] in ("succeeded", "failed") else None

    view = wait_for(finished, 90, interval_s=0.5)
    assert view["status"] == "succeeded", view["reason"]
    assert (view["replications_done"], view["batches_done"]) == (2, 2)
    queue = SingleQueue(**_slow_queue_submission(2)["scenario"]["single_queue"])
    local = summarise(run_replications(queue, 2, seed=9), seed=9)
    assert view["result"]["metrics"]["wait_min.mean"] == (
        local.metrics["wait_min.mean"].model_dump()
    )


def test_simulations_api_record_from_before_the_done_set_counts_stored_batches(
    redis_url: str,
) -> None:
    """A simulation stored by the previous version (no batch size, no set of
    finished batches): the finished batches are those whose runs are
    stored, not the first `batches_done` ones (batch 1 of 2 done here)."""
    redis = Redis.from_url(redis_url)
    record = {"status": "running", "batches": "2", "batches_done": "1"}
    redis.hset(simulation_key("sim_old"), mapping=record)
    redis.set(batch_key("sim_old", 1), "[]")

    assert _done_batches(redis, "sim_old", record) == {1}
    redis.close()
