"""The PostgreSQL store itself: append-only in the database, the chain, connection errors.

The behaviour both stores share is tested once, over ``db_url``, in the other suites; these
tests are about what only PostgreSQL has (a server, a sequence, plpgsql triggers).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import psycopg.errors
import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.bundled import MEN_500M, load_bundled
from ledger.errors import StoreError
from ledger.store_postgres import connection_problem
from tests.conftest import POSTGRES

needs_server = pytest.mark.skipif(
    not POSTGRES and os.environ.get("CI") != "true",
    reason="LEDGER_TEST_POSTGRES names no PostgreSQL server",
)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A throwaway PostgreSQL database (only with a server)."""
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def season_on_postgres(pg_url: str) -> Iterator[Ledger]:
    ledger = Ledger(pg_url)
    load_bundled(ledger, MEN_500M)
    yield ledger
    ledger.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_line_error(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_server_that_is_down_is_one_line_and_the_password_is_never_shown(
    runner: CliRunner,
) -> None:
    url = f"postgresql://results:s3cret-pw@127.0.0.1:{free_port()}/ledger"
    line = one_line_error(runner, "standings", "men-500m", "--db", url)
    assert "s3cret-pw" not in line
    assert "Connection refused" in line
    assert "127.0.0.1" in line


def test_a_server_that_is_down_cannot_be_copied_into_and_the_password_is_never_shown(
    runner: CliRunner, tmp_path: Path
) -> None:
    source = str(tmp_path / "source.db")
    Ledger(source).close()
    url = f"postgresql://results:s3cret-pw@127.0.0.1:{free_port()}/ledger"
    line = one_line_error(runner, "copy", "--from", source, "--to", url)
    assert line.startswith("error: --to postgresql://results@127.0.0.1:")
    assert "s3cret-pw" not in line


def test_a_connection_problem_is_told_in_one_line_without_the_password() -> None:
    error = psycopg.OperationalError(
        'connection failed: connection to server at "10.0.0.7", port 5432 failed: FATAL:  '
        'password authentication failed for user "results" (tried hunter2)\n\tsecond line'
    )
    text = connection_problem(error, "hunter2")
    assert text == ('password authentication failed for user "results" (tried ***) (second line)')


@needs_server
def test_a_database_that_does_not_exist_is_one_line_naming_it(runner: CliRunner) -> None:
    base = POSTGRES.rpartition("/")[0]
    line = one_line_error(runner, "races", "--db", f"{base}/no_such_ledger_db")
    assert 'database "no_such_ledger_db" does not exist' in line


@needs_server
def test_the_events_table_refuses_update_and_delete(
    season_on_postgres: Ledger, pg_url: str
) -> None:
    head = season_on_postgres.head()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in (
            "UPDATE stored_events SET topic = 'forged' WHERE originator_version = 2",
            "DELETE FROM stored_events WHERE originator_version = 2",
            "TRUNCATE stored_events",
            "UPDATE ledger_chain SET recorded_at = '2000-01-01' WHERE position = 5",
            "DELETE FROM ledger_chain WHERE position = 353",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT COUNT(*) FROM stored_events").fetchone() == (353,)
    assert season_on_postgres.head() == head
    assert season_on_postgres.verify().head == head.hash


@needs_server
def test_positions_stay_contiguous_when_the_notification_sequence_has_gaps(
    season_on_postgres: Ledger, pg_url: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # What rolled-back inserts leave behind: sequence values no row will ever have.
        for _ in range(3):
            conn.execute("SELECT nextval('stored_events_notification_id_seq')")
    season_on_postgres.disqualify("HVN2", "Michel Mulder", reason="false starts")
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT position, notification_id FROM ledger_chain ORDER BY position"
        ).fetchall()
    assert [p for p, _ in rows] == list(range(1, 355))
    assert rows[-1][1] - rows[-2][1] == 4
    assert season_on_postgres.verify().events == 354


@needs_server
def test_the_library_insert_function_cannot_bypass_the_chain(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "yes")
    ledger = Ledger(pg_url)
    try:
        load_bundled(ledger, MEN_500M)
        assert ledger.head().position == 353
        assert ledger.verify().events == 353
    finally:
        ledger.close()


@needs_server
def test_several_processes_may_open_a_new_ledger_at_once(pg_url: str) -> None:
    def open_and_close(_: int) -> int:
        ledger = Ledger(pg_url)
        try:
            return ledger.head().position
        finally:
            ledger.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(open_and_close, range(6))) == [0] * 6


@needs_server
def test_a_ledger_opened_again_keeps_its_events_and_triggers(
    season_on_postgres: Ledger, pg_url: str
) -> None:
    again = Ledger(pg_url)
    try:
        assert again.head() == season_on_postgres.head()
    finally:
        again.close()
    with psycopg.connect(pg_url) as conn:
        triggers = conn.execute(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname"
        ).fetchall()
    tables = [
        "ledger_chain",
        "ledger_signatures",
        "read_athletes",
        "read_competitors",
        "read_cups",
        "read_facts",
        "read_labels",
        "read_races",
        "read_seasons",
        "stored_events",
    ]
    assert [t for (t,) in triggers] == [
        "ledger_chain_record_author",  # the database role that wrote each event
        *(f"{table}_refuse_{what}" for table in tables for what in ("change", "truncate")),
    ]


def test_a_postgres_url_without_a_database_is_refused_before_connecting() -> None:
    with pytest.raises(StoreError, match="names no database"):
        Ledger(f"postgresql://results:pw@127.0.0.1:{free_port()}/")
