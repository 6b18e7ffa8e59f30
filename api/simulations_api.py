"""Simulations as a service: `POST /v1/simulations` and `GET /v1/simulations/{id}`.

A submitted simulation is split into batches of replications; each batch
is one RQ job on the service's queue, so the workers that solve plans run
simulation batches too, and more workers finish a simulation sooner.
Replication ``i`` draws from child ``i`` of the root seed wherever it
runs (`simulations.montecarlo`), so the merged result is the one
`clearplan simulate` gives for the same scenario, count and seed.

Redis keys (under `clearplan:`): `simulation:{id}` hash (status, counts,
seed, reason), `simulation:{id}:scenario` (the scenario JSON) and
`simulation:{id}:batch:{k}` (the runs of batch k as JSON), all expiring
with the job records (`job_result_ttl_s`). The queue code stays here:
the simulation package knows no queue.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from redis import Redis

from api.auth import Principal, Role, require
from api.deps import ServicesDep
from api.store import PREFIX, text_hash
from simulations.des import RunResult
from simulations.montecarlo import MAX_REPLICATIONS, SimulationResult, summarise
from simulations.scenario import Scenario

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/simulations", tags=["simulations"])
# Planners, and admins (`require` always admits them).
PlannerKey = Annotated[Principal, Depends(require(Role.planner))]

RQ_FUNCTION = "api.simulations_api.run_simulation_batch"
# A batch runs well under a minute at the peak example's size; RQ kills a
# batch that runs past this.
BATCH_TIMEOUT_S = 1800


class SimulationSubmission(BaseModel):
    """A scenario to simulate `replications` times from a root seed."""

    scenario: Scenario
    replications: int = Field(default=100, ge=1, le=MAX_REPLICATIONS)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    batch_size: int = Field(default=25, ge=1, le=1000)


class SimulationAccepted(BaseModel):
    """The id to poll and how the work was split."""

    simulation_id: str
    status: Literal["queued"] = "queued"
    replications: int
    batches: int
    url: str


class SimulationView(BaseModel):
    """Progress, and the merged result once every batch is done."""

    simulation_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    replications: int
    replications_done: int
    batches: int
    batches_done: int
    reason: str | None = None
    result: SimulationResult | None = None


def simulation_key(simulation_id: str) -> str:
    return f"{PREFIX}simulation:{simulation_id}"


def batch_key(simulation_id: str, batch: int) -> str:
    return f"{simulation_key(simulation_id)}:batch:{batch}"


@router.post(
    "",
    status_code=202,
    response_model=SimulationAccepted,
    summary="Simulate a scenario many times, in batches run by the workers",
)
def submit_simulation(
    body: SimulationSubmission,
    services: ServicesDep,
    principal: PlannerKey,
) -> SimulationAccepted:
    """Store the scenario and queue one job per batch of replications."""
    context = services.context
    redis = context.store.redis
    ttl_s = services.settings.job_result_ttl_s
    simulation_id = "sim_" + secrets.token_hex(10)
    key = simulation_key(simulation_id)
    batches = _batches(body.replications, body.batch_size)
    with redis.pipeline() as pipe:
        # One transaction: the record, the scenario and every batch's job.
        pipe.multi()
        pipe.hset(
            key,
            mapping={
                "status": "queued",
                "replications": body.replications,
                "seed": body.seed,
                "batches": len(batches),
                "batches_done": 0,
                "replications_done": 0,
                "created_at": f"{time.time():.3f}",
                "owner": principal.key_id,
                "site_id": body.scenario.site.id,
                "kind": body.scenario.kind,
                "scenario_id": body.scenario.request_id or "",
            },
        )
        pipe.set(f"{key}:scenario", body.scenario.model_dump_json(), ex=ttl_s)
        pipe.expire(key, ttl_s)
        for k, (start, stop) in enumerate(batches):
            context.queue.enqueue_call(
                RQ_FUNCTION,
                args=(simulation_id, k, start, stop),
                timeout=BATCH_TIMEOUT_S,
                result_ttl=600,
                failure_ttl=ttl_s,
                job_id=f"{simulation_id}-{k}",
                description=f"simulation {simulation_id} batch {k}",
                pipeline=pipe,
            )
        pipe.execute()
    logger.info(
        "api: queued simulation %s: %d replications in %d batches",
        simulation_id,
        body.replications,
        len(batches),
    )
    return SimulationAccepted(
        simulation_id=simulation_id,
        replications=body.replications,
        batches=len(batches),
        url=f"/v1/simulations/{simulation_id}",
    )


@router.get(
    "/{simulation_id}",
    response_model=SimulationView,
    summary="A simulation's progress, and its merged result when done",
)
def read_simulation(
    simulation_id: str, services: ServicesDep, _: PlannerKey
) -> SimulationView:
    """Progress counts; when every batch is in, the merged result."""
    redis = services.context.store.redis
    raw = redis.hgetall(simulation_key(simulation_id))
    if not raw:
        raise HTTPException(404, f"simulation '{simulation_id}' does not exist")
    record = text_hash(raw)
    batches = int(record["batches"])
    done = int(record["batches_done"])
    view = SimulationView(
        simulation_id=simulation_id,
        status=record["status"],
        replications=int(record["replications"]),
        replications_done=int(record["replications_done"]),
        batches=batches,
        batches_done=done,
        reason=record.get("reason") or None,
    )
    if view.status == "succeeded":
        result = _merged(redis, simulation_id, batches, int(record["seed"]))
        result.site_id = record.get("site_id", "")
        result.kind = record.get("kind", "site")
        result.scenario_id = record.get("scenario_id") or None
        view.result = result
    return view


def _batches(replications: int, size: int) -> list[tuple[int, int]]:
    return [
        (start, min(start + size, replications))
        for start in range(0, replications, size)
    ]


def _merged(
    redis: Redis, simulation_id: str, batches: int, seed: int
) -> SimulationResult:
    """Every batch's runs in replication order, summarised."""
    runs: list[RunResult] = []
    for k in range(batches):
        data = redis.get(batch_key(simulation_id, k))
        if data is None:
            raise HTTPException(410, f"simulation '{simulation_id}' has expired")
        runs.extend(_run_from_json(item) for item in json.loads(data))
    return summarise(runs, seed=seed)


