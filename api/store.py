"""The Redis plan store: requests, plan revisions, jobs and published plans.

Key layout (all under `clearplan:`), and why each lives apart:

- `plan:{plan_id}` hash (site, job, latest revision) and
  `plan:{plan_id}:request`: written when the plan is asked for, never
  expire, so a plan outlives the record of the job that made it;
- `plan:{plan_id}:rev:{n}`: one plan revision as JSON, written once
  (`SET NX`) and never changed;
- `plan:{plan_id}:incumbent`: the best plan so far while a job solves, so
  a cancel or a crash still leaves a plan;
- `job:{job_id}` hash: status, attempt, heartbeat and progress; it expires
  `job_result_ttl_s` after the job ends. `jobs` (a sorted set by creation
  time) remembers ids so an expired job answers 410, not 404;
- `jobs:running`: ids of running jobs, scanned for lost workers;
- `site:{site}:published`: `{plan_id}:{revision}` of the site's current
  plan, swapped with one `SET`; `dock:{plan_id}:{revision}` the dock
  schedule documents of that revision by local date, written before the
  swap, so a reader sees the old schedule or the new, never a mix.

Writes that must go together go in one transaction or one Lua script; the
attempt number fences a job's writes, so a worker that was declared lost
and comes back cannot overwrite the attempt that replaced it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.backoff import ExponentialBackoff
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

PREFIX = "clearplan:"
RUNNING = PREFIX + "jobs:running"
JOB_INDEX = PREFIX + "jobs"

# Job ids stay in the index this long after their record expired, to
# answer 410 rather than 404.
INDEX_KEEP_S = 30 * 24 * 3600


SAFE_EVICTION_POLICY = "noeviction"


def eviction_problem(policy: str | None) -> str | None:
    """Why a Redis with this `maxmemory-policy` may lose the service's keys."""
    if policy is None:
        return "cannot read maxmemory-policy (CONFIG GET is refused)"
    if policy != SAFE_EVICTION_POLICY:
        return (
            f"maxmemory-policy is '{policy}': Redis may evict plans and queued "
            f"jobs; set it to '{SAFE_EVICTION_POLICY}'"
        )
    return None


def read_eviction_policy(redis: Redis) -> str | None:
    """The server's `maxmemory-policy`, or None when CONFIG is refused."""
    try:
        answer = redis.config_get("maxmemory-policy")
    except ResponseError:
        return None
    for name, value in answer.items():
        if text(name) == "maxmemory-policy":
            return text(value)
    return None


