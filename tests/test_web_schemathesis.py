"""Schemathesis against /api/openapi.json with authenticated clients: no request, however
odd, makes the API answer with a server error (5xx). On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from hub.config import set_settings
from hub.web.app import create_app
from tests.web_fixtures import WebEnv, shared_web_env  # noqa: F401

EXAMPLES = 40  # per operation and backend: about 15 s in all on an idle machine


@pytest.fixture(scope="module")
def web_schema(shared_web_env: WebEnv) -> Iterator[schemathesis.BaseSchema]:  # noqa: F811
    app = create_app(shared_web_env.settings)
    yield schemathesis.openapi.from_asgi("/api/openapi.json", app)


def _token(env: WebEnv, path: str) -> str:
    # Each operation is called as a role that may use it, so the examples reach the handler.
    if path.startswith(("/api/devices", "/api/mobile")):
        return env.token("it")
    return env.token("admin") if path.startswith("/api/face") else env.token("reviewer")


def _runner(op, auth: dict[str, str], calls: dict[str, int]):  # type: ignore[no-untyped-def]
    @given(case=op.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=auth, checks=[not_a_server_error])
        calls[op.label] = calls.get(op.label, 0) + 1

    return run


def test_api_never_answers_5xx(web_schema, shared_web_env: WebEnv) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    set_settings(shared_web_env.settings)
    operations = [result.ok() for result in web_schema.get_all_operations()]
    assert len(operations) >= 10
    calls: dict[str, int] = {}
    for op in operations:
        _runner(op, {"Authorization": f"Bearer {_token(shared_web_env, op.path)}"}, calls)()
    assert len(calls) == len(operations), calls
    print("schemathesis calls per operation:", calls)


def test_spec_is_served_and_declares_bearer_auth(web_schema) -> None:  # type: ignore[no-untyped-def]
    raw = web_schema.raw_schema
    assert raw["info"]["title"] == "Hub Absensi API"
    assert any(s.get("scheme") == "bearer" for s in raw["components"]["securitySchemes"].values())
    assert {"/api/devices", "/api/punches", "/api/recap", "/api/corrections"} <= set(raw["paths"])
    assert not any(p.startswith("/recap") or p == "/" for p in raw["paths"])  # pages stay out of the spec
