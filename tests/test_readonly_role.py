"""Readers need only SELECT: with a PostgreSQL role that may only read, every read command
and `ledger serve` answer as the owner's would, and every command that writes is refused
with one line saying that the role cannot write."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.http.app import create_app
from cli.main import app
from tests.audit_helpers import setup_mini
from tests.conftest import POSTGRES
from tests.test_output import EXPORTS, LATER, READS, SECOND, write_commands

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES, reason="needs LEDGER_TEST_POSTGRES"),
]


@pytest.fixture
def owner(postgres_database: str, tmp_path: Path) -> str:
    """The mini ledger, two seasons, written by the database's owner."""
    runner = CliRunner()
    setup_mini(runner, postgres_database, tmp_path)
    (tmp_path / "second.toml").write_text(SECOND, encoding="utf-8")
    for args in (
        ["disqualify", "R1", "Ann", "--reason", "false start", "--season", "mini-2024",
         "--recorded-at", LATER],
        ["import", "season", str(tmp_path / "second.toml"), "--recorded-at", LATER],
    ):  # fmt: skip
        result = runner.invoke(app, [*args, "--db", postgres_database])
        assert result.exit_code == 0, result.output
    return postgres_database


@pytest.fixture
def reader(owner: str) -> Iterator[str]:
    """The same database through a role granted SELECT on its tables and nothing else."""
    import psycopg

    role = f"ledger_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(owner, autocommit=True) as c:
        c.execute(f'CREATE ROLE "{role}" LOGIN')
        c.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        c.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
    base, _, rest = owner.partition("://")
    _, _, hostpart = rest.partition("@")
    try:
        yield f"{base}://{role}@{hostpart}"
    finally:
        with psycopg.connect(owner, autocommit=True) as c:
            c.execute(f'DROP OWNED BY "{role}"')
            c.execute(f'DROP ROLE "{role}"')


def run(db: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--db", db])
    return result.exit_code, result.stdout, result.stderr


def test_every_read_answers_as_the_owners_would(owner: str, reader: str) -> None:
    for args in [*READS, *EXPORTS, ["verify"], ["verify", "--chain-only"]]:
        json_args = args if "--format" in args else [*args, "--format", "json"]
        if args[0] == "verify" and "--format" not in args:
            json_args = args
        code, out, err = run(reader, *json_args)
        assert code == 0, (args, err)
        if "now" not in args:
            assert out == run(owner, *json_args)[1], args


def test_serve_answers_as_the_command_line_with_a_select_only_role(owner: str, reader: str) -> None:
    with TestClient(create_app(reader)) as c:
        response = c.get("/api/standings/mini-2024/sprint")
        assert response.status_code == 200
        assert c.get("/standings/mini-2024/sprint").status_code == 200
        assert c.get("/api/verify").json()["verified"] is True
    _, printed, _ = run(owner, "standings", "sprint", "--season", "mini-2024", "--format", "json")
    assert response.text == printed


def test_every_write_is_refused_in_one_line_saying_the_role_cannot_write(
    reader: str, owner: str, tmp_path: Path
) -> None:
    (tmp_path / "season.toml").write_text(SECOND.replace("mini-2025", "mini-2026"), "utf-8")
    before = run(owner, "verify")[1]
    writes = [
        *write_commands(tmp_path),
        ["import", "season", str(tmp_path / "season.toml")],
        ["rebuild"],
    ]
    for args in writes:
        code, out, err = run(reader, *args)
        assert code == 1, (args, out, err)
        assert err.count("\n") == 1, (args, err)
        assert "cannot write to this ledger (it may only read)" in err, (args, err)
        assert "Traceback" not in err
    # `init` of a ledger that is complete has nothing to write: it says so, and writes nothing.
    code, out, err = run(reader, "init")
    assert code == 0 and out.startswith("ledger ready at"), (out, err)
    # A copy onto the same ledger, as the reader, finds it up to date: nothing to write.
    copied = CliRunner().invoke(app, ["copy", "--from", owner, "--to", reader])
    assert copied.exit_code == 0 and "was up to date already" in copied.stdout
    assert run(owner, "verify")[1] == before  # nothing was written


def _role_url(owner: str, role: str) -> str:
    base, _, rest = owner.partition("://")
    return f"{base}://{role}@{rest.partition('@')[2]}"


def test_a_granted_recorder_runs_every_command_and_an_admin_rebuilds(
    owner: str, tmp_path: Path
) -> None:
    import psycopg

    recorder, admin = (f"ledger_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("rec", "adm"))
    with psycopg.connect(owner, autocommit=True) as c:
        for role in (recorder, admin):
            c.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        assert run(owner, "grant", recorder, "--recorder")[0] == 0
        for args in write_commands(tmp_path):
            code, out, err = run(_role_url(owner, recorder), *args)
            if args[0] == "retable":  # a command that would change nothing is refused
                assert code == 1 and "Traceback" not in err, (args, err)
                continue
            assert code == 0, (args, out, err)
        for args in [*READS, *EXPORTS]:
            code, out, err = run(_role_url(owner, recorder), *args)
            assert code == 0, (args, err)
        code, _, err = run(_role_url(owner, recorder), "rebuild")
        assert code == 1 and err.count("\n") == 1, err  # the read model is the owner's
        assert "may append to this ledger but not do this" in err, err
        assert run(owner, "grant", admin, "--admin")[0] == 0
        assert run(_role_url(owner, admin), "rebuild")[0] == 0
        code, out, err = run(_role_url(owner, admin), "verify")
        assert code == 0, err
    finally:
        with psycopg.connect(owner, autocommit=True) as c:
            for role in (recorder, admin):
                c.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
                c.execute(f'DROP OWNED BY "{role}"')
                c.execute(f'DROP ROLE "{role}"')
