"""Service settings, read from `CLEARPLAN_*` environment variables once at start.

Every process of the service (`clearplan serve`, `clearplan worker`,
`clearplan keys`) calls :func:`load_settings` when it starts and refuses to
run on a value that would lose work or hide a fault, with one sentence
naming the variable and its allowed range.
"""

from __future__ import annotations

import logging
import math
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scheduler.errors import describe

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
GIB = 1024 * MIB

# A CP-SAT solve with a few workers reserves about 800 MiB of address space
# before it holds any model (thread stacks and malloc arenas), so a cap
# below 1 GiB would fail every job rather than protect the machine.
MIN_JOB_MEMORY_BYTES = GIB


class ServiceSettings(BaseSettings):
    """Settings of the web service and its workers.

    Parameters
    ----------
    redis_url
        The Redis holding plans, jobs, keys and the queue
        (`CLEARPLAN_REDIS_URL`).
    max_body_bytes
        Largest request body the API reads; larger ones get 413.
    job_result_ttl_s
        How long a finished job's record stays readable. Plans and requests
        do not expire with it.
    job_memory_bytes
        Address-space cap of the process that solves one job.
    job_max_retries
        Further attempts after a job runs out of memory or loses its
        worker; after them it fails with its reason.
    queue_timeout_margin_s
        Added to a request's solver time limit to give the job's queue
        timeout (model build, validation and saving).
    worker_heartbeat_s
        How often a running job proves its worker alive; a job silent for
        three heartbeats is lost.
    cancel_grace_s
        How long a solver may take to stop after a cancel or a timeout
        before it is killed.
    idempotency_ttl_s
        How long an `Idempotency-Key` is remembered.
    key_cache_s
        How long the API trusts an API key it has looked up; a revoked key
        stops working within this time.
    dock_cache_s
        How long a web process reuses a published dock schedule it has
        read; a publish reaches every poller within this time. 0 reads
        Redis on every poll.
    queue_name
        The RQ queue the API fills and the workers drain.
    solve_function
        Test-only: `module:function` called instead of the planning
        engine, with the engine's signature. Never set in production.
    """

    model_config = SettingsConfigDict(
        env_prefix="CLEARPLAN_", extra="ignore", frozen=True
    )

    redis_url: str = "redis://127.0.0.1:6379/0"
    max_body_bytes: Annotated[int, Field(ge=1024, le=GIB)] = 32 * MIB
    job_result_ttl_s: Annotated[int, Field(ge=1, le=90 * 24 * 3600)] = 7 * 24 * 3600
    job_memory_bytes: Annotated[int, Field(ge=MIN_JOB_MEMORY_BYTES, le=1024 * GIB)] = (
        4 * GIB
    )
    job_max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    queue_timeout_margin_s: Annotated[int, Field(ge=2, le=3600)] = 120
    worker_heartbeat_s: Annotated[float, Field(ge=0.5, le=300)] = 10.0
    cancel_grace_s: Annotated[float, Field(ge=0.5, le=60)] = 3.0
    idempotency_ttl_s: Annotated[int, Field(ge=60, le=30 * 24 * 3600)] = 24 * 3600
    key_cache_s: Annotated[float, Field(ge=0, le=300)] = 5.0
    dock_cache_s: Annotated[float, Field(ge=0, le=60)] = 1.0
    queue_name: Annotated[str, Field(min_length=1, max_length=64)] = "clearplan"
    solve_function: str | None = None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("solve_function")
    @classmethod
    def _import_path(cls, value: str | None) -> str | None:
        if value is not None and value.count(":") != 1:
            raise ValueError("must be an import path 'module:function'")
        return value

    @property
    def lost_after_s(self) -> float:
        """Silence after which a running job's worker counts as lost."""
        return 3 * self.worker_heartbeat_s

    @property
    def worker_lost_bound_s(self) -> float:
        """Longest time from a worker's death to its job being re-queued.

        The job goes silent for `lost_after_s`; every idle worker, every
        supervising worker and every read of the job through the API
        checks for silent jobs at least once a heartbeat.
        """
        return self.lost_after_s + self.worker_heartbeat_s

    def queue_timeout_s(self, time_limit_s: float) -> int:
        """The queue timeout of a job whose solver limit is `time_limit_s`."""
        return math.ceil(time_limit_s) + self.queue_timeout_margin_s


class SettingsError(ValueError):
    """An environment variable holds a value the service refuses to run with."""


def load_settings() -> ServiceSettings:
    """Read and check the settings from the environment, once, at start.

    Raises
    ------
    SettingsError
        One sentence per refused variable, naming it.
    """
    try:
        settings = ServiceSettings()
    except ValidationError as exc:
        problems = []
        for line in describe(exc):
            field, _, rule = line.partition(": ")
            problems.append(f"CLEARPLAN_{field.upper()}: {rule}")
        raise SettingsError("; ".join(problems)) from exc
    if settings.solve_function is not None:
        logger.warning(
            "settings: CLEARPLAN_SOLVE_FUNCTION=%s replaces the planning engine; "
            "it is meant for tests only",
            settings.solve_function,
        )
    return settings
