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
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from scheduler.errors import describe
from scheduler.models import Request

LARGE_BODY_BYTES = 1024 * 1024


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
        if len(body) <= LARGE_BODY_BYTES:
            return await run_in_threadpool(check_request, body, self._job_memory_bytes)
        if self._pool is None:
            # Spawned, not forked: the web process runs threads and a loop.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, check_request, body, self._job_memory_bytes
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
