"""Re-plan jobs: events for a stored plan, re-planned by a worker.

A re-plan job is a job record like a plan job's (same statuses, same
`/v1/jobs/{id}` view) with its events and re-planning time stored next to
it. A worker runs it with `run_replan_job`: it reads the parent revision,
runs `scheduler.replan.replan` in the job process and writes the result
as the next revision of the same plan, linked to its parent.

Re-planning runs in the job process, not in a watched child as a plan
solve does: it is short (its time limit is the request's), but a memory
cap and a forced stop do not apply to it.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from datetime import datetime

from redis.exceptions import RedisError

from api import jobs
from api.jobs import Context, rq_timeout_s
from api.settings import load_settings
from api.store import JOB_INDEX, JobStatus, job_key
from scheduler.models import Event, Plan
from scheduler.replan import replan

logger = logging.getLogger(__name__)

RQ_FUNCTION = "api.replan_jobs.run_replan_job"


def events_key(job_id: str) -> str:
    return f"{job_key(job_id)}:events"


def submit_replan(
    context: Context,
    parent: Plan,
    events: list[Event],
    at: datetime,
) -> str:
    """Store the events of a re-plan and queue its job; the job id.

    Parameters
    ----------
    parent
        The revision to re-plan (the latest, or the one asked for).
    events
        The checked events.
    at
        The re-planning time T.
    """
    job_id = "job_" + secrets.token_hex(10)
    time_limit_s = parent.request.settings.time_limit_s
    queue_timeout_s = context.settings.queue_timeout_s(time_limit_s)
    now = f"{time.time():.6f}"
    payload = json.dumps(
        {
            "parent_revision": parent.revision,
            "at": at.isoformat(),
            "events": [event.model_dump(mode="json") for event in events],
        }
    )
    with context.store.redis.pipeline() as pipe:
        pipe.multi()
        pipe.set(events_key(job_id), payload.encode())
        pipe.hset(
            job_key(job_id),
            mapping={
                "plan_id": parent.plan_id,
                "site_id": parent.request.site.id,
                "kind": "replan",
                "status": JobStatus.queued.value,
                "attempt": "1",
                "created_at": now,
                "time_limit_s": repr(time_limit_s),
                "queue_timeout_s": str(queue_timeout_s),
            },
        )
        pipe.zadd(JOB_INDEX, {job_id: float(now)})
        context.queue.enqueue_call(
            RQ_FUNCTION,
            args=(job_id, 1),
            timeout=rq_timeout_s(context.settings, queue_timeout_s),
            result_ttl=600,
            failure_ttl=context.settings.job_result_ttl_s,
            job_id=f"{job_id}-1",
            description=f"re-plan job {job_id}",
            pipeline=pipe,
        )
        pipe.execute()
    logger.info(
        "api: queued re-plan job %s for plan %s rev %d, %d events",
        job_id,
        parent.plan_id,
        parent.revision,
        len(events),
    )
    return job_id


def run_replan_job(job_id: str, attempt: int) -> str:
    """RQ entry point: re-plan one stored plan; returns how it ended."""
    context = jobs._worker_context or Context.connect(load_settings())
    store = context.store

    # Step 1: claim the attempt and read the parent and the events.
    answer = store.start_attempt(job_id, attempt)
    if answer != "ok":
        logger.info("worker: re-plan job %s not started: %s", job_id, answer)
        return answer
    record = store.job(job_id)
    stored = store.redis.get(events_key(job_id))
    if record is None or stored is None:
        logger.error("worker: re-plan job %s lost its record or events", job_id)
        return "missing"
    data = json.loads(stored)
    parent_json = store.plan_json(record.plan_id, int(data["parent_revision"]))
    if parent_json is None:
        return _end(context, job_id, record.plan_id, attempt, "parent plan missing")

    # Step 2: re-plan, keeping the heartbeat going.
    logger.info("worker: re-plan job %s attempt %d started", job_id, attempt)
    parent = Plan.model_validate_json(parent_json)
    events = [Event.model_validate(item) for item in data["events"]]
    done = threading.Event()
    beating = threading.Thread(
        target=_beat, args=(context, record.plan_id, job_id, attempt, done)
    )
    beating.start()
    try:
        revision = replan(parent, events, datetime.fromisoformat(data["at"]))
    except ValueError as exc:
        return _end(context, job_id, record.plan_id, attempt, str(exc))
    finally:
        done.set()
        beating.join()

    # Step 3: the next revision; a revision written meanwhile wins.
    latest = store.latest_revision(record.plan_id) or 0
    number = max(latest, parent.revision) + 1
    if number != revision.revision:
        revision = revision.model_copy(update={"revision": number})
    if not store.add_revision(
        record.plan_id, number, revision.model_dump_json().encode()
    ):
        return _end(context, job_id, record.plan_id, attempt, "revision exists")
    store.redis.hset(job_key(job_id), "revision", str(number))
    finished = store.finish_attempt(
        job_id, record.plan_id, attempt, JobStatus.succeeded
    )
    logger.info(
        "worker: re-plan job %s wrote plan %s rev %d (%s)",
        job_id,
        record.plan_id,
        number,
        finished,
    )
    return JobStatus.succeeded.value


def _beat(
    context: Context, plan_id: str, job_id: str, attempt: int, done: threading.Event
) -> None:
    """Heartbeats while re-planning, so the job is not taken for lost."""
    while not done.wait(min(1.0, context.settings.worker_heartbeat_s / 2)):
        try:
            context.store.beat(job_id, plan_id, attempt, {}, None)
        except RedisError as exc:
            logger.warning("worker: re-plan job %s: heartbeat failed: %s", job_id, exc)


def _end(context: Context, job_id: str, plan_id: str, attempt: int, reason: str) -> str:
    logger.warning("worker: re-plan job %s failed: %s", job_id, reason)
    context.store.finish_attempt(
        job_id, plan_id, attempt, JobStatus.failed, reason=reason
    )
    return JobStatus.failed.value
