"""What routes depend on, declared once: services, callers, plans."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from api.auth import KeyRing, Principal, Role, require
from api.jobs import Context
from api.metrics import Metrics
from api.settings import ServiceSettings
from api.store import AsyncDockReader, eviction_problem, text_hash
from api.validation import RequestChecker
from scheduler.models import Plan

# How long the web process trusts its last look at the eviction policy.
EVICTION_CHECK_S = 10.0


class Readiness:
    """Whether Redis answers and cannot evict the service's keys."""

    def __init__(self, redis: AsyncRedis) -> None:
        self._redis = redis
        self._checked_at = -EVICTION_CHECK_S
        self._problem: str | None = None

    async def problem(self, *, fresh: bool = False) -> str | None:
        """None when ready, else why not (Redis errors propagate)."""
        now = time.monotonic()
        if fresh or now - self._checked_at > EVICTION_CHECK_S:
            await self._redis.ping()
            try:
                answer = await self._redis.config_get("maxmemory-policy")
                policy = text_hash(answer).get("maxmemory-policy")
            except RedisError:
                policy = None
            self._problem = eviction_problem(policy)
            self._checked_at = now
        return self._problem


class PlanCache:
    """Recently read plan revisions, parsed once (revisions never change)."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._plans: OrderedDict[tuple[str, int], Plan] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, plan_id: str, revision: int) -> Plan | None:
        with self._lock:
            plan = self._plans.get((plan_id, revision))
            if plan is not None:
                self._plans.move_to_end((plan_id, revision))
            return plan

    def put(self, plan: Plan) -> None:
        with self._lock:
            self._plans[(plan.plan_id, plan.revision)] = plan
            while len(self._plans) > self._size:
                self._plans.popitem(last=False)


@dataclass
class Services:
    """Everything the routes use, made once when the app starts."""

    settings: ServiceSettings
    context: Context
    aredis: AsyncRedis
    dock_reader: AsyncDockReader
    keyring: KeyRing
    readiness: Readiness
    metrics: Metrics
    checker: RequestChecker
    plans: PlanCache = field(default_factory=PlanCache)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
Dispatcher = Annotated[Principal, Depends(require(Role.dispatcher))]
Reader = Annotated[Principal, Depends(require(Role.dispatcher, Role.planner))]
Admin = Annotated[Principal, Depends(require())]
Revision = Annotated[
    int | None, Query(ge=1, le=1_000_000, description="default: the latest")
]


def resolve_revision(services: Services, plan_id: str, revision: int | None) -> int:
    """The revision asked for, or the latest, or 404 saying why there is none."""
    store = services.context.store
    meta = store.plan_meta(plan_id)
    if meta is None:
        raise HTTPException(404, f"plan '{plan_id}' does not exist")
    latest = int(meta["latest"])
    if latest == 0:
        job = store.job(meta["job_id"])
        state = job.status.value if job else "expired"
        why = f" ({job.reason})" if job and job.reason else ""
        raise HTTPException(
            404,
            f"plan '{plan_id}' has no revision yet: its job {meta['job_id']} "
            f"is {state}{why}",
        )
    chosen = latest if revision is None else revision
    if chosen > latest:
        raise HTTPException(
            404, f"plan '{plan_id}' has no revision {chosen} (latest is {latest})"
        )
    return chosen


def load_plan(services: Services, plan_id: str, revision: int | None) -> Plan:
    """A plan revision, parsed (and kept for the next read)."""
    chosen = resolve_revision(services, plan_id, revision)
    plan = services.plans.get(plan_id, chosen)
    if plan is None:
        data = services.context.store.plan_json(plan_id, chosen)
        if data is None:
            raise HTTPException(404, f"plan '{plan_id}' has no revision {chosen}")
        plan = Plan.model_validate_json(data)
        services.plans.put(plan)
    return plan
