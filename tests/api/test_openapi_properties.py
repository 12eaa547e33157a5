"""The read API against its own OpenAPI description (Schemathesis, in process): for any request the
description allows, no server error and a response that matches the description."""

from __future__ import annotations

from typing import cast

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Api

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per route and token: enough to reach every filter and both kinds of cursor in about 20 s.
EXAMPLES = 40


def test_any_request_the_description_allows_gets_no_server_error_and_a_described_response(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.app)
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results
    operations = [cast(Ok, result).ok() for result in results]
    assert {op.path for op in operations} == {
        "/recommendations",
        "/recommendations/{recommendation_id}",
        "/cycles",
    }
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def answers_as_described(case: schemathesis.Case) -> None:
            # With a public-only token and a full one: each reads a different record.
            for token in (api.public, api.full):
                case.call_and_validate(headers=token, checks=CHECKS)

        answers_as_described()
