"""Tamper evidence: the chain's documented encoding, `ledger verify`, and a ledger file tampered
with through sqlite3 (after dropping the triggers, as whoever holds the file could)."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.chain import link, links
from ledger.errors import IntegrityViolation
from ledger.verify import verify_chain

DOCS = Path(__file__).resolve().parent.parent / "docs" / "integrity.md"
T0 = datetime(2014, 3, 1, 9, 0, tzinfo=UTC)
TRIGGERS = tuple(
    f"{table}_refuse_{verb}"
    for table in (
        "stored_events",
        "ledger_chain",
        "ledger_signatures",
        "read_facts",
        "read_seasons",
        "read_cups",
        "read_races",
        "read_competitors",
        "read_labels",
        "read_athletes",
    )
    for verb in ("update", "delete")
)

# --- The test vector of docs/integrity.md ------------------------------------------------

VECTOR = [
    (
        1,
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        1,
        "results-ledger:SeasonDeclared",
        "2014-03-09T18:00:00.000000+00:00",
        b'{"season":"demo"}',
    ),
    (
        2,
        "11112222333344445555666677778888",
        1,
        "results-ledger:RaceScheduled",
        "2014-03-09T18:00:00.000000+00:00",
        b'{"race":"R1"}',
    ),
    (
        3,
        "11112222333344445555666677778888",
        2,
        "results-ledger:ResultRecorded",
        "2014-03-09T18:00:01.500000+00:00",
        '{"competitor":"Zoë","place":1}'.encode(),
    ),
]
VECTOR_HASHES = [
    "77f71b1b451fa8925fe04c439e11ee465548dd59cbfa715be2328a7c2a7c52fd",
    "9bdee8bb5cbe4cc65d22b5c5f68459cbf8a588184c77f78fcdfd66db4d1eee62",
    "ada605ec66bf605bde0855d71e448100e72687685bd6d344e42ca0537cd54e6a",
]


def documented_hash(previous: bytes, position: int, oid: str, version: int, topic: str,
                    recorded_at: str, state: bytes) -> bytes:  # fmt: skip
    """The encoding exactly as docs/integrity.md states it, with nothing but hashlib."""
    header = f"{position}|{oid}|{version}|{topic}|{recorded_at}\n".encode()
    return hashlib.sha256(previous + header + state).digest()


def test_the_test_vector_follows_from_the_documented_encoding() -> None:
    previous = bytes(32)
    for event, expected in zip(VECTOR, VECTOR_HASHES, strict=True):
        previous = documented_hash(previous, *event)
        assert previous.hex() == expected


def test_the_chain_links_events_exactly_as_the_test_vector_says() -> None:
    previous = "00" * 32
    for event, expected in zip(VECTOR, VECTOR_HASHES, strict=True):
        previous = link(previous, *event)
        assert previous == expected


def test_the_test_vector_is_published_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for n, expected in enumerate(VECTOR_HASHES, start=1):
        assert f"hash({n}) = {expected}" in text


def test_a_ledger_holding_the_test_vector_verifies_to_its_last_hash(
    runner: CliRunner, sqlite_url: str
) -> None:
    Ledger(sqlite_url).close()
    # The vector's states are not events the ledger writes: stored as they are, past the
    # ledger (which would refuse them), and checked as a chain only.
    with sqlite3.connect(sqlite_url) as db:
        for position, oid, version, topic, at, state in VECTOR:
            db.execute("INSERT INTO stored_events VALUES (?,?,?,?)", (oid, version, topic, state))
            db.execute(
                "INSERT INTO ledger_chain (position, notification_id, recorded_at, hash)"
                " VALUES (?,?,?,?)",
                (position, position, at, VECTOR_HASHES[position - 1]),
            )
    result = runner.invoke(app, ["verify", "--chain-only", "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"3 events, head {VECTOR_HASHES[-1]}"


def test_the_ledger_stores_the_hashes_the_documented_encoding_gives(
    sqlite_url: str, men_500m: Path
) -> None:
    ledger = Ledger(sqlite_url)
    ledger.import_season_file(men_500m / "season.toml", recorded_at=T0)
    ledger.record_result("CAL1-A", "Test Skater", nation="NOR", place=40, recorded_at=T0)
    ledger.close()
    previous, count = bytes(32), 0
    with sqlite3.connect(sqlite_url) as db:
        for row in db.execute(
            "SELECT c.position, e.originator_id, e.originator_version, e.topic, c.recorded_at,"
            " e.state, c.hash FROM ledger_chain c JOIN stored_events e"
            " ON e.rowid = c.notification_id ORDER BY c.position"
        ):
            count += 1
            assert row[0] == count
            assert re.fullmatch(r"[0-9a-f]{32}", row[1])
            assert row[4] == "2014-03-01T09:00:00.000000+00:00"
            previous = documented_hash(previous, *row[:6])
            assert previous.hex() == row[6]
    assert count == 24


def test_the_verifier_printed_in_the_docs_agrees_with_ledger_verify(
    runner: CliRunner, honest: str, tmp_path: Path
) -> None:
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert code is not None
    script = tmp_path / "verify.py"
    script.write_text(code.group(1), encoding="utf-8")
    theirs = subprocess.run(
        [sys.executable, str(script), honest], capture_output=True, text=True, check=True
    )
    ours = runner.invoke(app, ["verify", "--db", honest])
    assert ours.exit_code == 0
    assert theirs.stdout.strip() == ours.stdout.splitlines()[-1]


# --- An honest ledger file, and tampering with it -------------------------------------------


@pytest.fixture(scope="module")
def honest_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A season of 23 events, 330 results and 2 corrections, recorded over a few days."""
    folder = Path(__file__).resolve().parent.parent / "ledger" / "data" / "seasons"
    season = folder / "isu-ss-wc-2013-14-men-500m"
    path = tmp_path_factory.mktemp("honest") / "ledger.db"
    ledger = Ledger(str(path))
    ledger.import_season_file(season / "season.toml", recorded_at=T0)
    ledger.import_results_file(season / "results.csv", recorded_at=T0.replace(day=2))
    ledger.correct_result(
        "CAL1-A", "Jan Smeekens", place=8, reason="photo finish", recorded_at=T0.replace(day=3)
    )
    ledger.disqualify("CAL2-A", "Mo Tae-bum", reason="false start", recorded_at=T0.replace(day=4))
    ledger.close()
    yield path


