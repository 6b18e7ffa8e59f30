"""Re-plan routes: post events for a plan, read the diff between revisions.

`POST /v1/plans/{id}/events` (dispatcher) checks the events and queues a
re-plan job, answering 202 at once as a plan request does; a worker writes
the next revision. `GET /v1/plans/{id}/diff?against=REVISION` (dispatcher,
planner) answers the patch from revision `against` to the revision asked
for (default the latest): the revision's own diff when `against` is its
parent, else the exact difference of the two revisions' tasks.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import Field, ValidationError

from api.deps import Dispatcher, Reader, Revision, ServicesDep, load_plan
from api.replan_jobs import submit_replan
from api.routes.plans import require_json
from api.schemas import Problem
from scheduler.diff import task_diff
from scheduler.errors import describe
from scheduler.events import read_events
from scheduler.models import Event, Instant, Model, PatchOp

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/plans", tags=["plans"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such plan or revision"}
}


class ReplanBody(Model):
    """Events since the plan was made, and the re-planning time T."""

    at: Instant
    events: list[Event] = Field(min_length=1)
    revision: int | None = Field(
        default=None, ge=1, description="the revision to re-plan; default the latest"
    )


@router.post(
    "/{plan_id}/events",
    status_code=202,
    responses={
        **_NOT_FOUND,
        422: {"model": Problem, "description": "an event is invalid"},
    },
    summary="Re-plan after events; answers 202 with the job at once",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ReplanBody.model_json_schema()}},
        }
    },
)
async def post_events(
    plan_id: str, http_request: Request, services: ServicesDep, principal: Dispatcher
) -> JSONResponse:
    """Check the events against their types and queue the re-plan."""
    require_json(http_request)
    try:
        body = ReplanBody.model_validate_json(await http_request.body())
    except ValidationError as exc:
        raise HTTPException(422, "; ".join(describe(exc)[:5])) from exc
    try:
        read_events(body.events)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    parent = await run_in_threadpool(load_plan, services, plan_id, body.revision)
    if any(event.at > body.at for event in body.events):
        raise HTTPException(422, "at: must be at or after every event's time")
    job_id = await run_in_threadpool(
        submit_replan, services.context, parent, body.events, body.at
    )
    logger.info(
        "api: key %s asked a re-plan of plan %s rev %d (job %s)",
        principal.key_id,
        plan_id,
        parent.revision,
        job_id,
    )
    answer: dict[str, Any] = {
        "job_id": job_id,
        "plan_id": plan_id,
        "parent_revision": parent.revision,
        "status": "queued",
        "job_url": f"/v1/jobs/{job_id}",
        "plan_url": f"/v1/plans/{plan_id}",
    }
    return JSONResponse(
        answer, status_code=202, headers={"Location": answer["job_url"]}
    )


@router.get(
    "/{plan_id}/diff",
    response_model=list[PatchOp],
    responses=_NOT_FOUND,
    summary="The patch from revision `against` to this one",
)
def get_diff(
    plan_id: str,
    services: ServicesDep,
    _: Reader,
    against: Annotated[int, Query(ge=1, le=1_000_000)],
    revision: Revision = None,
) -> list[PatchOp]:
    plan = load_plan(services, plan_id, revision)
    if against == plan.parent_revision and plan.diff is not None:
        return plan.diff
    other = load_plan(services, plan_id, against)
    return task_diff(
        other.tasks,
        plan.tasks,
        lambda op, task_id: f"differs between revisions {against} and {plan.revision}",
    )