def _run_to_json(run: RunResult) -> dict[str, Any]:
    def clean(value: float) -> float | None:
        return None if math.isnan(value) else value

    return {
        "metrics": {k: clean(v) for k, v in run.metrics.items()},
        "series": {k: [clean(v) for v in vs] for k, vs in run.series.items()},
    }


def _run_from_json(item: dict[str, Any]) -> RunResult:
    def value(v: float | None) -> float:
        return math.nan if v is None else v

    return RunResult(
        metrics={k: value(v) for k, v in item["metrics"].items()},
        series={k: [value(v) for v in vs] for k, vs in item["series"].items()},
    )


# ------------------------------------------------------------- the worker


def run_simulation_batch(simulation_id: str, batch: int, start: int, stop: int) -> str:
    """RQ entry point: run replications `start` .. `stop` - 1 of a simulation."""
    from rq import get_current_job

    from simulations.des_site import compile_site
    from simulations.dispatch import dispatch_options
    from simulations.montecarlo import run_batch

    job = get_current_job()
    redis: Redis = job.connection if job is not None else _connect()
    key = simulation_key(simulation_id)
    scenario_json = redis.get(f"{key}:scenario")
    if scenario_json is None:
        logger.error("worker: simulation %s has no stored scenario", simulation_id)
        return "missing"
    seed = int(redis.hget(key, "seed") or 0)
    if redis.hget(key, "status") == b"queued":
        redis.hset(key, "status", "running")
    logger.info(
        "worker: simulation %s batch %d: replications %d-%d",
        simulation_id,
        batch,
        start,
        stop - 1,
    )

    try:
        scenario = Scenario.model_validate_json(scenario_json)
        if scenario.kind == "single_queue":
            assert scenario.single_queue is not None
            runs = run_batch(scenario.single_queue, seed, range(start, stop))
        else:
            site = compile_site(scenario)
            runs = run_batch(site, seed, range(start, stop), **dispatch_options(site))
    except Exception as exc:
        logger.warning(
            "worker: simulation %s batch %d failed", simulation_id, batch, exc_info=True
        )
        redis.hset(key, mapping={"status": "failed", "reason": str(exc)[:500]})
        raise

    ttl_s = max(1, redis.ttl(key))
    with redis.pipeline() as pipe:
        pipe.set(
            batch_key(simulation_id, batch),
            json.dumps([_run_to_json(run) for run in runs]),
            ex=ttl_s,
        )
        pipe.hincrby(key, "replications_done", stop - start)
        pipe.hincrby(key, "batches_done", 1)
        done = pipe.execute()[-1]
    failed = redis.hget(key, "status") == b"failed"
    if done >= int(redis.hget(key, "batches") or 0) and not failed:
        redis.hset(key, "status", "succeeded")
        logger.info("worker: simulation %s succeeded", simulation_id)
    return "ok"


def _connect() -> Redis:
    from api.settings import load_settings

    return Redis.from_url(load_settings().redis_url)
