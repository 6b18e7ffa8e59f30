"""The `clearplan worker` process: pulls plan jobs from the RQ queue.

Run as many as the machines allow, on as many machines as needed, all
against the one Redis: each takes one job at a time, forks a process per
job (RQ's work horse) which forks the capped solve process
(`api.supervisor`). Between jobs, and every heartbeat while supervising
one, a worker looks for running jobs whose worker went silent and queues
them again (`api.jobs.reap_lost_jobs`).
"""

from __future__ import annotations

import logging
import math
import sys

from redis.exceptions import RedisError
from rq import Worker
from rq.utils import now

from api.jobs import Context, reap_lost_jobs, set_worker_context
from api.settings import ServiceSettings, SettingsError, load_settings
from api.store import eviction_problem, read_eviction_policy
from api.supervisor import ENGINE, resolve

logger = logging.getLogger(__name__)

# RQ's own registry cleaning is slower work; the reaper runs every heartbeat.
RQ_MAINTENANCE_S = 60.0


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
    worker.work(burst=burst, logging_level="INFO")
    return 0


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