def text(value: Any) -> str:
    """A Redis reply as text (the clients here do not decode replies)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def raw_bytes(value: Any) -> bytes:
    """A Redis reply as bytes."""
    return value.encode() if isinstance(value, str) else bytes(value)


def text_hash(raw: Any) -> dict[str, str]:
    """A Redis hash reply with text keys and values."""
    return {text(k): text(v) for k, v in raw.items()}


def connect(redis_url: str) -> Redis:
    """A client of the service's Redis, replies undecoded.

    Idle connections are checked before use and a failed command is tried
    twice more on a fresh connection: Redis may close idle clients
    (`timeout` in its config) or restart, and the service must not answer
    503 for that.
    """
    return Redis.from_url(redis_url, **_client_options())


def connect_async(redis_url: str) -> AsyncRedis:
    """The asyncio flavour of :func:`connect`, for the web process."""
    return AsyncRedis.from_url(redis_url, **_client_options(asynchronous=True))


def _client_options(asynchronous: bool = False) -> dict[str, Any]:
    if asynchronous:
        from redis.asyncio.retry import Retry as AsyncRetry

        retry: Any = AsyncRetry(ExponentialBackoff(cap=0.2, base=0.02), 2)
    else:
        retry = Retry(ExponentialBackoff(cap=0.2, base=0.02), 2)
    return {
        "socket_connect_timeout": 2,
        "socket_timeout": 10,
        "health_check_interval": 10,
        "retry": retry,
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


FINAL_STATUSES = frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled})


def job_key(job_id: str) -> str:
    return f"{PREFIX}job:{job_id}"


def plan_key(plan_id: str) -> str:
    return f"{PREFIX}plan:{plan_id}"


def request_key(plan_id: str) -> str:
    return f"{PREFIX}plan:{plan_id}:request"


def revision_key(plan_id: str, revision: int) -> str:
    return f"{PREFIX}plan:{plan_id}:rev:{revision}"


def incumbent_key(plan_id: str) -> str:
    return f"{PREFIX}plan:{plan_id}:incumbent"


def published_key(site_id: str) -> str:
    return f"{PREFIX}site:{site_id}:published"


DOCK_PREFIX = PREFIX + "dock:"


def dock_key(plan_id: str, revision: int) -> str:
    return f"{DOCK_PREFIX}{plan_id}:{revision}"


def idempotency_key(owner: str, key: str) -> str:
    return f"{PREFIX}idem:{owner}:{key}"


@dataclass
class JobRecord:
    """What the store knows of one job, as read from its hash."""

    job_id: str
    plan_id: str
    site_id: str
    status: JobStatus
    attempt: int
    created_at: float
    time_limit_s: float
    queue_timeout_s: int
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    best_objective: float | None = None
    best_bound: float | None = None
    elapsed_s: float | None = None
    reason: str = ""
    force_stopped: bool = False
    cancel_requested: bool = False
    revision: int | None = None

    @classmethod
    def from_hash(cls, job_id: str, raw: Any) -> JobRecord:
        data = text_hash(raw)

        def number(name: str) -> float | None:
            text = data.get(name, "")
            return float(text) if text else None

        revision = data.get("revision", "")
        return cls(
            job_id=job_id,
            plan_id=data["plan_id"],
            site_id=data["site_id"],
            status=JobStatus(data["status"]),
            attempt=int(data["attempt"]),
            created_at=float(data["created_at"]),
            time_limit_s=float(data["time_limit_s"]),
            queue_timeout_s=int(data["queue_timeout_s"]),
            started_at=number("started_at"),
            finished_at=number("finished_at"),
            heartbeat_at=number("heartbeat_at"),
            best_objective=number("best_objective"),
            best_bound=number("best_bound"),
            elapsed_s=number("elapsed_s"),
            reason=data.get("reason", ""),
            force_stopped=data.get("force_stopped") == "1",
            cancel_requested=data.get("cancel_requested") == "1",
            revision=int(revision) if revision else None,
        )


# Start an attempt: only a queued job whose attempt matches may start.
_START = """
local job = KEYS[1]
local status = redis.call('HGET', job, 'status')
if status ~= 'queued' then return status or 'missing' end
if redis.call('HGET', job, 'attempt') ~= ARGV[1] then return 'superseded' end
redis.call('HSET', job, 'status', 'running', 'started_at', ARGV[2],
           'heartbeat_at', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 'ok'
"""

# Heartbeat and progress of a running attempt; answers whether to cancel.
_BEAT = """
local job = KEYS[1]
if redis.call('HGET', job, 'status') ~= 'running'
   or redis.call('HGET', job, 'attempt') ~= ARGV[1] then
  return 'fenced'
end
redis.call('HSET', job, 'heartbeat_at', ARGV[2])
for i = 4, #ARGV, 2 do redis.call('HSET', job, ARGV[i], ARGV[i + 1]) end
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3]) end
if redis.call('HGET', job, 'cancel_requested') == '1' then return 'cancel' end
return 'ok'
"""

# End an attempt: write the plan as revision 1 (if any), the final status,
# and start the record's expiry, all or nothing.
_FINISH = """
local job = KEYS[1]
if redis.call('HGET', job, 'status') ~= 'running'
   or redis.call('HGET', job, 'attempt') ~= ARGV[1] then
  return 'fenced'
end
if ARGV[9] ~= '' then
  local beat = tonumber(redis.call('HGET', job, 'heartbeat_at') or '0') or 0
  if beat >= tonumber(ARGV[9]) then return 'alive' end
end
if ARGV[5] ~= '' then
  if redis.call('SET', KEYS[3], ARGV[5], 'NX') == false then
    return 'exists'
  end
  redis.call('HSET', KEYS[4], 'latest', '1')
  redis.call('HSET', job, 'revision', '1')
