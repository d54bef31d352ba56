"""The JSON API against its own OpenAPI document, with schemathesis (a bounded number of examples)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install schemathesis)")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from monitor.store.db import Database  # noqa: E402
from monitor.web.app import create_app  # noqa: E402
from tests.web.seed import Seeded, seed_clock  # noqa: E402

OPERATIONS = ["/api/feeds", "/api/articles", "/api/articles/{article_id}", "/api/matches", "/api/deliveries",
              "/api/query", "/api/inbox", "/api/search"]


@pytest.fixture(scope="module")
def api_schema(seeded_template: Seeded) -> Iterator[Any]:
    """The app's OpenAPI schema, loaded over ASGI (no network); the API is read-only, so one database serves."""
    db = Database(seeded_template.database_url)
    # schemathesis' ASGI client calls the app "testserver": a name the dashboard answers only when told to.
    config = seeded_template.config
    config = config.model_copy(update={"settings": config.settings.model_copy(update={"allowed_hosts": ("testserver",)})})
    app = create_app(config, db, clock=seed_clock)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    db.dispose()


def test_every_api_operation_is_covered(api_schema: Any) -> None:
    paths = {result.ok().path for result in api_schema.get_all_operations()}
    assert paths == set(OPERATIONS)


# schemathesis' own pytest plugin does not load under this pytest, so each operation's strategy is driven by
# hypothesis directly: the same generated cases and the same checks (status codes, content types, schemas, 5xx).
@pytest.mark.parametrize("path", OPERATIONS)
def test_api_operation_conforms_to_its_openapi(api_schema: Any, path: str) -> None:
    operation = api_schema[path]["GET"]

    # Generate and check only: the shrink and explain phases trace every line and can exhaust memory here.
    @given(case=operation.as_strategy())
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None, phases=[Phase.explicit, Phase.generate])
    def check(case: Any) -> None:
        # A query may be schema-valid (any string) and still not parse; the documented 400 says where.
        queried = path in ("/api/query", "/api/search")
        excluded = [schemathesis.checks.positive_data_acceptance] if queried else []
        response = case.call_and_validate(excluded_checks=excluded)
        if queried and response.status_code == 400:
            assert response.json()["detail"]["message"]

    check()
