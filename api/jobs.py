"""Plan jobs: submitting them to the RQ queue, running them, finding lost ones.

A job is one request to plan; each try at it is an *attempt*. The job's
record in the store (`api.store`) is the truth the API shows; RQ only
carries `(job id, attempt)` to a worker. Statuses: `queued`, `running`
(with the best objective so far), `succeeded`, `failed` (with a reason:
"timeout", "resource limit", "worker lost", ...), `cancelled`.

Timeouts: a job's queue timeout is its request's `time_limit_s` plus
`queue_timeout_margin_s`, counted from the attempt's start. At that instant
the supervisor asks the solver to stop, keeps the plan it returns (or its
last incumbent) and fails the job with reason "timeout". RQ's own job
timeout is set a little later, as a backstop that only kills.

Retries: an attempt that runs out of memory, crashes or loses its worker is
queued again as the next attempt while attempts remain
(`1 + job_max_retries`), then fails with its reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.client import Pipeline
from redis.exceptions import RedisError, WatchError
from rq import Queue
from rq.timeouts import JobTimeoutException

from api.settings import ServiceSettings, load_settings
from api.store import JobRecord, JobStatus, Store, connect, idempotency_key
from api.supervisor import ENGINE, TIMEOUT, Hooks, Limits, Outcome, supervise
from scheduler.models import Plan, PlanStatus, Request

logger = logging.getLogger(__name__)

RQ_FUNCTION = "api.jobs.run_plan_job"
WORKER_LOST = "worker lost"
CANCELLED_BY_REQUEST = "cancelled by request"

# RQ's alarm fires this long after our own deadline plus the stop grace,
# leaving time to save the plan the solver returned.
RQ_BACKSTOP_S = 30


@dataclass(frozen=True)
class Context:
    """What a process needs to submit or run jobs."""

    settings: ServiceSettings
    store: Store
    queue: Queue

    @classmethod
    def connect(cls, settings: ServiceSettings) -> Context:
        redis = connect(settings.redis_url)
        queue = Queue(settings.queue_name, connection=redis)
        return cls(settings, Store(redis, settings.job_result_ttl_s), queue)


@dataclass(frozen=True)
class Submission:
    """The ids a POST answers with; `reused` for a repeated Idempotency-Key."""

    job_id: str
    plan_id: str
    reused: bool


class IdempotencyConflict(ValueError):
    """An Idempotency-Key was reused with a different request body."""


# ---------------------------------------------------------------- submit


def rq_timeout_s(settings: ServiceSettings, queue_timeout_s: int) -> int:
    """RQ's job timeout: ours, the stop grace, and time to save."""
    return queue_timeout_s + math.ceil(settings.cancel_grace_s) + RQ_BACKSTOP_S


def enqueue_attempt(
    context: Context, pipe: Pipeline, job_id: str, attempt: int, queue_timeout_s: int
) -> None:
    """Queue, in `pipe`, the RQ job that runs one attempt."""
    context.queue.enqueue_call(
        RQ_FUNCTION,
        args=(job_id, attempt),
        timeout=rq_timeout_s(context.settings, queue_timeout_s),
        result_ttl=600,
        failure_ttl=context.settings.job_result_ttl_s,
        job_id=f"{job_id}-{attempt}",
        description=f"plan job {job_id} attempt {attempt}",
        pipeline=pipe,
    )