end
redis.call('HSET', job, 'status', ARGV[2], 'reason', ARGV[3],
           'finished_at', ARGV[4], 'force_stopped', ARGV[6])
redis.call('EXPIRE', job, ARGV[7])
redis.call('SREM', KEYS[2], ARGV[8])
redis.call('DEL', KEYS[5])
return 'ok'
"""

# Cancel: a queued job ends at once; a running one is asked to stop.
_CANCEL = """
local job = KEYS[1]
local status = redis.call('HGET', job, 'status')
if status == 'queued' then
  redis.call('HSET', job, 'status', 'cancelled', 'finished_at', ARGV[1],
             'reason', 'cancelled before it started')
  redis.call('EXPIRE', job, ARGV[2])
  return 'cancelled'
end
if status == 'running' then
  redis.call('HSET', job, 'cancel_requested', '1')
  return 'cancelling'
end
return status or 'missing'
"""

# The published dock schedule of a site for one date, in one round trip.
DOCK_READ = """
local pointer = redis.call('GET', KEYS[1])
if not pointer then return false end
local doc = redis.call('HMGET', ARGV[1] .. pointer, ARGV[2] .. '|body',
                       ARGV[2] .. '|etag')
return {pointer, doc[1] or '', doc[2] or ''}
"""


class Store:
    """Synchronous access to the plan store, for the API and the workers.

    Parameters
    ----------
    redis
        A client of the service's Redis; it must not decode responses.
    result_ttl_s
        How long a finished job's record stays readable.
    """

    def __init__(self, redis: Redis, result_ttl_s: int) -> None:
        self.redis = redis
        self.result_ttl_s = result_ttl_s
        self._start = redis.register_script(_START)
        self._beat = redis.register_script(_BEAT)
        self._finish = redis.register_script(_FINISH)
        self._cancel = redis.register_script(_CANCEL)
        self._dock_read = redis.register_script(DOCK_READ)

    # ------------------------------------------------------------------ plans

    def create_plan_job(
        self,
        pipe: Pipeline,
        *,
        job_id: str,
        plan_id: str,
        site_id: str,
        request_json: bytes,
        input_hash: str,
        time_limit_s: float,
        queue_timeout_s: int,
    ) -> None:
        """Queue, in `pipe`, the writes of a new plan and its first job."""
        now = f"{time.time():.6f}"
        pipe.set(request_key(plan_id), request_json, nx=True)
        pipe.hset(
            plan_key(plan_id),
            mapping={
                "site_id": site_id,
                "job_id": job_id,
                "latest": "0",
                "created_at": now,
                "input_hash": input_hash,
            },
        )
        pipe.hset(
            job_key(job_id),
            mapping={
                "plan_id": plan_id,
                "site_id": site_id,
                "status": JobStatus.queued.value,
                "attempt": "1",
                "created_at": now,
                "time_limit_s": repr(time_limit_s),
                "queue_timeout_s": str(queue_timeout_s),
            },
        )
        pipe.zadd(JOB_INDEX, {job_id: float(now)})

    def plan_meta(self, plan_id: str) -> dict[str, str] | None:
        raw = self.redis.hgetall(plan_key(plan_id))
        if not raw:
            return None
        return text_hash(raw)

    def latest_revision(self, plan_id: str) -> int | None:
        """The newest revision of a plan, 0 while its job has none, or None."""
        latest = self.redis.hget(plan_key(plan_id), "latest")
        return None if latest is None else int(latest)

    def plan_json(self, plan_id: str, revision: int) -> bytes | None:
        data = self.redis.get(revision_key(plan_id, revision))
        return None if data is None else raw_bytes(data)

    def request_json(self, plan_id: str) -> bytes | None:
        data = self.redis.get(request_key(plan_id))
        return None if data is None else raw_bytes(data)

    def add_revision(self, plan_id: str, revision: int, plan_json: bytes) -> bool:
        """Write a revision once; False when that revision already exists."""
        with self.redis.pipeline() as pipe:
            pipe.set(revision_key(plan_id, revision), plan_json, nx=True)
            pipe.hset(plan_key(plan_id), "latest", str(revision))
            written, _ = pipe.execute()
        return bool(written)

    def incumbent_json(self, plan_id: str) -> bytes | None:
        data = self.redis.get(incumbent_key(plan_id))
        return None if data is None else raw_bytes(data)

    # ------------------------------------------------------------------- jobs

    def job(self, job_id: str) -> JobRecord | None:
        raw = self.redis.hgetall(job_key(job_id))
        return JobRecord.from_hash(job_id, raw) if raw else None

    def job_was_known(self, job_id: str) -> bool:
        """Whether the id belonged to a job whose record has expired."""
        return self.redis.zscore(JOB_INDEX, job_id) is not None

    def iter_jobs(self, batch: int = 200) -> Iterator[JobRecord]:
        """Jobs newest first; expired ones are left out."""
        start = 0
        while True:
            ids = self.redis.zrevrange(JOB_INDEX, start, start + batch - 1)
            if not ids:
                return
            with self.redis.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.hgetall(job_key(text(job_id)))
                rows = pipe.execute()
            for job_id, raw in zip(ids, rows, strict=True):
                if raw:
                    yield JobRecord.from_hash(text(job_id), raw)
            start += batch

    def running_job_ids(self) -> list[str]:
        return sorted(text(member) for member in self.redis.smembers(RUNNING))

    def start_attempt(self, job_id: str, attempt: int) -> str:
        """Mark a queued attempt running; 'ok' or why it may not start."""
        answer = self._start(
            keys=[job_key(job_id), RUNNING],
            args=[str(attempt), f"{time.time():.6f}", job_id],
        )
        return text(answer)

    def beat(
        self,
        job_id: str,
        plan_id: str,
        attempt: int,
        progress: dict[str, str] | None = None,
        incumbent_json: bytes | None = None,
    ) -> str:
        """Heartbeat of a running attempt: 'ok', 'cancel' or 'fenced'."""
        args: list[Any] = [str(attempt), f"{time.time():.6f}", incumbent_json or b""]
        for name, value in (progress or {}).items():
            args += [name, value]
        answer = self._beat(keys=[job_key(job_id), incumbent_key(plan_id)], args=args)
        return text(answer)

    def finish_attempt(
        self,
        job_id: str,
        plan_id: str,
        attempt: int,
        status: JobStatus,
        *,
        reason: str = "",
        plan_json: bytes | None = None,
        force_stopped: bool = False,
        silent_since: float | None = None,
    ) -> str:
        """End a running attempt, with its plan when there is one.

        With `silent_since`, only if the attempt has not sent a heartbeat
        since then (a lost worker); answers 'alive' otherwise.
        """
        answer = self._finish(
            keys=[
                job_key(job_id),
                RUNNING,
                revision_key(plan_id, 1),
                plan_key(plan_id),
                incumbent_key(plan_id),
            ],
            args=[
                str(attempt),
                status.value,
                reason,
                f"{time.time():.6f}",
                plan_json or b"",
                "1" if force_stopped else "0",
                str(self.result_ttl_s),
                job_id,
                "" if silent_since is None else f"{silent_since:.6f}",
            ],
        )
        return text(answer)

    def requeue_attempt(
        self,
        job_id: str,
        attempt: int,
        reason: str,
        enqueue: Callable[[Pipeline, int], None],
        is_due: Callable[[JobRecord], bool] = lambda record: True,
    ) -> bool:
        """Move a running attempt back to the queue as attempt + 1.

        `enqueue` queues the queue's own writes in the same transaction, so
        a job is never marked queued without being in the queue. `is_due`
        re-checks the record inside the transaction. False when the record
        changed under us or is no longer due.
        """
        key = job_key(job_id)
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(key)
                raw = pipe.hgetall(key)
                if not raw:
                    return False
                record = JobRecord.from_hash(job_id, raw)
                if (
                    record.status != JobStatus.running
                    or record.attempt != attempt
                    or not is_due(record)
                ):
                    return False
                pipe.multi()
                pipe.hset(
                    key,
                    mapping={
                        "status": JobStatus.queued.value,
                        "attempt": str(attempt + 1),
                        "last_failure": reason,
                        "heartbeat_at": "",
                    },
                )
                pipe.srem(RUNNING, job_id)
                enqueue(pipe, attempt + 1)
                pipe.execute()
            except WatchError:
                return False
        return True

    def forget_running(self, job_id: str) -> None:
        self.redis.srem(RUNNING, job_id)

    def cancel(self, job_id: str) -> str:
        """'cancelled', 'cancelling', 'missing' or the job's final status."""
        answer = self._cancel(
            keys=[job_key(job_id)],
            args=[f"{time.time():.6f}", str(self.result_ttl_s)],
        )
        return text(answer)

    def trim_job_index(self, now: float) -> int:
        """Forget ids of jobs created long before any record could live."""
        horizon = now - self.result_ttl_s - INDEX_KEEP_S
        return int(self.redis.zremrangebyscore(JOB_INDEX, "-inf", horizon))

    def count_jobs_by_status(self, limit: int = 10_000) -> dict[str, int]:
        counts = {status.value: 0 for status in JobStatus}
        for i, record in enumerate(self.iter_jobs()):
            if i >= limit:
                break
            counts[record.status.value] += 1
        return counts

    # ------------------------------------------------------------- publishing

    def publish(
        self,
        site_id: str,
        plan_id: str,
        revision: int,
        documents: dict[str, bytes],
    ) -> None:
        """Make a revision the site's current plan, in one transaction."""
        with self.redis.pipeline() as pipe:
            if documents:
                pipe.hset(dock_key(plan_id, revision), mapping=dict(documents))  # type: ignore[arg-type]
            pipe.set(published_key(site_id), f"{plan_id}:{revision}")
            pipe.execute()

    def published(self, site_id: str) -> tuple[str, int] | None:
        pointer = self.redis.get(published_key(site_id))
        if pointer is None:
            return None
        plan_id, _, revision = text(pointer).rpartition(":")
        return plan_id, int(revision)

    def dock_document(
        self, site_id: str, field_prefix: str
    ) -> tuple[str, bytes, bytes] | None:
        """(pointer, body, etag) of a published dock document, sync flavour."""
        answer = self._dock_read(
            keys=[published_key(site_id)], args=[DOCK_PREFIX, field_prefix]
        )
        return _dock_answer(answer)

    # ----------------------------------------------------------- idempotency

    def remember_idempotency(
        self, pipe: Pipeline, owner: str, key: str, value: dict[str, str], ttl_s: int
    ) -> None:
        pipe.set(idempotency_key(owner, key), json.dumps(value), ex=ttl_s)

    def idempotency(self, owner: str, key: str) -> dict[str, str] | None:
        data = self.redis.get(idempotency_key(owner, key))
        return None if data is None else dict(json.loads(data))


