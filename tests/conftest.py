"""Shared fixtures: the store under test, bundled seasons, a CLI runner.

The integration, CLI and acceptance suites take ``db_url``: a fresh ledger on SQLite, and on
PostgreSQL too when ``LEDGER_TEST_POSTGRES`` names a server (e.g.
``postgresql://postgres@127.0.0.1:5432/test``); each PostgreSQL test gets a throwaway database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.application import Ledger
from ledger.bundled import MEN_500M, RELAYS, season_dir

POSTGRES = os.environ.get("LEDGER_TEST_POSTGRES", "")
STORES = ["sqlite", *(["postgres"] if POSTGRES else [])]


def _server_url(database: str) -> str:
    base, _, _ = POSTGRES.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped afterwards."""
    import psycopg

    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _server_url(name)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=STORES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty ledger's --db value, on each store under test."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    return str(tmp_path / "ledger.db")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite ledger file (for tests about SQLite itself)."""
    return str(tmp_path / "ledger.db")


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    """An open, empty ledger on the store under test."""
    opened = Ledger(db_url)
    yield opened
    opened.close()


@pytest.fixture
def men_500m() -> Path:
    """The bundled men's 500 m season folder."""
    return season_dir(MEN_500M)


@pytest.fixture
def relays() -> Path:
    """The bundled short track relays season folder."""
    return season_dir(RELAYS)


@pytest.fixture
def runner() -> CliRunner:
    """typer's CLI runner."""
    return CliRunner()


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The process ids of the processes forked while the test runs (``os.fork`` recorded)."""
    forked: list[int] = []
    fork = os.fork

    def recorded() -> int:
        pid = fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recorded)
    return forked
