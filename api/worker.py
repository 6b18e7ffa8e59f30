"""The `clearplan worker` process: pulls plan jobs from the RQ queue.

Run as many as the machines allow, on as many machines as needed, all
against the one Redis: each takes one job at a time, forks a process per
job (RQ's work horse) which forks the capped solve process
(`api.supervisor`). Between jobs, and every heartbeat while supervising
one, a worker looks for running jobs whose worker went silent and queues
them again (`api.jobs.reap_lost_jobs`). A Redis outage while a job runs
makes RQ quit; the worker then waits for that job and for Redis, and
starts over, so restarting Redis needs no worker restart.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import sys
import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Worker
from rq.utils import now

from api.jobs import Context, reap_lost_jobs, set_worker_context
from api.settings import ServiceSettings, SettingsError, load_settings
from api.store import eviction_problem, read_eviction_policy
from api.supervisor import ENGINE, resolve

logger = logging.getLogger(__name__)

# RQ's own registry cleaning is slower work; the reaper runs every heartbeat.
RQ_MAINTENANCE_S = 60.0

# RQ quits when Redis fails while it watches a job; the worker then waits
# this long for Redis to answer again and starts over. Past that (or after
# this many outages) it exits with code 1 for its process manager.
REDIS_OUTAGE_S = 3600.0
REDIS_RETRY_S = 1.0
MAX_REDIS_RESTARTS = 1000


class PlanWorker(Worker):
    """An RQ worker that also recovers jobs lost by dead workers."""

    context: Context
    _last_rq_maintenance: float = 0.0

    def run_maintenance_tasks(self) -> None:
        try:
            reap_lost_jobs(self.context)
        except RedisError as exc:
            logger.warning("worker %s: reaper could not run: %s", self.name, exc)
        moment = now()
        if moment.timestamp() - self._last_rq_maintenance > RQ_MAINTENANCE_S:
            self._last_rq_maintenance = moment.timestamp()
            super().run_maintenance_tasks()
        else:
            self.last_cleaned_at = moment  # type: ignore[assignment]


def build_worker(context: Context, name: str | None = None) -> PlanWorker:
    """A worker on the service's queue, its clocks set from the heartbeat."""
    heartbeat_s = max(1, math.ceil(context.settings.worker_heartbeat_s))
    worker = PlanWorker(
        [context.queue],
        connection=context.store.redis,
        name=name,
        # RQ waits `worker_ttl - 15` s for a job before its maintenance.
        worker_ttl=15 + heartbeat_s,
        job_monitoring_interval=heartbeat_s,
        maintenance_interval=heartbeat_s,
    )
    worker.context = context
    return worker


def _preload_engine(solve_path: str) -> None:
    """Import the planning engine once, so every job's fork starts with it
    loaded (OR-Tools takes about a second to import)."""
    try:
        resolve(solve_path)
    except (ImportError, AttributeError) as exc:
        logger.warning("worker: the planning engine cannot be loaded yet: %s", exc)


def run_worker(
    settings: ServiceSettings, *, burst: bool = False, name: str | None = None
) -> int:
    """Check Redis, then work until stopped; the process exit code."""
    context = Context.connect(settings)
    try:
        context.store.redis.ping()
        problem = eviction_problem(read_eviction_policy(context.store.redis))
    except RedisError as exc:
        logger.error("worker: cannot reach Redis at the configured URL: %s", exc)
        return 2
    if problem is not None:
        logger.error("worker: refusing to start: %s", problem)
        return 2
    set_worker_context(context)
    _preload_engine(settings.solve_function or ENGINE)
    worker = build_worker(context, name)
    logger.info(
        "worker %s: started on queue %s (lost-worker bound %.0f s)",
        worker.name,
        settings.queue_name,
        settings.worker_lost_bound_s,
    )
    for _ in range(MAX_REDIS_RESTARTS):
        try:
            worker.work(burst=burst, logging_level="INFO")
            return 0
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if getattr(worker, "_stop_requested", False):
                return 0
            logger.warning(
                "worker %s: lost Redis while working (%s); starting again "
                "once it answers",
                worker.name,
                exc,
            )
        if not _outlast_outage(worker, context.store.redis):
            logger.error(
                "worker %s: Redis did not answer for %.0f s; stopping",
                worker.name,
                REDIS_OUTAGE_S,
            )
            return 1
        worker = build_worker(context, name)
        logger.info("worker %s: started again after a Redis outage", worker.name)
    logger.error("worker: Redis failed %d times; stopping", MAX_REDIS_RESTARTS)
    return 1


def _outlast_outage(worker: PlanWorker, redis: Redis) -> bool:
    """Wait for the job in hand to end and for Redis to answer; whether it
    did within `REDIS_OUTAGE_S`."""
    # RQ's signal handlers need Redis; meanwhile a stop signal just ends
    # the process (a job in hand carries on in its own process group).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)

    # Step 1: one job at a time. The work horse keeps solving through the
    # outage and records its result when Redis is back; its own job
    # timeout bounds this wait.
    if worker.horse_pid:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(worker.horse_pid, 0)

    # Step 2: wait for Redis, then do what RQ's teardown could not: mark
    # the old worker dead (so the new one may take its name) and stop its
    # command listener.
    deadline = time.monotonic() + REDIS_OUTAGE_S
    while time.monotonic() < deadline:
        try:
            redis.ping()
        except RedisError:
            time.sleep(REDIS_RETRY_S)
            continue
        with contextlib.suppress(RedisError):
            worker.register_death()
        with contextlib.suppress(RedisError):
            worker.unsubscribe()
        return True
    return False


def main(burst: bool = False, name: str | None = None) -> int:
    """Entry point of `clearplan worker`: settings, logging, then work."""
    logging.getLogger("api").setLevel(logging.INFO)
    try:
        settings = load_settings()
    except SettingsError as exc:
        logger.error("worker: %s", exc)
        return 2
    return run_worker(settings, burst=burst, name=name)


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    sys.exit(main(burst="--burst" in sys.argv))