@pytest.fixture(autouse=True, params=["one process", "three processes"])
def processes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every verification here runs both ways: one walk along the log, and three processes
    over three stretches of it (forced: these ledgers are far below PARALLEL_FROM). Only a
    SQLite file is verified in parallel: PostgreSQL ledgers take one walk either way."""
    count = 1 if request.param == "one process" else 3
    monkeypatch.setattr("ledger.parallel._cpus", lambda: count)
    monkeypatch.setattr("ledger.parallel.PARALLEL_FROM", 1)
    return count


@pytest.fixture
def honest(honest_file: Path, tmp_path: Path) -> str:
    """A private copy of the honest ledger file."""
    copy = tmp_path / "ledger.db"
    with sqlite3.connect(honest_file) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    source.close()
    target.close()
    return str(copy)


def sql(db: str, *statements: str | tuple[str, tuple[object, ...]]) -> None:
    """Tamper as whoever holds the file could: drop the triggers, then run the statements."""
    connection = sqlite3.connect(db)
    try:
        for trigger in TRIGGERS:
            connection.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for statement in statements:
            if isinstance(statement, tuple):
                connection.execute(*statement)
            else:
                connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def query(db: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(statement, params).fetchall()
    connection.close()
    return rows


def event_rowid(db: str, position: int) -> int:
    rows = query(db, "SELECT notification_id FROM ledger_chain WHERE position = ?", position)
    return int(str(rows[0][0]))


def verify(runner: CliRunner, db: str, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["verify", "--db", db, *extra])
    return result.exit_code, result.stdout, result.stderr


def assert_fails_at(runner: CliRunner, db: str, position: int, *extra: str) -> str:
    code, _, err = verify(runner, db, *extra)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(f"error: position {position}:"), lines[0]
    return lines[0]


def test_the_honest_ledger_verifies_and_prints_its_length_and_head(
    runner: CliRunner, honest: str
) -> None:
    (count,) = query(honest, "SELECT COUNT(*) FROM stored_events")[0]
    (last,) = query(honest, "SELECT hash FROM ledger_chain ORDER BY position DESC LIMIT 1")[0]
    code, out, err = verify(runner, honest)
    assert code == 0, err
    assert count == 23 + 330 + 2
    assert out.splitlines()[-1] == f"{count} events, head {last}"


@pytest.mark.parametrize("table", ["stored_events", "ledger_chain"])
def test_the_triggers_refuse_updates_and_deletes_through_sqlite3(honest: str, table: str) -> None:
    column = "topic" if table == "stored_events" else "hash"
    connection = sqlite3.connect(honest)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute(f"UPDATE {table} SET {column} = 'x' WHERE rowid = 5")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute(f"DELETE FROM {table} WHERE rowid = 5")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute(f"DELETE FROM {table}")
    finally:
        connection.close()
    assert query(honest, f"SELECT COUNT(*) FROM {table}") == [(355,)]


def test_opening_a_ledger_restores_dropped_triggers(honest: str) -> None:
    sql(honest)
    assert query(honest, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'") == [(0,)]
    Ledger(honest).close()
    names = {
        str(r[0]) for r in query(honest, "SELECT name FROM sqlite_master WHERE type='trigger'")
    }
    assert names == set(TRIGGERS)


def test_editing_one_byte_of_an_events_state_fails_verify_at_that_position(
    runner: CliRunner, honest: str
) -> None:
    rowid = event_rowid(honest, 200)
    (state,) = query(honest, "SELECT state FROM stored_events WHERE rowid = ?", rowid)[0]
    assert isinstance(state, bytes)
    at = state.index(b'"place":') + len(b'"place":')
    edited = state[:at] + bytes([state[at] ^ 0x01]) + state[at + 1 :]
    assert len(edited) == len(state) and edited != state
    sql(honest, ("UPDATE stored_events SET state = ? WHERE rowid = ?", (edited, rowid)))
    assert "does not match" in assert_fails_at(runner, honest, 200)


def test_editing_a_recorded_time_fails_verify_at_that_position(
    runner: CliRunner, honest: str
) -> None:
    sql(honest, "UPDATE ledger_chain SET recorded_at = '2014-03-02T09:00:00.000001+00:00'"
                " WHERE position = 100")  # fmt: skip
    assert_fails_at(runner, honest, 100)


def test_deleting_an_event_and_its_link_fails_verify_at_its_position(
    runner: CliRunner, honest: str
) -> None:
    rowid = event_rowid(honest, 150)
    sql(
        honest,
        ("DELETE FROM stored_events WHERE rowid = ?", (rowid,)),
        "DELETE FROM ledger_chain WHERE position = 150",
    )
    assert "missing from the chain" in assert_fails_at(runner, honest, 150)


def test_deleting_an_event_and_renumbering_the_chain_fails_verify_at_its_position(
    runner: CliRunner, honest: str
) -> None:
    rowid = event_rowid(honest, 150)
    sql(
        honest,
        ("DELETE FROM stored_events WHERE rowid = ?", (rowid,)),
        "DELETE FROM ledger_chain WHERE position = 150",
        # Two steps, so that no two rows ever share a position on the way.
        "UPDATE ledger_chain SET position = -(position - 1) WHERE position > 150",
        "UPDATE ledger_chain SET position = -position WHERE position < 0",
    )
    assert "does not match" in assert_fails_at(runner, honest, 150)


def test_deleting_only_the_event_leaves_a_link_to_nothing(runner: CliRunner, honest: str) -> None:
    sql(honest, ("DELETE FROM stored_events WHERE rowid = ?", (event_rowid(honest, 30),)))
    assert "not in the log" in assert_fails_at(runner, honest, 30)


def test_swapping_two_events_fails_verify_at_the_first_of_them(
    runner: CliRunner, honest: str
) -> None:
    first, second = event_rowid(honest, 60), event_rowid(honest, 61)
    sql(
        honest,
        ("UPDATE ledger_chain SET notification_id = -1 WHERE position = 60", ()),
        (f"UPDATE ledger_chain SET notification_id = {first} WHERE position = 61", ()),
        (f"UPDATE ledger_chain SET notification_id = {second} WHERE position = 60", ()),
    )
    assert_fails_at(runner, honest, 60)


def test_swapping_the_contents_of_two_events_fails_verify_at_the_first_of_them(
    runner: CliRunner, honest: str
) -> None:
    first, second = event_rowid(honest, 240), event_rowid(honest, 90)
    columns = "originator_id, originator_version, topic, state"
    a = query(honest, f"SELECT {columns} FROM stored_events WHERE rowid = ?", first)[0]
    b = query(honest, f"SELECT {columns} FROM stored_events WHERE rowid = ?", second)[0]
    update = (
        "UPDATE stored_events SET originator_id = ?, originator_version = ?, topic = ?, state = ?"
    )
    sql(
        honest,
        (f"{update} WHERE rowid = ?", ("swap", -1, "", b"", first)),
        (f"{update} WHERE rowid = ?", (*a, second)),
        (f"{update} WHERE rowid = ?", (*b, first)),
    )
    assert_fails_at(runner, honest, 90)


def _insert_at(db: str, position: int, forge_link: bool) -> None:
    """Insert a made-up result at a position, shifting the later events up by one."""
    before = query(
        db,
        "SELECT e.originator_id, e.originator_version, e.topic, c.recorded_at, e.state, c.hash"
        " FROM ledger_chain c JOIN stored_events e ON e.rowid = c.notification_id"
        " WHERE c.position = ?",
        position - 1,
    )[0]
    oid, _, topic, recorded_at, state, previous = (str(v) if i != 4 else v for i, v in
                                                   enumerate(before))  # fmt: skip
    assert isinstance(state, bytes)
    forged = state.replace(b'"place":', b'"place":1', 1)
    version = 10_000
    digest = link(previous, position, oid, version, topic, recorded_at, forged)
    connection = sqlite3.connect(db)
    for trigger in TRIGGERS:
        connection.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    cursor = connection.execute(
        "INSERT INTO stored_events VALUES (?, ?, ?, ?)", (oid, version, topic, forged)
    )
    connection.execute(
        "UPDATE ledger_chain SET position = -(position + 1) WHERE position >= ?", (position,)
    )
    connection.execute("UPDATE ledger_chain SET position = -position WHERE position < 0")
    connection.execute(
        "INSERT INTO ledger_chain (position, notification_id, recorded_at, hash)"
        " VALUES (?, ?, ?, ?)",
        (position, cursor.lastrowid, recorded_at, digest if forge_link else previous),
    )
    connection.commit()
    connection.close()


def test_inserting_an_event_fails_verify_at_its_position(runner: CliRunner, honest: str) -> None:
    _insert_at(honest, 120, forge_link=False)
    assert_fails_at(runner, honest, 120)


def test_inserting_an_event_with_a_forged_link_fails_verify_at_the_next_one(
    runner: CliRunner, honest: str
) -> None:
    _insert_at(honest, 120, forge_link=True)
    assert_fails_at(runner, honest, 121)


def test_an_event_stored_without_a_chain_link_fails_verify(runner: CliRunner, honest: str) -> None:
    sql(honest, "INSERT INTO stored_events SELECT originator_id, 9999, topic, state"
                " FROM stored_events WHERE rowid = 100")  # fmt: skip
    assert "without a chain link" in assert_fails_at(runner, honest, 356)


def test_a_gap_in_the_chains_positions_fails_verify_where_it_starts(
    runner: CliRunner, honest: str
) -> None:
    sql(honest, "UPDATE ledger_chain SET position = 1000 WHERE position = 355")
    assert "missing from the chain" in assert_fails_at(runner, honest, 355)


def test_truncating_the_tail_is_caught_only_against_a_published_head(
    runner: CliRunner, honest: str
) -> None:
    published = verify(runner, honest)[1].split()[-1]
    sql(
        honest,
        "DELETE FROM stored_events WHERE rowid IN"
        " (SELECT notification_id FROM ledger_chain WHERE position > 340)",
        "DELETE FROM ledger_chain WHERE position > 340",
        # Whoever truncates the log can truncate its read model too.
        "DELETE FROM read_facts WHERE position > 340",
        "DELETE FROM read_labels WHERE position > 340",
        "DELETE FROM read_competitors WHERE key > 340",
        "UPDATE read_commands SET last = 340 WHERE last > 340",
        "DELETE FROM read_commands WHERE command > 340",
        "UPDATE read_meta SET value = '340' WHERE name = 'position'",
    )
    code, out, _ = verify(runner, honest)
    assert code == 0
    assert out.splitlines()[-1].startswith("340 events, head ")
    code, _, err = verify(runner, honest, "--expect-head", published)
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: the log holds no event with hash {published}: it was truncated or rewritten"
        " after that head was published (it now ends at position 340)"
    ]


def test_a_rewrite_that_recomputes_every_later_hash_is_caught_only_against_a_published_head(
    runner: CliRunner, honest: str
) -> None:
    published = verify(runner, honest)[1].split()[-1]
    rowid = event_rowid(honest, 300)
    (state,) = query(honest, "SELECT state FROM stored_events WHERE rowid = ?", rowid)[0]
    assert isinstance(state, bytes)
    sql(honest, ("UPDATE stored_events SET state = ? WHERE rowid = ?",
                 (state.replace(b'"by":"', b'"by":"x', 1), rowid)))  # fmt: skip
    rows = query(
        honest,
        "SELECT c.position, e.originator_id, e.originator_version, e.topic, c.recorded_at,"
        " e.state FROM ledger_chain c JOIN stored_events e ON e.rowid = c.notification_id"
        " ORDER BY c.position",
    )
    previous = "00" * 32
    rehashed = []
    for position, oid, version, topic, recorded_at, data in rows:
        assert isinstance(data, bytes)
        previous = link(previous, int(str(position)), str(oid), int(str(version)), str(topic),
                        str(recorded_at), data)  # fmt: skip
        rehashed.append(
            ("UPDATE ledger_chain SET hash = ? WHERE position = ?", (previous, position))
        )
    sql(honest, *rehashed)
    assert verify(runner, honest)[0] == 0
    code, _, err = verify(runner, honest, "--expect-head", published)
    assert code == 1
    assert "holds no event with hash" in err


def test_an_earlier_published_head_is_found_in_a_log_that_has_grown(
    runner: CliRunner, honest: str
) -> None:
    (earlier,) = query(honest, "SELECT hash FROM ledger_chain WHERE position = 353")[0]
    code, out, err = verify(runner, honest, "--expect-head", str(earlier).upper())
    assert code == 0, err
    assert out.splitlines() == [
        "published head found at position 353",
        out.splitlines()[-1],
    ]
    assert out.splitlines()[-1].startswith("355 events, head ")


@pytest.mark.parametrize("digest", ["", "abc", "g" * 64, "0" * 63, "0" * 65])
def test_a_malformed_expected_head_is_one_line_of_error(
    runner: CliRunner, honest: str, digest: str
) -> None:
    code, _, err = verify(runner, honest, "--expect-head", digest)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "64 hex digits" in err


def test_verify_on_the_ledger_api_raises_an_integrity_violation(honest: str) -> None:
    sql(honest, "UPDATE ledger_chain SET hash = '00' WHERE position = 7")
    ledger = Ledger(honest)
    try:
        with pytest.raises(IntegrityViolation, match=r"^position 7: "):
            ledger.verify()
    finally:
        ledger.close()


def test_an_empty_ledger_verifies_to_the_genesis_head(runner: CliRunner, sqlite_url: str) -> None:
    assert runner.invoke(app, ["init", "--db", sqlite_url]).exit_code == 0
    code, out, _ = verify(runner, sqlite_url)
    assert code == 0
    assert out.splitlines()[-1] == f"0 events, head {'0' * 64}"


def test_verify_reads_the_log_in_batches_without_missing_a_boundary(honest: str) -> None:
    ledger = Ledger(honest)
    try:
        whole = ledger.verify()
        for batch in (1, 2, 7, 354, 355, 356):
            assert verify_chain(ledger.chain, batch=batch) == whole
    finally:
        ledger.close()


def test_verify_agrees_with_the_ledgers_head_on_every_store(
    runner: CliRunner, db_url: str, men_500m: Path
) -> None:
    ledger = Ledger(db_url)
    try:
        ledger.import_season_file(men_500m / "season.toml", recorded_at=T0)
        published = ledger.head()
        ledger.record_result("CAL1-A", "Test Skater", nation="NOR", place=40)
        head = ledger.head()
    finally:
        ledger.close()
    code, out, err = verify(runner, db_url, "--expect-head", published.hash)
    assert code == 0, err
    assert out.splitlines() == [
        f"published head found at position {published.position}",
        f"{head.position} events, head {head.hash}",
    ]
    assert head.position == 24


def test_the_log_read_in_batches_is_the_log_read_at_once_on_every_store(
    db_url: str, men_500m: Path
) -> None:
    ledger = Ledger(db_url)
    try:
        ledger.import_season_file(men_500m / "season.toml", recorded_at=T0)
        whole = [tuple(row) for row in ledger.chain.chain_rows(0, 1_000)]
        assert [row[0] for row in whole] == list(range(1, 24))  # a season of 23 events
        for batch in (1, 5, 22, 23, 24):
            batches = list(ledger.chain.chain_batches(0, batch))
            assert all(len(rows) <= batch for rows in batches)
            assert [tuple(row) for rows in batches for row in rows] == whole
        assert [tuple(row) for rows in ledger.chain.chain_batches(20, 3) for row in rows] == (
            whole[20:]
        )
    finally:
        ledger.close()


def test_an_edit_that_stores_an_events_state_as_text_fails_verify_at_that_position(
    runner: CliRunner, honest: str
) -> None:
    rowid = event_rowid(honest, 120)
    # replace() on a BLOB returns TEXT: the edited row no longer even holds bytes.
    sql(honest, ("UPDATE stored_events SET state = replace(state, 'by', 'By') WHERE rowid = ?",
                 (rowid,)))  # fmt: skip
    assert query(honest, "SELECT typeof(state) FROM stored_events WHERE rowid = ?", rowid) == [
        ("text",)
    ]
    assert "malformed" in assert_fails_at(runner, honest, 120)


def test_a_chain_dropped_wholesale_leaves_every_event_unchained(
    runner: CliRunner, honest: str
) -> None:
    sql(honest, "DROP TABLE ledger_chain")
    assert "without a chain link" in assert_fails_at(runner, honest, 1)


def test_an_events_table_dropped_wholesale_leaves_links_to_nothing(
    runner: CliRunner, honest: str
) -> None:
    sql(honest, "DROP TABLE stored_events")
    assert "not in the log" in assert_fails_at(runner, honest, 1)


@given(
    start=st.integers(0, 10**9),
    events=st.lists(
        st.tuples(
            st.uuids().map(lambda u: u.hex),
            st.integers(1, 10**6),
            st.text(min_size=1, max_size=30),
            st.binary(max_size=300),
        ),
        max_size=20,
    ),
)
def test_a_whole_save_is_chained_as_its_events_one_by_one(
    start: int, events: list[tuple[str, int, str, bytes]]
) -> None:
    previous = hashlib.sha256(str(start).encode()).hexdigest()
    expected, last = [], previous
    for n, (originator_id, version, topic, state) in enumerate(events, start + 1):
        last = link(
            last, n, originator_id, version, topic, "2020-01-01T00:00:00.000000+00:00", state
        )
        expected.append(last)
    at = "2020-01-01T00:00:00.000000+00:00"
    assert links(previous, start, at, events) == expected
