"""The clearplan web service: a FastAPI app over the Redis plan store.

The web process stores requests, queues jobs and serves plans; it never
solves (workers do, `api.worker`). It answers 503 with `Retry-After` while
Redis is down and recovers by itself when Redis is back: every request
takes a connection from the pool, which reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic.json_schema import models_json_schema
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.auth import KeyRing
from api.deps import Readiness, Services
from api.jobs import Context
from api.limits import BodyLimit
from api.metrics import Metrics, MetricsMiddleware
from api.routes import jobs, ops, plans, replans, sites
from api.routes.plans import UnprocessableRequest
from api.settings import ServiceSettings, load_settings
from api.simulations_api import router as simulations_router
from api.store import AsyncDockReader, connect_async
from api.validation import CheckerUnavailable, RequestChecker
from scheduler.errors import field_path
from scheduler.models import SCHEMA_VERSION, EventBatch, Plan
from scheduler.models import Request as PlanRequest

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The service's ASGI app; settings are read from the environment if not given."""
    settings = settings or load_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Clients are made inside the event loop that will use them.
        context = Context.connect(settings)
        aredis = connect_async(settings.redis_url)
        services = Services(
            settings=settings,
            context=context,
            aredis=aredis,
            dock_reader=AsyncDockReader(aredis, settings.dock_cache_s),
            keyring=KeyRing(aredis, settings.key_cache_s),
            readiness=Readiness(aredis),
            metrics=metrics,
            checker=RequestChecker(settings.job_memory_bytes),
        )
        app.state.services = services
        app.state.keyring = services.keyring
        metrics.watch_jobs(context.store.count_jobs_by_status)
        logger.info("api: started; plans in Redis, queue '%s'", settings.queue_name)
        try:
            yield
        finally:
            services.checker.close()
            await aredis.aclose()
            context.store.redis.close()

    app = FastAPI(
        title="clearplan",
        version=SCHEMA_VERSION,
        summary="Shift plans, task plans and dock schedules for customs clearance.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    # The polled route first, as a plain Starlette route: routes match in
    # order, so its documented twin in `sites.router` only feeds OpenAPI.
    app.add_route(
        sites.DOCK_SCHEDULE_PATH,
        sites.dock_schedule,
        methods=["GET"],
        include_in_schema=False,
    )
    for router in (sites.router, ops.router, plans.router, replans.router, jobs.router):
        app.include_router(router)
    app.include_router(simulations_router)
    _add_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyLimit, max_body_bytes=settings.max_body_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _operation_id(route: APIRoute) -> str:
    """Operation ids a client generator turns into method names."""
    return route.name


def _add_error_handlers(app: FastAPI) -> None:
    async def redis_down(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("api: Redis unavailable for %s: %s", request.url.path, exc)
        return JSONResponse(
            {"detail": "the plan store is unavailable; retry shortly"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    async def checker_down(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("api: could not check a body for %s: %s", request.url.path, exc)
        return JSONResponse(
            {"detail": "the request could not be checked; retry shortly"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    async def invalid_body(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UnprocessableRequest)
        return _unprocessable(exc.problems)

    async def invalid_parameters(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for error in exc.errors():
            # Drop the part of the request ("query", "path", "header").
            location = tuple(error.get("loc", ()))[1:]
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            problems.append(f"{field_path(location)}: {message}")
        return _unprocessable(problems)

    app.add_exception_handler(RedisConnectionError, redis_down)
    app.add_exception_handler(RedisTimeoutError, redis_down)
    app.add_exception_handler(CheckerUnavailable, checker_down)
    app.add_exception_handler(UnprocessableRequest, invalid_body)
    app.add_exception_handler(RequestValidationError, invalid_parameters)


def _unprocessable(problems: list[str]) -> JSONResponse:
    shown = "; ".join(problems[:20])
    more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
    return JSONResponse({"detail": shown + more, "errors": problems}, status_code=422)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, carrying the request, plan and event schemas."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        routes=app.routes,
    )
    _, formats = models_json_schema(
        [(PlanRequest, "validation"), (Plan, "validation"), (EventBatch, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in formats.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    app.openapi_schema = document
    return document


def serve(host: str, port: int, access_log: bool = True) -> int:
    """Run the service with uvicorn until stopped; the exit code."""
    import uvicorn

    from api.settings import SettingsError

    try:
        settings = load_settings()
    except SettingsError as exc:
        logger.error("serve: %s", exc)
        return 2
    logging.getLogger("api").setLevel(logging.INFO)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
        timeout_graceful_shutdown=10,
    )
    return 0
