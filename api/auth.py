"""Checking API keys on requests: 401 without a valid key, 403 for the wrong role.

Keys, roles and their storage are in `api.keys`. Roles: `dispatcher`
(plans, re-plans, publish), `warehouse` (dock schedules of its sites only),
`planner` (reading plans and jobs), `admin` (everything, metrics).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis as AsyncRedis

from api.keys import Role, apikey_key, hash_secret, split_token
from api.store import text_hash

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key id, its role and, for warehouse keys, sites."""

    key_id: str
    role: Role
    sites: frozenset[str]

    def may_read_site(self, site_id: str) -> bool:
        return self.role != Role.warehouse or site_id in self.sites


# ------------------------------------------------------------ request checks


class KeyRing:
    """Looks up API keys for the web process, trusting a lookup briefly.

    Parameters
    ----------
    redis
        The async client of the service's Redis.
    cache_s
        How long a looked-up key is trusted; a revoke takes effect within
        this time. 0 looks every key up on every request.
    """

    def __init__(self, redis: AsyncRedis, cache_s: float) -> None:
        self._redis = redis
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}
        self._principals: dict[str, tuple[float, Principal]] = {}

    async def authenticate(self, token: str) -> Principal | None:
        now = time.monotonic()
        known = self._principals.get(token)
        if known is not None and known[0] > now:
            return known[1]
        principal = await self._check(token)
        if principal is not None and self._cache_s > 0:
            if len(self._principals) > 10_000:
                self._principals.clear()
            self._principals[token] = (now + self._cache_s, principal)
        return principal

    async def _check(self, token: str) -> Principal | None:
        parts = split_token(token)
        if parts is None:
            return None
        key_id, secret = parts
        record = await self._record(key_id)
        if record is None or record.get("revoked") == "1":
            return None
        if not hmac.compare_digest(record["secret_sha256"], hash_secret(secret)):
            return None
        return Principal(
            key_id=key_id,
            role=Role(record["role"]),
            sites=frozenset(json.loads(record["sites"])),
        )

    async def _record(self, key_id: str) -> dict[str, str] | None:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        raw = await self._redis.hgetall(apikey_key(key_id))
        if not raw:
            return None
        record = text_hash(raw)
        if self._cache_s > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (now + self._cache_s, record)
        return record


bearer = HTTPBearer(auto_error=False, description="an API key: cpk_<id>_<secret>")


async def authorize(request: Request, allowed: frozenset[Role]) -> Principal:
    """The caller, when its key is valid and its role allowed; else 401 or 403.

    Admin is always allowed. The dock-schedule route calls this directly:
    it is polled every minute by every warehouse system, and skipping
    FastAPI's dependency machinery there is a measurable share of its cost.
    """
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            "an API key is required: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    keyring: KeyRing = request.app.state.keyring
    principal = await keyring.authenticate(token.strip())
    if principal is None:
        raise HTTPException(
            401,
            "the API key is unknown or revoked",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if principal.role not in allowed and principal.role != Role.admin:
        raise HTTPException(
            403, f"the role '{principal.role.value}' may not use this route"
        )
    return principal


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only callers with one of `roles` (admin always)."""
    allowed = frozenset(roles)

    async def check(
        request: Request,
        # Declared for the OpenAPI document's security scheme; read below.
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        return await authorize(request, allowed)

    return check
