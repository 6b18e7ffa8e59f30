"""Job routes: list, read and cancel plan jobs."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from api.deps import Dispatcher, Reader, Services, ServicesDep
from api.jobs import is_lost, job_view, recover_lost
from api.schemas import CancelAnswer, JobList, JobView, Problem
from api.store import FINAL_STATUSES, JobRecord, JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_GONE: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such job"},
    410: {"model": Problem, "description": "the job's record has expired"},
}


def _fresh(services: Services, record: JobRecord) -> JobRecord | None:
    """The record, after recovering it if its worker has gone silent."""
    if is_lost(record, services.settings, time.time()):
        recover_lost(services.context, record, time.time())
        return services.context.store.job(record.job_id)
    return record


def _record_or_gone(services: Services, job_id: str) -> JobRecord:
    store = services.context.store
    record = store.job(job_id)
    if record is None:
        if store.job_was_known(job_id):
            raise HTTPException(410, f"job '{job_id}' has expired")
        raise HTTPException(404, f"job '{job_id}' does not exist")
    return record


@router.get("", response_model=JobList, summary="List jobs, newest first")
def list_jobs(
    services: ServicesDep,
    _: Reader,
    status: Annotated[JobStatus | None, Query(description="only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Jobs whose record is kept; expired jobs are left out."""
    views = []
    for record in services.context.store.iter_jobs():
        fresh = _fresh(services, record)
        if fresh is None or (status is not None and fresh.status != status):
            continue
        views.append(job_view(fresh))
        if len(views) >= limit:
            break
    return {"jobs": views}


@router.get("/{job_id}", response_model=JobView, responses=_GONE, summary="Read a job")
def get_job(job_id: str, services: ServicesDep, _: Reader) -> dict[str, Any]:
    """Queued, running (best objective so far), succeeded, failed, cancelled."""
    record = _fresh(services, _record_or_gone(services, job_id))
    if record is None:
        raise HTTPException(410, f"job '{job_id}' has expired")
    return job_view(record)


@router.delete(
    "/{job_id}",
    response_model=CancelAnswer,
    status_code=202,
    responses={**_GONE, 409: {"model": Problem, "description": "already ended"}},
    summary="Cancel a job; its best plan so far is kept as cancelled",
)
def cancel_job(job_id: str, services: ServicesDep, _: Dispatcher) -> JSONResponse:
    record = _record_or_gone(services, job_id)
    if record.status in FINAL_STATUSES:
        raise HTTPException(409, f"job '{job_id}' has already ended ({record.status})")
    answer = services.context.store.cancel(job_id)
    if answer == "cancelled":
        return JSONResponse({"job_id": job_id, "status": "cancelled"}, status_code=200)
    if answer == "cancelling":
        return JSONResponse({"job_id": job_id, "status": "cancelling"}, status_code=202)
    if answer == "missing":
        raise HTTPException(410, f"job '{job_id}' has expired")
    raise HTTPException(409, f"job '{job_id}' has already ended ({answer})")
