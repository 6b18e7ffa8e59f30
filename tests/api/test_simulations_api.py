"""Tests of the simulation routes: batches as RQ jobs, merged result, roles."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue, SimpleWorker

from api.settings import ServiceSettings
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
            "single_queue": QUEUE,
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
    holds the SLA attainment of its two express shipments."""
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
