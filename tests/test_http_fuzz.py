"""The API fuzzed from its own OpenAPI document (schemathesis): whatever the parameters,
never a server error, and every refusal is the one-line JSON error."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from cli.http.app import create_app
from tests.test_http import build


def _schema() -> Any:
    """The app over the README's tour ledger, built once, in a folder of its own."""
    folder = Path(tempfile.mkdtemp(prefix="ledger-fuzz-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db = str(folder / "ledger.db")
    build(CliRunner(), db)
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(db))


# Collected with the module (schemathesis parametrizes at collection), so built here.
schema = _schema()


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)
def test_no_input_makes_the_api_fail(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, (case.path, case.query, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert list(body) == ["error"], body
        assert "\n" not in body["error"]
    else:
        assert response.status_code in (200, 304)
