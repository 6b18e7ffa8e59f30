"""Site routes: the published dock schedule the warehouse system polls.

This is the hot route: every warehouse system polls it every minute. The
app serves it as a plain Starlette route that reads its parameters,
headers and caller from the request itself, skipping FastAPI's parameter
and dependency machinery (most of its cost when measured); the same
function is registered here only so the OpenAPI document declares its
parameters, headers and security. Its document comes from a
one-round-trip read that each web process reuses for `dock_cache_s`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from api import dock_documents
from api.auth import Role, authorize
from api.deps import Services
from api.routes.plans import UnprocessableRequest
from api.schemas import Problem

router = APIRouter(prefix="/v1/sites", tags=["sites"])

DOCK_SCHEDULE_PATH = "/v1/sites/{site_id}/dock-schedule"

READERS = frozenset({Role.dispatcher, Role.planner, Role.warehouse})

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_DOCUMENTED: dict[str, Any] = {
    "security": [{"HTTPBearer": []}],
    "parameters": [
        {
            "name": "site_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 128},
        },
        {
            "name": "date",
            "in": "query",
            "required": True,
            "description": "local date YYYY-MM-DD",
            "schema": {"type": "string", "format": "date"},
        },
        *(
            {
                "name": name,
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
            }
            for name in ("Accept", "If-None-Match")
        ),
    ],
}


@router.get(
    "/{site_id}/dock-schedule",
    response_class=Response,
    openapi_extra=_DOCUMENTED,
    responses={
        200: {
            "description": "the date's door slots (no personal data)",
            "content": {"application/json": {}, "text/csv": {}},
        },
        304: {"description": "unchanged since the ETag given in If-None-Match"},
        401: {"model": Problem, "description": "no valid API key"},
        403: {"model": Problem, "description": "a warehouse key of another site"},
        404: {"model": Problem, "description": "no plan published for the site"},
        406: {"model": Problem, "description": "neither JSON nor CSV acceptable"},
    },
    summary="The published dock schedule of a site for a local date",
)
async def dock_schedule(request: Request) -> Response:
    """JSON or CSV by `Accept`; `ETag`, and 304 while unchanged."""
    site_id: str = request.path_params["site_id"]
    principal = await authorize(request, READERS)
    if not principal.may_read_site(site_id):
        raise HTTPException(403, f"this key may not read site '{site_id}'")
    day = _local_date(request.query_params.get("date"))
    fmt = dock_documents.choose_format(request.headers.get("accept"))
    if fmt is None:
        raise HTTPException(406, "Accept must allow application/json or text/csv")

    # One round trip: the site's pointer and that date's stored document.
    services: Services = request.app.state.services
    found = await services.dock_reader.document(
        site_id, dock_documents.field_prefix(day, fmt)
    )
    if found is None:
        raise HTTPException(404, f"no plan is published for site '{site_id}'")
    pointer, body, etag = found
    if not body:
        body = dock_documents.render(site_id, day, [], fmt)
        etag = dock_documents.etag_of(body)

    headers = {
        "ETag": etag.decode(),
        "Cache-Control": "no-cache",
        "Vary": "Accept",
        "X-Clearplan-Plan": pointer,
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=dock_documents.FORMATS[fmt], headers=headers)


def _local_date(text: str | None) -> date:
    """The `date` query parameter, or 422 naming it."""
    # fromisoformat alone also takes 20251111 and 2025-W46-2.
    try:
        if not _ISO_DATE.fullmatch(text or ""):
            raise ValueError(text)
        return date.fromisoformat(text or "")
    except ValueError as exc:
        raise UnprocessableRequest(
            [f"date: '{text or ''}' is not a local date YYYY-MM-DD"]
        ) from exc


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of If-None-Match against our ETag."""
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates
