"""Simulations as a service: `POST /v1/simulations` and `GET /v1/simulations/{id}`.

A submitted simulation is split into batches of replications; each batch
is one RQ job on the service's queue, so the workers that solve plans run
simulation batches too, and more workers finish a simulation sooner.
Replication ``i`` draws from child ``i`` of the root seed wherever it
runs (`simulations.montecarlo`), so the merged result is the one
`clearplan simulate` gives for the same scenario, count and seed.

Redis keys (under `clearplan:`): `simulation:{id}` hash (status, counts,
seed, batch size, reason, and the site's facts once a worker compiled
it), `simulation:{id}:scenario` (the scenario JSON),
`simulation:{id}:batch:{k}` (the runs of batch k as JSON) and
`simulation:{id}:done` (the set of finished batches, so a batch run twice
counts once), all expiring with the job records (`job_result_ttl_s`).
The queue code stays here: the simulation package knows no queue.

Lost batches: a batch whose worker dies, or whose worker loses Redis
before saving it, is left "started" in RQ's registry; RQ's registry
cleaning (every minute, on any worker) finds it once its worker's
heartbeat has lapsed and queues it again, up to `job_max_retries` times.
A batch that fails for good (no retries left) fails its simulation, with
the reason, at the next read of the simulation. A scenario that cannot
be simulated (it does not compile) fails the simulation at once.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from redis import Redis
from rq import Retry
from rq.job import Job, JobStatus

from api.auth import Principal, Role, require
from api.deps import ServicesDep
from api.routes.plans import require_json
from api.store import PREFIX, text_hash
from simulations.des import RunResult
from simulations.montecarlo import (
    MAX_REPLICATIONS,
    SimulationResult,
    SiteFacts,
    describe,
    summarise,
)
from simulations.scenario import Scenario

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/simulations", tags=["simulations"])
# Planners, and admins (`require` always admits them).
PlannerKey = Annotated[Principal, Depends(require(Role.planner))]

RQ_FUNCTION = "api.simulations_api.run_simulation_batch"
# A batch runs well under a minute at the peak example's size; RQ kills a
# batch that runs past this.
BATCH_TIMEOUT_S = 1800
# Every batch is one RQ job written in the submitting request: more would
# make that request slow and the queue long for no gain in speed.
MAX_BATCHES = 1000


class SimulationSubmission(BaseModel):
    """A scenario to simulate `replications` times from a root seed."""

    model_config = ConfigDict(extra="forbid")

    scenario: Scenario
    replications: int = Field(default=100, ge=1, le=MAX_REPLICATIONS)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    batch_size: int = Field(default=25, ge=1, le=1000)

    @field_validator("batch_size")
    @classmethod
    def _few_enough_batches(cls, value: int, info: ValidationInfo) -> int:
        replications = info.data.get("replications")
        if replications is None:
            return value
        batches = math.ceil(replications / value)
        if batches > MAX_BATCHES:
            raise ValueError(
                f"{replications} replications in batches of {value} make "
                f"{batches} jobs, at most {MAX_BATCHES}: give a batch_size of "
                f"at least {math.ceil(replications / MAX_BATCHES)}"
            )
        return value


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


def done_key(simulation_id: str) -> str:
    return f"{simulation_key(simulation_id)}:done"


def batch_job_id(simulation_id: str, batch: int) -> str:
    return f"{simulation_id}-{batch}"


async def _submitter(
    request: Request, principal: PlannerKey, services: ServicesDep
) -> Principal:
    """The planner, once the body is declared JSON and Redis cannot evict
    the queued batches (as for plan requests: 415, then 503)."""
    require_json(request)
    problem = await services.readiness.problem()
    if problem is not None:
        raise HTTPException(503, f"not accepting simulations: {problem}")
    return principal


Submitter = Annotated[Principal, Depends(_submitter)]


@router.post(
    "",
    status_code=202,
    response_model=SimulationAccepted,
    summary="Simulate a scenario many times, in batches run by the workers",
)
def submit_simulation(
    body: SimulationSubmission,
    services: ServicesDep,
    principal: Submitter,
) -> SimulationAccepted:
    """Store the scenario and queue one job per batch of replications."""
    context = services.context
    redis = context.store.redis
    ttl_s = services.settings.job_result_ttl_s
    retries = services.settings.job_max_retries
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
                "batch_size": body.batch_size,
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
                retry=Retry(max=retries) if retries > 0 else None,
                job_id=batch_job_id(simulation_id, k),
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
    key = simulation_key(simulation_id)
    raw = redis.hgetall(key)
    if not raw:
        raise HTTPException(404, f"simulation '{simulation_id}' does not exist")
    record = text_hash(raw)
    replications = int(record["replications"])
    batches = int(record["batches"])
    done = _done_batches(redis, simulation_id, record)

    # Step 1: the status, from the finished batches and the batch jobs.
    status, reason = record["status"], record.get("reason") or None
    if status != "failed" and len(done) >= batches:
        status = "succeeded"
    elif status != "failed":
        reason = _lost_batch(redis, simulation_id, batches, done)
        if reason is not None:
            status = "failed"
            redis.hset(key, mapping={"status": status, "reason": reason})
            logger.warning("api: simulation %s failed: %s", simulation_id, reason)
        elif done:
            status = "running"

    # Step 2: the view, with the merged result once every batch is in.
    size = int(record.get("batch_size") or 0)
    view = SimulationView(
        simulation_id=simulation_id,
        status=status,
        replications=replications,
        replications_done=(
            sum(_batch_length(k, size, replications) for k in done)
            if size
            else int(record.get("replications_done") or 0)
        ),
        batches=batches,
        batches_done=len(done),
        reason=reason,
    )
    if view.status == "succeeded":
        result = _merged(redis, simulation_id, batches, int(record["seed"]))
        if record.get("facts"):
            describe(result, SiteFacts.model_validate_json(record["facts"]))
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


def _batch_length(batch: int, size: int, replications: int) -> int:
    return max(0, min(size, replications - batch * size))


def _done_batches(redis: Redis, simulation_id: str, record: dict[str, str]) -> set[int]:
    """The finished batches (for a record written before the set was kept,
    those whose runs are stored)."""
    members = redis.smembers(done_key(simulation_id))
    if members or "batch_size" in record:
        return {int(m) for m in members}
    batches = range(int(record["batches"]))
    with redis.pipeline(transaction=False) as pipe:
        for k in batches:
            pipe.exists(batch_key(simulation_id, k))
        stored = pipe.execute()
    return {k for k, found in zip(batches, stored, strict=True) if found}


def _lost_batch(
    redis: Redis, simulation_id: str, batches: int, done: set[int]
) -> str | None:
    """Why an unfinished batch will never finish, or None while each is
    queued, running or to be retried."""
    pending = [k for k in range(batches) if k not in done]
    with redis.pipeline(transaction=False) as pipe:
        for k in pending:
            pipe.hget(Job.key_for(batch_job_id(simulation_id, k)), "status")
        statuses = pipe.execute()
    for k, status in zip(pending, statuses, strict=True):
        if status is None:
            return f"batch {k} is no longer in the queue"
        if status.decode() == JobStatus.FAILED.value:
            job = Job.fetch(batch_job_id(simulation_id, k), connection=redis)
            return f"batch {k} failed: {_failure_reason(job)}"
    return None


def _failure_reason(job: Job) -> str:
    """A failed batch job's reason in a few words."""
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or ""
    if "AbandonedJobError" in text or "Work-horse terminated" in text:
        return "worker lost"
    if "JobTimeoutException" in text:
        return f"timeout (a batch may run {BATCH_TIMEOUT_S} s)"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "unknown error"


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
    """RQ entry point: run replications `start` .. `stop` - 1 of a simulation.

    A scenario that does not compile fails the simulation at once; any
    other error is left to RQ, which runs the batch again while it has
    retries left. Running a batch twice gives the same runs, counted once.
    """
    from rq import get_current_job

    from simulations.des_site import compile_site
    from simulations.dispatch import dispatch_options
    from simulations.montecarlo import run_batch, site_facts

    job = get_current_job()
    redis: Redis = job.connection if job is not None else _connect()
    key = simulation_key(simulation_id)
    scenario_json = redis.get(f"{key}:scenario")
    if scenario_json is None:
        logger.error("worker: simulation %s has no stored scenario", simulation_id)
        return "missing"
    status = redis.hget(key, "status")
    if status == b"failed":
        logger.info(
            "worker: simulation %s batch %d: skipped, the simulation has failed",
            simulation_id,
            batch,
        )
        return "skipped"
    if status == b"queued":
        redis.hset(key, "status", "running")
    seed = int(redis.hget(key, "seed") or 0)
    logger.info(
        "worker: simulation %s batch %d: replications %d-%d",
        simulation_id,
        batch,
        start,
        stop - 1,
    )

    # Step 1: the model, compiled in this process.
    facts: SiteFacts | None = None
    try:
        scenario = Scenario.model_validate_json(scenario_json)
        if scenario.kind == "single_queue":
            assert scenario.single_queue is not None
            model: Any = scenario.single_queue
            options: dict[str, Any] = {}
        else:
            model = compile_site(scenario)
            options = dispatch_options(model)
            facts = site_facts(model)
    except ValueError as exc:
        logger.warning(
            "worker: simulation %s batch %d: the scenario cannot be simulated: %s",
            simulation_id,
            batch,
            exc,
        )
        redis.hset(key, mapping={"status": "failed", "reason": str(exc)[:500]})
        return "failed"

    # Step 2: the runs, saved once whatever the number of attempts.
    runs = run_batch(model, seed, range(start, stop), **options)
    ttl_s = max(1, redis.ttl(key))
    with redis.pipeline() as pipe:
        pipe.set(
            batch_key(simulation_id, batch),
            json.dumps([_run_to_json(run) for run in runs]),
            ex=ttl_s,
        )
        if facts is not None:
            pipe.hset(key, "facts", facts.model_dump_json())
        pipe.sadd(done_key(simulation_id), batch)
        pipe.expire(done_key(simulation_id), ttl_s)
        pipe.scard(done_key(simulation_id))
        done = pipe.execute()[-1]
    finished = done >= int(redis.hget(key, "batches") or 0)
    if finished and redis.hget(key, "status") != b"failed":
        redis.hset(key, "status", "succeeded")
        logger.info("worker: simulation %s succeeded", simulation_id)
    return "ok"


def _connect() -> Redis:
    from api.settings import load_settings

    return Redis.from_url(load_settings().redis_url)
