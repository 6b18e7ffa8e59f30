"""Plan routes: ask for a plan, read it and its parts, publish a revision."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api import dock_documents
from api.calendar import shifts_calendar
from api.deps import (
    Dispatcher,
    Reader,
    Revision,
    ServicesDep,
    load_plan,
    resolve_revision,
)
from api.jobs import IdempotencyConflict, submit_plan
from api.schemas import PlanSummary, Problem, Published, Submitted
from scheduler.models import CoverageRow, Explanation, Plan, RosterShift, Task

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/plans", tags=["plans"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such plan or revision"}
}
_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Request"}}
        },
    }
}


class UnprocessableRequest(ValueError):
    """A request body that is not a valid request; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@router.post(
    "",
    status_code=202,
    response_model=Submitted,
    openapi_extra=_REQUEST_BODY,
    responses={
        409: {"model": Problem, "description": "Idempotency-Key reused"},
        413: {"model": Problem, "description": "body over the size limit"},
        415: {"model": Problem, "description": "a body that is not JSON"},
        422: {"model": Problem, "description": "invalid request"},
        503: {"model": Problem, "description": "Redis is down or may evict"},
    },
    summary="Ask for a plan; answers 202 with the job at once",
)
async def post_plan(
    http_request: Request,
    services: ServicesDep,
    principal: Dispatcher,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> JSONResponse:
    """Store the request and queue its solve; a worker does the solving."""
    require_json(http_request)
    problem = await services.readiness.problem()
    if problem is not None:
        raise HTTPException(503, f"not accepting jobs: {problem}")
    body = await http_request.body()
    checked = await services.checker.check(body)
    if checked.problems:
        raise UnprocessableRequest(checked.problems)
    try:
        submission = await run_in_threadpool(
            submit_plan,
            services.context,
            body,
            site_id=checked.site_id,
            time_limit_s=checked.time_limit_s,
            owner=principal.key_id,
            idempotency=idempotency_key,
        )
    except IdempotencyConflict as exc:
        raise HTTPException(409, str(exc)) from exc
    answer: dict[str, Any] = {
        "job_id": submission.job_id,
        "plan_id": submission.plan_id,
        "status": "queued",
        "job_url": f"/v1/jobs/{submission.job_id}",
        "plan_url": f"/v1/plans/{submission.plan_id}",
        "reused": submission.reused,
    }
    if submission.reused:
        job = services.context.store.job(submission.job_id)
        answer["status"] = job.status.value if job else "expired"
    return JSONResponse(
        answer, status_code=202, headers={"Location": answer["job_url"]}
    )


def require_json(request: Request) -> None:
    """415 for a body declared as anything but JSON (no Content-Type is
    read as JSON)."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.partition(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise HTTPException(
            415, f"Content-Type: must be application/json, not '{media}'"
        )


@router.get(
    "/{plan_id}",
    responses={200: {"model": Plan, "description": "the plan"}, **_NOT_FOUND},
    summary="Read a plan revision (default the latest)",
)
def get_plan(
    plan_id: str, services: ServicesDep, _: Reader, revision: Revision = None
) -> Response:
    chosen = resolve_revision(services, plan_id, revision)
    data = services.context.store.plan_json(plan_id, chosen)
    if data is None:
        raise HTTPException(404, f"plan '{plan_id}' has no revision {chosen}")
    return Response(data, media_type="application/json")


@router.get(
    "/{plan_id}/roster",
    response_model=list[RosterShift],
    responses=_NOT_FOUND,
    summary="The roster: each shift with the post it fills",
)
def get_roster(
    plan_id: str, services: ServicesDep, _: Reader, revision: Revision = None
) -> list[RosterShift]:
    return load_plan(services, plan_id, revision).roster


@router.get(
    "/{plan_id}/tasks",
    response_model=list[Task],
    responses=_NOT_FOUND,
    summary="The task plan, filtered by person, door or shipment",
)
def get_tasks(
    plan_id: str,
    services: ServicesDep,
    _: Reader,
    revision: Revision = None,
    person: Annotated[str | None, Query(max_length=128)] = None,
    door: Annotated[str | None, Query(max_length=128)] = None,
    shipment: Annotated[str | None, Query(max_length=128)] = None,
) -> list[Task]:
    tasks = load_plan(services, plan_id, revision).tasks
    return [
        task
        for task in tasks
        if (person is None or task.person_id == person)
        and (door is None or task.door_id == door)
        and (shipment is None or task.shipment_id == shipment)
    ]


@router.get(
    "/{plan_id}/kpis",
    response_model=PlanSummary,
    responses=_NOT_FOUND,
    summary="Status, objective, bound, gap and KPIs",
)
def get_kpis(
    plan_id: str, services: ServicesDep, _: Reader, revision: Revision = None
) -> dict[str, Any]:
    plan = load_plan(services, plan_id, revision)
    return {
        "plan_id": plan.plan_id,
        "revision": plan.revision,
        "status": plan.status.value,
        "status_reason": plan.status_reason,
        "objective": plan.objective.model_dump(),
        "bound": plan.bound,
        "gap": plan.gap,
        "kpis": plan.kpis,
    }


@router.get(
    "/{plan_id}/coverage",
    response_model=list[CoverageRow],
    responses=_NOT_FOUND,
    summary="Required against planned persons per cover requirement",
)
def get_coverage(
    plan_id: str, services: ServicesDep, _: Reader, revision: Revision = None
) -> list[CoverageRow]:
    return load_plan(services, plan_id, revision).coverage


@router.get(
    "/{plan_id}/explanations",
    response_model=list[Explanation],
    responses=_NOT_FOUND,
    summary="Findings in the dispatcher's words",
)
def get_explanations(
    plan_id: str, services: ServicesDep, _: Reader, revision: Revision = None
) -> list[Explanation]:
    return load_plan(services, plan_id, revision).explanations


@router.get(
    "/{plan_id}/report",
    response_class=HTMLResponse,
    responses=_NOT_FOUND,
    summary="The self-contained HTML report",
)
def get_report(
    plan_id: str, services: ServicesDep, _: Reader, revision: Revision = None
) -> HTMLResponse:
    plan = load_plan(services, plan_id, revision)
    try:
        from scheduler.report import render_report
    except ImportError as exc:
        raise HTTPException(501, "the HTML report is not available") from exc
    return HTMLResponse(render_report(plan))


@router.get(
    "/{plan_id}/people/{person_id}/shifts.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "iCalendar"},
        **_NOT_FOUND,
    },
    summary="A person's shifts as iCalendar",
)
def get_shifts_calendar(
    plan_id: str,
    person_id: str,
    services: ServicesDep,
    _: Reader,
    revision: Revision = None,
) -> Response:
    plan = load_plan(services, plan_id, revision)
    if not any(person.id == person_id for person in plan.request.staff):
        raise HTTPException(404, f"plan '{plan_id}' has no person '{person_id}'")
    return Response(
        shifts_calendar(plan, person_id),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{person_id}-shifts.ics"'
        },
    )


@router.post(
    "/{plan_id}/publish",
    response_model=Published,
    responses=_NOT_FOUND,
    summary="Make a revision the site's current plan",
)
def publish(
    plan_id: str,
    services: ServicesDep,
    principal: Dispatcher,
    revision: Revision = None,
) -> dict[str, Any]:
    """Render the revision's dock schedule, then swap the site's pointer."""
    plan = load_plan(services, plan_id, revision)
    fields = dock_documents.documents(plan)
    site_id = plan.request.site.id
    services.context.store.publish(site_id, plan.plan_id, plan.revision, fields)
    logger.info(
        "api: key %s published plan %s revision %d for site %s",
        principal.key_id,
        plan.plan_id,
        plan.revision,
        site_id,
    )
    dates = sorted({name.split("|")[0] for name in fields})
    return {
        "site_id": site_id,
        "plan_id": plan.plan_id,
        "revision": plan.revision,
        "dates": dates,
    }
