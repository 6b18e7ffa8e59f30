"""Fixtures of the service tests: a real redis-server, the app, keys, workers.

Redis is a redis-server started for the test run on a free port with its
own directory (pytest-redis), never the machine's 6379 and never a mock;
each test starts from an empty database. Workers run as real
`clearplan worker` processes with the test-only solve doubles of
`solve_doubles.py`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pytest_redis import factories
from pytest_redis.executor import RedisExecutor
from redis import Redis
from service_helpers import OTHER_SITE, SITE, Processes, service_settings

from api.app import create_app
from api.keys import Role, create_key
from api.settings import ServiceSettings

redis_server = factories.redis_proc(port=None)


@pytest.fixture
def redis_url(redis_server: RedisExecutor) -> Iterator[str]:
    """The test run's Redis, emptied before each test."""
    client = Redis(host=redis_server.host, port=redis_server.port)
    client.flushall()
    client.close()
    yield f"redis://{redis_server.host}:{redis_server.port}/0"


@pytest.fixture
def settings(redis_url: str) -> ServiceSettings:
    return service_settings(redis_url)


@pytest.fixture
def client(settings: ServiceSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def keys(settings: ServiceSettings) -> dict[str, dict[str, str]]:
    """Authorization headers per caller: each role, and a warehouse key of
    another site."""
    redis = Redis.from_url(settings.redis_url)
    tokens = {
        "dispatcher": create_key(redis, Role.dispatcher, [])[1],
        "warehouse": create_key(redis, Role.warehouse, [SITE])[1],
        "warehouse_other": create_key(redis, Role.warehouse, [OTHER_SITE])[1],
        "planner": create_key(redis, Role.planner, [])[1],
        "admin": create_key(redis, Role.admin, [])[1],
    }
    redis.close()
    return {who: {"Authorization": f"Bearer {token}"} for who, token in tokens.items()}


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    yield started
    started.stop_all()
