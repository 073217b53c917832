"""Roles on PostgreSQL: readers only read, recorders only append, admins own the ledger."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.bundled import MEN_500M, season_dir

POSTGRES = os.environ.get("LEDGER_TEST_POSTGRES", "")
pytestmark = pytest.mark.postgres
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="LEDGER_TEST_POSTGRES is not set")
LOG_TABLES = ("stored_events", "ledger_chain")
APPEND_ONLY_MODEL = (
    "read_facts",
    "read_seasons",
    "read_cups",
    "read_races",
    "read_competitors",
    "read_labels",
    "read_athletes",
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_roles_on_sqlite_are_one_clear_line(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    assert run("init", "--db", db)[0] == 0
    code, out, err = run("grant", "someone", "--reader", "--db", db)
    assert (code, out) == (1, "")
    assert err == (
        "error: roles are a PostgreSQL feature: who may read or write a SQLite ledger is the"
        " file's own permissions\n"
    )
    code, _, err = run("grant", "someone", "--reader", "--admin", "--db", db)
    assert code == 1 and err == "error: give one of --reader, --recorder and --admin\n"


@pytest.fixture
def roles(postgres_database: str) -> Iterator[dict[str, str]]:
    """The season in a new PostgreSQL ledger, and a reader, a recorder and an admin role
    (their --db URLs), made by the server's superuser."""
    import psycopg

    suffix = uuid.uuid4().hex[:8]
    names = {level: f"ledger_{level}_{suffix}" for level in ("reader", "recorder", "admin")}
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'CREATE ROLE "{name}" LOGIN')
    season = season_dir(MEN_500M)
    assert run("import", "season", str(season / "season.toml"), "--db", postgres_database)[0] == 0
    code, _, err = run("import", "results", str(season / "results.csv"), "--db", postgres_database)
    assert code == 0, err
    for level, name in names.items():
        code, out, err = run("grant", name, f"--{level}", "--db", postgres_database)
        assert code == 0, err
        assert out.startswith(f"granted {level} to {name} (")
    server, _, database = postgres_database.rpartition("/")
    host = server.rpartition("@")[2]
    try:
        yield {
            "owner": postgres_database,
            **{level: f"postgresql://{name}@{host}/{database}" for level, name in names.items()},
            **{f"{level}_name": name for level, name in names.items()},
        }
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            for name in names.values():
                admin.execute(f'DROP ROLE IF EXISTS "{name}"')


def _privileges(owner: str, role: str, table: str) -> set[str]:
    import psycopg

    with psycopg.connect(owner) as c:
        return {
            verb
            for verb in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
            if c.execute("SELECT has_table_privilege(%s, %s, %s)", (role, table, verb)).fetchone()[
                0
            ]
        }


def _head(url: str) -> tuple[int, str]:
    code, out, err = run("verify", "--db", url, "--chain-only")
    assert code == 0, err
    count, _, digest = out.strip().rpartition(" ")
    return int(count.split()[0]), digest


READS = [
    ["standings", "men-500m", "--format", "json"],
    ["results", "HVN2", "--format", "json"],
    ["races", "--format", "json"],
    ["history", "--race", "HVN2", "--format", "json"],
    ["explain", "men-500m", "Michel Mulder", "--format", "json"],
    ["diff", "men-500m", "--as-of", "2014-01-01", "--vs-as-of", "2014-03-01", "-f", "json"],
    ["check", "--format", "json"],
    ["competitors", "mul", "--format", "json"],
    ["export", "events"],
    ["verify"],
]
WRITES = [
    ["record", "HVN2", "New Skater", "--place", "41", "--nation", "ITA"],
    ["correct", "HVN2", "Michel Mulder", "--time", "34.95", "--reason", "timing"],
    ["disqualify", "HVN2", "Jan Smeekens", "--reason", "jury"],
    ["rename", "Mo Tae-bum", "--to", "Mo Taebum", "--reason", "spelling"],
]


