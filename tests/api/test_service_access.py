"""Who may call what: the role and site matrix on every route."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from service_helpers import OTHER_SITE, SITE, finish_with_double, small_request

from api.keys import Role, create_key, revoke_key
from api.settings import ServiceSettings

CALLERS = ["none", "dispatcher", "warehouse", "warehouse_other", "planner", "admin"]
DISPATCH = {"dispatcher", "admin"}
READ = {"dispatcher", "planner", "admin"}

# (method, path template, callers allowed); {plan}/{job} are filled in.
ROUTES = [
    ("POST", "/v1/plans", DISPATCH),
    ("GET", "/v1/jobs", READ),
    ("GET", "/v1/jobs/{job}", READ),
    ("DELETE", "/v1/jobs/{job}", DISPATCH),
    ("GET", "/v1/plans/{plan}", READ),
    ("GET", "/v1/plans/{plan}/roster", READ),
    ("GET", "/v1/plans/{plan}/tasks?person=b1", READ),
    ("GET", "/v1/plans/{plan}/kpis", READ),
    ("GET", "/v1/plans/{plan}/coverage", READ),
    ("GET", "/v1/plans/{plan}/explanations", READ),
    ("GET", "/v1/plans/{plan}/report", READ),
    ("GET", "/v1/plans/{plan}/people/b1/shifts.ics", READ),
    ("POST", "/v1/plans/{plan}/publish", DISPATCH),
    (
        "GET",
        f"/v1/sites/{SITE}/dock-schedule?date=2025-11-11",
        READ | {"warehouse"},
    ),
    (
        "GET",
        f"/v1/sites/{OTHER_SITE}/dock-schedule?date=2025-11-11",
        READ | {"warehouse_other"},
    ),
    ("GET", "/metrics", {"admin"}),
    ("GET", "/healthz", set(CALLERS)),
    ("GET", "/readyz", set(CALLERS)),
]


@pytest.fixture
def published(
    client: TestClient, keys: dict[str, dict[str, str]], settings: ServiceSettings
) -> dict[str, str]:
    """A solved, published plan and its job, made without a worker."""
    response = client.post(
        "/v1/plans",
        content=json.dumps(small_request("quick")),
        headers=keys["dispatcher"],
    )
    ids: dict[str, str] = response.json()
    finish_with_double(settings, ids["job_id"])
    publish = client.post(
        f"/v1/plans/{ids['plan_id']}/publish", headers=keys["dispatcher"]
    )
    assert publish.status_code == 200
    return {"plan": ids["plan_id"], "job": ids["job_id"]}


@pytest.mark.parametrize(("method", "template", "allowed"), ROUTES)
def test_service_access_matrix_on_every_route(
    client: TestClient,
    keys: dict[str, dict[str, str]],
    published: dict[str, str],
    method: str,
    template: str,
    allowed: set[str],
) -> None:
    """Each caller gets 401 without a key, 403 outside its role or sites, and
    a real answer (never 401, 403 or 5xx) inside them."""
    path = template.format(**published)
    body = json.dumps(small_request("quick")) if method == "POST" else None
    for caller in CALLERS:
        headers = keys.get(caller, {})
        response = client.request(method, path, content=body, headers=headers)
        if caller in allowed:
            assert response.status_code not in (401, 403), (caller, response.text)
            assert response.status_code < 500, (caller, response.text)
        elif caller == "none":
            assert response.status_code == 401, caller
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.status_code == 403, (caller, response.text)


def test_service_access_revoked_or_forged_key_is_401(
    client: TestClient, settings: ServiceSettings
) -> None:
    """A revoked key, a wrong secret and a malformed token are all refused."""
    redis = Redis.from_url(settings.redis_url)
    key_id, token = create_key(redis, Role.planner, [])
    good = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/jobs", headers=good).status_code == 200

    forged = {"Authorization": f"Bearer {token[:-4]}AAAA"}
    assert client.get("/v1/jobs", headers=forged).status_code == 401
    malformed = {"Authorization": "Bearer not-a-key"}
    assert client.get("/v1/jobs", headers=malformed).status_code == 401

    assert revoke_key(redis, key_id) is True
    assert client.get("/v1/jobs", headers=good).status_code == 401
    redis.close()


def test_service_access_keys_are_stored_hashed(settings: ServiceSettings) -> None:
    """Redis holds the hash of a key's secret, never the secret itself."""
    redis = Redis.from_url(settings.redis_url)
    key_id, token = create_key(redis, Role.warehouse, [SITE])
    secret = token.split("_", 2)[2]
    stored = b"".join(
        redis.dump(key) or b"" for key in redis.keys("*") if isinstance(key, bytes)
    )
    assert secret.encode() not in stored
    assert redis.hget(f"clearplan:apikey:{key_id}", "role") == b"warehouse"
    with pytest.raises(ValueError, match="--site is required"):
        create_key(redis, Role.warehouse, [])
    redis.close()
