"""Operations routes: liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from api.deps import Admin, ServicesDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The web process is alive")
async def healthz() -> dict[str, str]:
    """Answers without touching Redis: a process that answers is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Redis is reachable and cannot evict the service's keys",
    responses={503: {"description": "not ready, or degraded"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready only when Redis answers and its `maxmemory-policy` is noeviction."""
    try:
        problem = await services.readiness.problem(fresh=True)
    except RedisError as exc:
        return JSONResponse(
            {"status": "not ready", "reason": f"Redis is unreachable: {exc}"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    if problem is not None:
        return JSONResponse({"status": "degraded", "reason": problem}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", summary="Prometheus metrics (admin)")
def metrics(services: ServicesDep, _: Admin) -> Response:
    return Response(
        generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
