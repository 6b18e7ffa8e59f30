"""A schema-driven fuzz run against the OpenAPI document: never a 5xx."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from redis import Redis
from service_helpers import Processes, serve, service_settings

from api.keys import Role, create_key

# Examples per operation: a short run for CI; raise it locally for more.
EXAMPLES = 10


def test_service_fuzz_openapi_operations_never_answer_5xx(
    redis_url: str, processes: Processes, tmp_path: Path
) -> None:
    """Every operation of the published OpenAPI document, fed requests
    generated from its schema (bodies, ids, dates, headers), answers below
    500 to an admin key that may call every route."""
    service = service_settings(redis_url)
    token = create_key(Redis.from_url(redis_url), Role.admin, [])[1]
    _, base = serve(processes, service, tmp_path / "serve.log")
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    auth = {"Authorization": f"Bearer {token}"}

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def never_5xx(case: schemathesis.Case) -> None:
            response = case.call(base_url=base, headers=auth)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} "
                f"{response.text[:300]}"
            )

        never_5xx()
