"""Checking a request body before it is queued, off the event loop.

Validating a large request is seconds of CPU that hold Python's global
lock (about 6 s for a 20 MB forecast on this project's 2-core machines), so
a body above `LARGE_BODY_BYTES` is checked in a separate process and the
web process keeps answering polls and health checks meanwhile. Only a
small summary comes back: the raw body is what is stored, and the worker
validates it again before solving.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from scheduler.errors import describe
from scheduler.models import Request

logger = logging.getLogger(__name__)

LARGE_BODY_BYTES = 1024 * 1024


class CheckerUnavailable(RuntimeError):
    """The helper process died twice running on one body (out of memory,
    killed); the caller should answer 503 and the client retry later."""


@dataclass(frozen=True)
class Checked:
    """What the API needs of a request: its site and time limit, or why not."""

    site_id: str = ""
    time_limit_s: float = 0.0
    problems: list[str] = field(default_factory=list)


def check_request(body: bytes, job_memory_bytes: int) -> Checked:
    """Validate a request body and check a job can hold its model."""
    try:
        request = Request.model_validate_json(body)
    except ValidationError as exc:
        return Checked(problems=describe(exc))
    try:
        from scheduler.sizing import ModelTooLarge, check_size
    except ImportError:  # the size estimate lands with the task plan engine
        pass
    else:
        try:
            check_size(request, job_memory_bytes)
        except ModelTooLarge as exc:
            return Checked(problems=[str(exc)])
    return Checked(request.site.id, request.settings.time_limit_s)


class RequestChecker:
    """Checks bodies in a thread when small, in a helper process when large.

    Parameters
    ----------
    job_memory_bytes
        The job memory cap the model size is checked against.
    """

    def __init__(self, job_memory_bytes: int) -> None:
        self._job_memory_bytes = job_memory_bytes
        self._pool: ProcessPoolExecutor | None = None

    async def check(self, body: bytes) -> Checked:
        """The body's summary or problems.

        Raises
        ------
        CheckerUnavailable
            The helper process died on this body, on a fresh helper too.
        """
        if len(body) <= LARGE_BODY_BYTES:
            return await run_in_threadpool(check_request, body, self._job_memory_bytes)

        # A helper that died (the OOM killer, a stray signal) breaks its
        # pool for good; replace it, and give the body one more try.
        loop = asyncio.get_running_loop()
        for tries_left in (1, 0):
            pool = self._helper()
            try:
                return await loop.run_in_executor(
                    pool, check_request, body, self._job_memory_bytes
                )
            except BrokenProcessPool:
                logger.warning(
                    "api: the request checking process died; %s",
                    "starting another" if tries_left else "giving up on this body",
                )
                self._discard(pool)
        raise CheckerUnavailable("the request checking process died")

    def _helper(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Spawned, not forked: the web process runs threads and a loop.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        # Another request may already have replaced the broken pool.
        if self._pool is pool:
            self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