def submit_plan(
    context: Context,
    request_json: bytes,
    *,
    site_id: str,
    time_limit_s: float,
    owner: str,
    idempotency: str | None = None,
) -> Submission:
    """Store a request and queue its job, all in one transaction.

    Parameters
    ----------
    request_json
        The validated request's body, stored as sent.
    site_id, time_limit_s
        Its site and solver time limit.
    owner
        The API key id; an Idempotency-Key is scoped to its owner.
    idempotency
        The Idempotency-Key header, if any.

    Raises
    ------
    IdempotencyConflict
        The key was used before with a different request.
    """
    # "The same body" is the same bytes: hashing them costs milliseconds
    # where a canonical form of a large request costs seconds.
    body_hash = "sha256:" + hashlib.sha256(request_json).hexdigest()
    settings = context.settings
    queue_timeout_s = settings.queue_timeout_s(time_limit_s)
    idem_key = idempotency_key(owner, idempotency) if idempotency else None
    with context.store.redis.pipeline() as pipe:
        while True:
            try:
                # Step 1: a repeated key answers with the first job.
                if idem_key is not None:
                    pipe.watch(idem_key)
                    first = context.store.idempotency(owner, idempotency or "")
                    if first is not None:
                        if first["body_hash"] != body_hash:
                            raise IdempotencyConflict(
                                "Idempotency-Key: already used with a different "
                                "request body"
                            )
                        return Submission(first["job_id"], first["plan_id"], True)

                # Step 2: the request, the job and its queue entry together.
                job_id = "job_" + secrets.token_hex(10)
                plan_id = "plan_" + secrets.token_hex(10)
                pipe.multi()
                context.store.create_plan_job(
                    pipe,
                    job_id=job_id,
                    plan_id=plan_id,
                    site_id=site_id,
                    request_json=request_json,
                    input_hash=body_hash,
                    time_limit_s=time_limit_s,
                    queue_timeout_s=queue_timeout_s,
                )
                if idem_key is not None:
                    context.store.remember_idempotency(
                        pipe,
                        owner,
                        idempotency or "",
                        {"body_hash": body_hash, "job_id": job_id, "plan_id": plan_id},
                        settings.idempotency_ttl_s,
                    )
                enqueue_attempt(context, pipe, job_id, 1, queue_timeout_s)
                pipe.execute()
            except WatchError:
                continue
            logger.info(
                "api: queued job %s for plan %s of site %s (queue timeout %d s)",
                job_id,
                plan_id,
                site_id,
                queue_timeout_s,
            )
            return Submission(job_id, plan_id, False)


# ------------------------------------------------------------ status view


def _instant(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def job_view(record: JobRecord) -> dict[str, Any]:
    """The job as the API shows it."""
    gap = None
    if record.best_objective is not None and record.best_bound is not None:
        gap = abs(record.best_objective - record.best_bound) / max(
            1.0, abs(record.best_objective)
        )
    return {
        "job_id": record.job_id,
        "plan_id": record.plan_id,
        "site_id": record.site_id,
        "status": record.status.value,
        "attempt": record.attempt,
        "created_at": _instant(record.created_at),
        "started_at": _instant(record.started_at),
        "finished_at": _instant(record.finished_at),
        "best_objective": record.best_objective,
        "best_bound": record.best_bound,
        "gap": gap,
        "elapsed_s": record.elapsed_s,
        "reason": record.reason or None,
        "force_stopped": record.force_stopped,
        "cancel_requested": record.cancel_requested,
        "revision": record.revision,
        "time_limit_s": record.time_limit_s,
        "queue_timeout_s": record.queue_timeout_s,
    }


# ---------------------------------------------------------- lost workers


def is_lost(record: JobRecord, settings: ServiceSettings, now: float) -> bool:
    """Whether a running job has been silent longer than a worker may be."""
    if record.status != JobStatus.running:
        return False
    last_sign = record.heartbeat_at or record.started_at or record.created_at
    return now - last_sign > settings.lost_after_s


def recover_lost(context: Context, record: JobRecord, now: float) -> bool:
    """Re-queue a lost job, or fail it with "worker lost" after its retries."""
    settings = context.settings
    silent_since = now - settings.lost_after_s
    if record.attempt <= settings.job_max_retries:
        requeued = context.store.requeue_attempt(
            record.job_id,
            record.attempt,
            WORKER_LOST,
            lambda pipe, attempt: enqueue_attempt(
                context, pipe, record.job_id, attempt, record.queue_timeout_s
            ),
            is_due=lambda fresh: is_lost(fresh, settings, now),
        )
        if requeued:
            logger.warning(
                "reaper: job %s lost its worker in attempt %d; queued again",
                record.job_id,
                record.attempt,
            )
        return requeued
    answer = context.store.finish_attempt(
        record.job_id,
        record.plan_id,
        record.attempt,
        JobStatus.failed,
        reason=WORKER_LOST,
        plan_json=context.store.incumbent_json(record.plan_id),
        silent_since=silent_since,
    )
    if answer == "ok":
        logger.warning(
            "reaper: job %s lost its worker in its last attempt %d; failed",
            record.job_id,
            record.attempt,
        )
    return answer == "ok"


def reap_lost_jobs(context: Context, now: float | None = None) -> list[str]:
    """Recover every running job whose worker went silent; their ids."""
    now = time.time() if now is None else now
    recovered = []
    for job_id in context.store.running_job_ids():
        record = context.store.job(job_id)
        if record is None or record.status != JobStatus.running:
            context.store.forget_running(job_id)
            continue
        if is_lost(record, context.settings, now) and recover_lost(
            context, record, now
        ):
            recovered.append(job_id)
    return recovered


# ------------------------------------------------------------- run a job


_worker_context: Context | None = None


def set_worker_context(context: Context) -> None:
    """Called once by the worker at start; forked job processes inherit it."""
    global _worker_context
    _worker_context = context


class _JobHooks(Hooks):
    """Connects the supervisor to the job's record: heartbeat, cancel, progress."""

    def __init__(self, context: Context, record: JobRecord) -> None:
        self.context = context
        self.record = record
        self._last_poll = 0.0
        self._last_answer = "ok"
        self._progress: dict[str, str] = {}
        self._incumbent: bytes | None = None
        self._last_reaped = time.monotonic()

    def poll(self) -> str:
        now = time.monotonic()
        if now - self._last_poll < 0.2 and not self._progress and not self._incumbent:
            return self._last_answer
        self._last_poll = now
        try:
            self._last_answer = self.context.store.beat(
                self.record.job_id,
                self.record.plan_id,
                self.record.attempt,
                self._progress,
                self._incumbent,
            )
        except RedisError as exc:
            # Keep solving through a Redis outage; if it outlasts the
            # lost-worker bound, the job is re-queued and this attempt is
            # fenced off when Redis is back.
            logger.warning(
                "worker: job %s: heartbeat failed: %s", self.record.job_id, exc
            )
            return self._last_answer
        self._progress, self._incumbent = {}, None
        # A busy worker still looks for other workers' lost jobs.
        if now - self._last_reaped > self.context.settings.worker_heartbeat_s:
            self._last_reaped = now
            with contextlib.suppress(RedisError):
                reap_lost_jobs(self.context)
        return self._last_answer

    def progress(self, objective: float, bound: float | None, elapsed_s: float) -> None:
        self._progress = {
            "best_objective": repr(float(objective)),
            "best_bound": "" if bound is None else repr(float(bound)),
            "elapsed_s": f"{elapsed_s:.3f}",
        }

    def incumbent(self, plan_json: bytes) -> None:
        self._incumbent = plan_json


def run_plan_job(job_id: str, attempt: int) -> str:
    """RQ entry point: run one attempt of a plan job; returns how it ended."""
    context = _worker_context or Context.connect(load_settings())
    store = context.store

    # Step 1: claim the attempt; a cancelled or superseded one is skipped.
    answer = store.start_attempt(job_id, attempt)
    if answer != "ok":
        logger.info(
            "worker: job %s attempt %d not started: %s", job_id, attempt, answer
        )
        return answer
    record = store.job(job_id)
    if record is None:
        logger.error("worker: job %s vanished after it started", job_id)
        return "missing"
    request_json = store.request_json(record.plan_id)
    if request_json is None:
        logger.error("worker: job %s has no stored request", job_id)
        return _finish(
            context, record, JobStatus.failed, "request missing", None, Outcome()
        )
    logger.info("worker: job %s attempt %d started", job_id, attempt)

    # Step 2: solve in a watched child process.
    request = Request.model_validate_json(request_json)
    limits = Limits(
        memory_bytes=context.settings.job_memory_bytes,
        deadline_s=time.monotonic() + record.queue_timeout_s,
        cancel_grace_s=context.settings.cancel_grace_s,
    )
    solve_path = context.settings.solve_function or ENGINE
    try:
        outcome = supervise(
            request, record.plan_id, solve_path, limits, _JobHooks(context, record)
        )
    except JobTimeoutException:
        outcome = Outcome(timed_out=True, force_stopped=True)
        outcome.incumbent_json = store.incumbent_json(record.plan_id)

    # Step 3: record how it ended.
    return _settle(context, record, outcome)


def _settle(context: Context, record: JobRecord, outcome: Outcome) -> str:
    store = context.store
    if outcome.fenced:
        logger.warning(
            "worker: job %s attempt %d was superseded; its result is dropped",
            record.job_id,
            record.attempt,
        )
        return "fenced"

    # A cancel or a timeout ends the job with whatever plan there is.
    if outcome.cancelled or outcome.timed_out:
        plan_json = outcome.plan_json or outcome.incumbent_json
        if outcome.cancelled:
            status, reason = JobStatus.cancelled, CANCELLED_BY_REQUEST
            plan_json = settle_cancelled(plan_json) if plan_json else None
        else:
            status, reason = JobStatus.failed, TIMEOUT
        return _finish(context, record, status, reason, plan_json, outcome)

    if outcome.plan_json is not None:
        return _finish(
            context, record, JobStatus.succeeded, "", outcome.plan_json, outcome
        )

    # No plan: try again while attempts remain, else fail with the reason.
    reason = outcome.failure or "solver ended without an answer"
    if outcome.retryable and record.attempt <= context.settings.job_max_retries:
        store.requeue_attempt(
            record.job_id,
            record.attempt,
            reason,
            lambda pipe, attempt: enqueue_attempt(
                context, pipe, record.job_id, attempt, record.queue_timeout_s
            ),
        )
        logger.warning(
            "worker: job %s attempt %d ended (%s); queued again",
            record.job_id,
            record.attempt,
            reason,
        )
        return "requeued"
    return _finish(
        context, record, JobStatus.failed, reason, outcome.incumbent_json, outcome
    )


def _finish(
    context: Context,
    record: JobRecord,
    status: JobStatus,
    reason: str,
    plan_json: bytes | None,
    outcome: Outcome,
) -> str:
    answer = context.store.finish_attempt(
        record.job_id,
        record.plan_id,
        record.attempt,
        status,
        reason=reason,
        plan_json=plan_json,
        force_stopped=outcome.force_stopped,
    )
    logger.info(
        "worker: job %s attempt %d %s%s%s",
        record.job_id,
        record.attempt,
        status.value,
        f" ({reason})" if reason else "",
        "" if answer == "ok" else f"; not recorded: {answer}",
    )
    return status.value if answer == "ok" else answer


def settle_cancelled(plan_json: bytes) -> bytes:
    """Mark a plan cut short by a cancel as `cancelled`.

    Only a plan whose bound equals its objective is optimal; whatever the
    engine said, anything else stopped early is the best found so far.
    """
    plan = Plan.model_validate_json(plan_json)
    if plan.status in (PlanStatus.infeasible, PlanStatus.failed):
        return plan_json
    proven = plan.bound is not None and plan.bound == plan.objective.total
    status = PlanStatus.optimal if proven else PlanStatus.cancelled
    if status == plan.status:
        return plan_json
    reason = plan.status_reason or "cancelled: the best plan found so far"
    updated = plan.model_copy(update={"status": status, "status_reason": reason})
    return updated.model_dump_json().encode()