DockAnswer = tuple[str, bytes, bytes] | None


class AsyncDockReader:
    """The dock-schedule read path for the event loop.

    One round trip per read, and each answer reused for `cache_s` seconds:
    every warehouse system polls the same few documents, so a busy web
    process reads each from Redis about once a second instead of at every
    poll.
    """

    def __init__(self, redis: AsyncRedis, cache_s: float) -> None:
        self._read = redis.register_script(DOCK_READ)
        self._cache_s = cache_s
        self._cache: dict[tuple[str, str], tuple[float, DockAnswer]] = {}

    async def document(self, site_id: str, field_prefix: str) -> DockAnswer:
        """(pointer, body, etag) of a site's published date, or None."""
        now = time.monotonic()
        cached = self._cache.get((site_id, field_prefix))
        if cached is not None and cached[0] > now:
            return cached[1]
        answer = _dock_answer(
            await self._read(
                keys=[published_key(site_id)], args=[DOCK_PREFIX, field_prefix]
            )
        )
        if self._cache_s > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[(site_id, field_prefix)] = (now + self._cache_s, answer)
        return answer


def _dock_answer(answer: Any) -> tuple[str, bytes, bytes] | None:
    if not answer:
        return None
    pointer, body, etag = answer
    return text(pointer), raw_bytes(body), raw_bytes(etag)