@needs_postgres
def test_a_reader_reads_everything_and_writes_nothing(roles: dict[str, str]) -> None:
    reader = roles["reader"]
    for args in READS:
        code, _, err = run(*args, "--db", reader)
        assert code == 0, (args, err)
    before = _head(roles["owner"])
    for args in [*WRITES, ["rebuild"]]:
        code, _out, err = run(*args, "--db", reader)
        assert code == 1, args
        assert len(err.splitlines()) == 1 and "cannot write to this ledger" in err, (args, err)
        assert "Traceback" not in err
    assert _head(roles["owner"]) == before
    for table in (*LOG_TABLES, *APPEND_ONLY_MODEL, "read_commands", "read_meta"):
        assert _privileges(roles["owner"], roles["reader_name"], table) == {"SELECT"}


@needs_postgres
def test_a_recorder_appends_and_may_not_update_delete_or_truncate(roles: dict[str, str]) -> None:
    import psycopg

    recorder = roles["recorder"]
    before = _head(roles["owner"])
    for args in WRITES:
        code, out, err = run(*args, "--db", recorder)
        assert code == 0, (args, err)
    assert _head(roles["owner"])[0] == before[0] + len(WRITES)
    for args in READS:
        assert run(*args, "--db", recorder)[0] == 0, args
    code, out, _ = run("history", "--commands", "--format", "json", "--db", roles["owner"])
    assert code == 0 and len(json.loads(out)["data"]) >= 2 + len(WRITES)
    for table in (*LOG_TABLES, *APPEND_ONLY_MODEL):
        assert _privileges(roles["owner"], roles["recorder_name"], table) == {"SELECT", "INSERT"}
    for table in ("read_commands", "read_meta"):  # upserted by the writer path (docs)
        assert _privileges(roles["owner"], roles["recorder_name"], table) == {
            "SELECT",
            "INSERT",
            "UPDATE",
        }
    # Plain SQL as the recorder: refused by the privileges, before any trigger.
    for statement in (
        "UPDATE stored_events SET topic = 'forged'",
        "DELETE FROM stored_events",
        "TRUNCATE stored_events",
        "UPDATE ledger_chain SET hash = 'x'",
        "DELETE FROM ledger_chain",
        "TRUNCATE ledger_chain",
        "DELETE FROM read_facts",
        "DROP TRIGGER stored_events_refuse_change ON stored_events",
        "LOCK TABLE stored_events IN ACCESS EXCLUSIVE MODE",
    ):
        with psycopg.connect(recorder) as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(statement)
    code, _, err = run("rebuild", "--db", recorder)
    assert code == 1 and len(err.splitlines()) == 1
    assert "may append to this ledger but not do this" in err, err
    assert run("verify", "--db", roles["owner"])[0] == 0


@needs_postgres
def test_an_admin_owns_the_ledger(roles: dict[str, str]) -> None:
    import psycopg

    admin = roles["admin"]
    assert run("rebuild", "--db", admin)[0] == 0
    assert run(*WRITES[0], "--db", admin)[0] == 0
    with psycopg.connect(admin) as c:
        owners = {
            row[0]
            for row in c.execute(
                "SELECT tableowner FROM pg_tables WHERE tablename = ANY(%s)",
                ([*LOG_TABLES, *APPEND_ONLY_MODEL],),
            )
        }
    assert owners == {roles["admin_name"]}
    assert run("verify", "--db", admin)[0] == 0


@needs_postgres
def test_grant_answers_in_the_one_envelope(roles: dict[str, str]) -> None:
    code, out, err = run(
        "grant", roles["reader_name"], "--reader", "--format", "json", "--db", roles["owner"]
    )
    assert code == 0, err
    data = json.loads(out)
    assert list(data)[:3] == ["command", "query", "head"]
    assert data["command"] == "grant"
    assert data["query"] == {"role": roles["reader_name"], "level": "reader"}
    assert data["level"] == "reader" and any("GRANT SELECT" in s for s in data["statements"])
    code, _, err = run("grant", "no_such_role_here", "--reader", "--db", roles["owner"])
    assert code == 1 and len(err.splitlines()) == 1 and "does not exist" in err
