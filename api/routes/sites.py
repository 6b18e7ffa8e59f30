"""Site routes: the published dock schedule the warehouse system polls."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import Response

from api import dock_documents
from api.deps import DockReader, ServicesDep
from api.schemas import Problem

router = APIRouter(prefix="/v1/sites", tags=["sites"])


@router.get(
    "/{site_id}/dock-schedule",
    response_class=Response,
    responses={
        200: {
            "description": "the date's door slots (no personal data)",
            "content": {"application/json": {}, "text/csv": {}},
        },
        304: {"description": "unchanged since the ETag given in If-None-Match"},
        403: {"model": Problem, "description": "a warehouse key of another site"},
        404: {"model": Problem, "description": "no plan published for the site"},
        406: {"model": Problem, "description": "neither JSON nor CSV acceptable"},
    },
    summary="The published dock schedule of a site for a local date",
)
async def dock_schedule(
    site_id: str,
    services: ServicesDep,
    principal: DockReader,
    day: Annotated[date, Query(alias="date", description="local date YYYY-MM-DD")],
    accept: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """JSON or CSV by `Accept`; `ETag`, and 304 while unchanged."""
    if not principal.may_read_site(site_id):
        raise HTTPException(403, f"this key may not read site '{site_id}'")
    fmt = dock_documents.choose_format(accept)
    if fmt is None:
        raise HTTPException(406, "Accept must allow application/json or text/csv")

    # One round trip: the site's pointer and that date's stored document.
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
    if if_none_match is not None and _matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=dock_documents.FORMATS[fmt], headers=headers)


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of If-None-Match against our ETag."""
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates
