"""On PostgreSQL, the database role that wrote each event is recorded by the server and
hashed into its chain link; --by stays "on behalf of"."""

from __future__ import annotations

import hashlib
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
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES, reason="LEDGER_TEST_POSTGRES is not set"),
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def ledger(postgres_database: str) -> Iterator[dict[str, str]]:
    """The season declared by the server's superuser, and a recorder role."""
    import psycopg

    name = f"ledger_recorder_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{name}" LOGIN')
        owner = admin.execute("SELECT session_user").fetchone()[0]
    season = season_dir(MEN_500M) / "season.toml"
    assert run("import", "season", str(season), "--db", postgres_database, "-q")[0] == 0
    assert run("grant", name, "--recorder", "--db", postgres_database)[0] == 0
    server, _, database = postgres_database.rpartition("/")
    host = server.rpartition("@")[2]
    try:
        yield {
            "owner": postgres_database,
            "owner_name": owner,
            "recorder": f"postgresql://{name}@{host}/{database}",
            "recorder_name": name,
        }
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')


def _chain(url: str) -> list[tuple[int, str, int, str, str, bytes, str, str | None]]:
    import psycopg

    with psycopg.connect(url) as c:
        return [
            (p, o.hex, v, t, at, bytes(s), h, a)
            for p, o, v, t, at, s, h, a in c.execute(
                "SELECT k.position, e.originator_id, e.originator_version, e.topic,"
                " k.recorded_at, e.state, k.hash, k.author FROM ledger_chain k"
                " JOIN stored_events e ON e.notification_id = k.notification_id"
                " ORDER BY k.position"
            )
        ]


def test_the_server_records_who_wrote_each_event_and_the_hash_covers_it(
    ledger: dict[str, str],
) -> None:
    code, _, err = run("record", "HVN2", "New Skater", "--place", "41", "--nation", "ITA",
                       "--by", "results office", "--db", ledger["recorder"])  # fmt: skip
    assert code == 0, err
    rows = _chain(ledger["owner"])
    assert [r[7] for r in rows] == [ledger["owner_name"]] * 23 + [ledger["recorder_name"]]
    # The encoding of docs/integrity.md, computed here by hand.
    previous = bytes(32)
    for position, origin, version, topic, at, state, stored, author in rows:
        header = f"{position}|{origin}|{version}|{topic}|{at}|{author}\n"
        previous = hashlib.sha256(previous + header.encode() + state).digest()
        assert previous.hex() == stored
    assert run("verify", "--db", ledger["owner"])[0] == 0
    code, out, _ = run("history", "--commands", "-f", "json", "--db", ledger["owner"])
    last = json.loads(out)["data"][-1]
    assert (last["by"], last["db_role"]) == ("results office", ledger["recorder_name"])
    code, out, _ = run("history", "--race", "HVN2", "-f", "tsv", "--db", ledger["owner"])
    header, *_, row = out.splitlines()
    assert header.split("\t")[-1] == "db_role" and row.split("\t")[-1] == ledger["recorder_name"]


def test_a_recorder_cannot_claim_another_role(ledger: dict[str, str]) -> None:
    import psycopg

    rows = _chain(ledger["owner"])
    position, origin, version, topic, at, state, previous, _ = rows[-1]
    claimed = ledger["owner_name"]
    forged = state.replace(b'"race"', b'"race"', 1)
    header = f"{position + 1}|{origin}|{version + 1}|{topic}|{at}|{claimed}\n"
    digest = hashlib.sha256(bytes.fromhex(previous) + header.encode() + forged).hexdigest()
    with psycopg.connect(ledger["recorder"]) as c:
        (nid,) = c.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, %s, %s) RETURNING notification_id",
            (uuid.UUID(origin), version + 1, topic, forged),
        ).fetchone()
        c.execute(
            "INSERT INTO ledger_chain (position, notification_id, recorded_at, hash, author)"
            " VALUES (%s, %s, %s, %s, %s)",
            (position + 1, nid, at, digest, claimed),
        )
    assert _chain(ledger["owner"])[-1][7] == ledger["recorder_name"]  # the server's word
    code, _, err = run("verify", "--chain-only", "--db", ledger["owner"])
    assert code == 1
    assert f"position {position + 1}: the stored hash does not match the event" in err


def test_a_copy_keeps_the_roles_and_the_head(ledger: dict[str, str], tmp_path: Path) -> None:
    assert run("record", "HVN2", "New Skater", "--place", "41", "--db", ledger["recorder"])[0] == 0
    copy = str(tmp_path / "copy.db")
    code, _, err = run("copy", "--from", ledger["owner"], "--to", copy)
    assert code == 0, err
    code, verified, _ = run("verify", "--db", copy)
    original = run("verify", "--db", ledger["owner"])[1]
    assert code == 0 and verified.splitlines()[-1] == original.splitlines()[-1]
    # Into PostgreSQL only the owner may copy: the server would record a recorder's role.
    assert run("record", "HVN2", "Other Skater", "--place", "42", "--db", copy)[0] == 0
    code, _, err = run("copy", "--from", copy, "--to", ledger["recorder"])
    assert code == 1 and len(err.splitlines()) == 1 and "only the ledger's owner" in err
    code, _, err = run("copy", "--from", copy, "--to", ledger["owner"])
    assert code == 0, err
    assert run("verify", "--db", ledger["owner"])[0] == 0


def test_a_reader_reads_a_ledger_from_before_roles_were_recorded(ledger: dict[str, str]) -> None:
    import psycopg

    # A ledger written before the author column existed: its links have no role in them.
    with psycopg.connect(ledger["owner"], autocommit=True) as c:
        c.execute("DROP TRIGGER ledger_chain_record_author ON ledger_chain")
        c.execute("ALTER TABLE ledger_chain DROP COLUMN author")
    before = _chain_without_author(ledger["owner"])
    previous = bytes(32)
    with psycopg.connect(ledger["owner"], autocommit=True) as c:
        c.execute("ALTER TABLE ledger_chain DISABLE TRIGGER USER")
        for position, origin, version, topic, at, state in before:
            header = f"{position}|{origin}|{version}|{topic}|{at}\n"
            previous = hashlib.sha256(previous + header.encode() + state).digest()
            c.execute(
                "UPDATE ledger_chain SET hash = %s WHERE position = %s", (previous.hex(), position)
            )
        c.execute("ALTER TABLE ledger_chain ENABLE TRIGGER USER")
    reader = ledger["recorder"]  # it may only read what it is not granted to write
    code, out, err = run("verify", "--db", reader)
    assert code == 0, err
    code, out, err = run("history", "--commands", "-f", "json", "--db", reader)
    assert code == 0, err
    assert {row["db_role"] for row in json.loads(out)["data"]} == {None}
    # The owner's next command brings the schema up to date, and the new event has its role.
    assert run("record", "HVN2", "New Skater", "--place", "41", "--db", ledger["owner"])[0] == 0
    assert run("verify", "--db", ledger["owner"])[0] == 0
    assert _chain(ledger["owner"])[-1][7] == ledger["owner_name"]


def _chain_without_author(url: str) -> list[tuple[int, str, int, str, str, bytes]]:
    import psycopg

    with psycopg.connect(url) as c:
        return [
            (p, o.hex, v, t, at, bytes(s))
            for p, o, v, t, at, s in c.execute(
                "SELECT k.position, e.originator_id, e.originator_version, e.topic,"
                " k.recorded_at, e.state FROM ledger_chain k"
                " JOIN stored_events e ON e.notification_id = k.notification_id"
                " ORDER BY k.position"
            )
        ]
