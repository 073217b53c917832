"""Signed commands: an honest ledger passes `verify --keys`; an append that anyone could
chain, but nobody signed with a key of the keyring, fails it."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from cli.main import app
from ledger.bundled import MEN_500M, season_dir


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def signed(tmp_path: Path, db_url: str) -> dict[str, str]:
    """The season recorded by the results office with its key, a disqualification by the
    jury with theirs; a keyring of both (on each store)."""
    return _signed(tmp_path, db_url)


@pytest.fixture
def signed_file(tmp_path: Path) -> dict[str, str]:
    """The same on a SQLite file, which tampering by hand edits."""
    return _signed(tmp_path, str(tmp_path / "signed.db"))


def _signed(tmp_path: Path, db_url: str) -> dict[str, str]:
    keyring = tmp_path / "keyring.txt"
    lines = []
    for name in ("office", "jury"):
        code, out, err = run("keys", "new", "--output", str(tmp_path / f"{name}.key"))
        assert code == 0, err
        lines.append(out)
    keyring.write_text("# the federation's keys\n" + "".join(lines))
    season = season_dir(MEN_500M)
    office = ["--key", str(tmp_path / "office.key"), "--db", db_url, "-q"]
    assert run("import", "season", str(season / "season.toml"), *office)[0] == 0
    assert run("import", "results", str(season / "results.csv"), *office)[0] == 0
    code, _, err = run(
        "disqualify", "HVN2", "POL #16", "--reason", "jury", "--db", db_url,
        env={"LEDGER_KEY": str(tmp_path / "jury.key")},
    )  # fmt: skip
    assert code == 0, err
    return {"db": db_url, "keyring": str(keyring), "folder": str(tmp_path)}


def test_a_new_key_is_private_and_its_line_is_a_keyring_entry(tmp_path: Path) -> None:
    key = tmp_path / "jury.key"
    code, out, err = run("keys", "new", "--output", str(key), "--name", "jury")
    assert code == 0, err
    assert key.stat().st_mode & 0o777 == 0o600
    name, public = out.split()
    assert name == "jury" and public.startswith("ed25519:")
    raw = base64.b64decode(public.removeprefix("ed25519:"))
    assert len(raw) == 32
    assert hashlib.sha256(raw).hexdigest()[:16] in err  # the key id, as the docs define it
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    code, _, err = run("keys", "new", "--output", str(key))
    assert code == 1 and "give --force" in err
    code, out, _ = run("keys", "new", "--output", str(tmp_path / "b.key"), "--format", "json")
    data = json.loads(out)
    assert list(data)[:3] == ["command", "query", "head"] and data["command"] == "keys new"
    assert data["keyring_line"].startswith("b ed25519:")


def test_an_honest_ledger_passes_and_names_its_signers(signed: dict[str, str]) -> None:
    code, out, err = run("verify", "--keys", signed["keyring"], "--db", signed["db"])
    assert code == 0, err
    assert out.splitlines()[0] == "every event signed by a key of the keyring: jury 1, office 353"
    assert out.splitlines()[1].startswith("354 events, head ")
    code, out, _ = run(
        "history", "--commands", "--keys", signed["keyring"], "-f", "json", "--db", signed["db"]
    )
    assert code == 0
    assert [c["signed_by"] for c in json.loads(out)["data"]] == ["office", "office", "jury"]


def test_an_append_without_a_key_fails_verify_keys_but_not_verify(signed: dict[str, str]) -> None:
    db = signed["db"]
    code, _, _ = run("correct", "HVN2", "Michel Mulder", "--time", "34.94", "--reason", "x",
                     "--db", db)  # fmt: skip
    assert code == 0
    assert run("verify", "--db", db)[0] == 0  # the chain is intact: anyone can link
    code, out, err = run("verify", "--keys", signed["keyring"], "--db", db)
    assert (code, out) == (1, "")
    assert err == (
        "error: signatures: 1 event(s) not signed by any key, the first at position 355\n"
    )
    code, out, _ = run("history", "--commands", "-f", "json", "--db", db)
    assert json.loads(out)["data"][-1]["signed_by"] is None


def _sqlite(signed: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(signed["db"])


def test_a_forged_append_with_a_valid_link_and_a_made_up_signature_fails(
    signed_file: dict[str, str], tmp_path: Path
) -> None:
    signed = signed_file
    db = signed["db"]
    c = _sqlite(signed)
    # A forger appends a disqualification the way the ledger would, computing the hash link
    # by hand (docs/integrity.md), and signs it with a key of their own, or claims the
    # office's key id with a signature they cannot make.
    (state,) = c.execute(
        "SELECT e.state FROM ledger_chain k JOIN stored_events e ON e.rowid = k.notification_id"
        " WHERE k.position = 354"
    ).fetchone()
    (origin, version, topic) = c.execute(
        "SELECT originator_id, originator_version, topic FROM stored_events e"
        " JOIN ledger_chain k ON e.rowid = k.notification_id WHERE k.position = 354"
    ).fetchone()
    previous, at = c.execute(
        "SELECT hash, recorded_at FROM ledger_chain WHERE position = 354"
    ).fetchone()
    forged_state = state.replace(b"POL #16", b"POL #17") if isinstance(state, bytes) else state
    header = f"355|{origin}|{version + 1}|{topic}|{at}\n".encode()
    digest = hashlib.sha256(bytes.fromhex(previous) + header + forged_state).hexdigest()
    rowid = c.execute(
        "INSERT INTO stored_events (originator_id, originator_version, topic, state)"
        " VALUES (?,?,?,?)",
        (origin, version + 1, topic, forged_state),
    ).lastrowid
    c.execute(
        "INSERT INTO ledger_chain (position, notification_id, recorded_at, hash)"
        " VALUES (355, ?, ?, ?)",
        (rowid, at, digest),
    )
    theirs = Ed25519PrivateKey.generate()
    message = f"results-ledger signature v1|355|355|{digest}".encode()
    c.commit()
    code, _, err = run("verify", "--chain-only", "--keys", signed["keyring"], "--db", db)
    assert code == 1 and "1 event(s) not signed by any key, the first at position 355" in err
    c.execute(
        "INSERT INTO ledger_signatures VALUES (355, 355, ?, ?)",
        ("0123456789abcdef", base64.b64encode(theirs.sign(message)).decode()),
    )
    c.commit()
    code, _, err = run("verify", "--chain-only", "--keys", signed["keyring"], "--db", db)
    assert code == 1
    assert "1 signature(s) by keys not in the keyring, the first 0123456789abcdef over" in err
    # Claiming a key of the keyring does not help without its private half.
    keyring_ids = [
        hashlib.sha256(base64.b64decode(line.split()[1].removeprefix("ed25519:"))).hexdigest()[:16]
        for line in Path(signed["keyring"]).read_text().splitlines()[1:]
    ]
    c.execute("DROP TRIGGER ledger_signatures_refuse_update")
    c.execute("UPDATE ledger_signatures SET key_id = ? WHERE last = 355", (keyring_ids[0],))
    c.commit()
    code, _, err = run("verify", "--chain-only", "--keys", signed["keyring"], "--db", db)
    assert code == 1 and "1 bad signature(s), the first over positions 355 by key" in err


def test_an_edited_and_rechained_signed_event_fails(signed_file: dict[str, str]) -> None:
    signed = signed_file
    c = _sqlite(signed)
    # The edit a holder of the file can make and hide from plain verify: change an event,
    # then recompute every hash after it.
    for table in ("stored_events", "ledger_chain"):
        c.execute(f"DROP TRIGGER {table}_refuse_update")
    rows = c.execute(
        "SELECT k.position, e.rowid, e.originator_id, e.originator_version, e.topic,"
        " k.recorded_at, e.state FROM ledger_chain k JOIN stored_events e"
        " ON e.rowid = k.notification_id ORDER BY k.position"
    ).fetchall()
    previous = bytes(32)
    for position, rowid, origin, version, topic, at, state in rows:
        if position == 200:
            state = state.replace(b'"place":', b'"place":1', 1)
            c.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (state, rowid))
        header = f"{position}|{origin}|{version}|{topic}|{at}\n".encode()
        previous = hashlib.sha256(previous + header + state).digest()
        c.execute("UPDATE ledger_chain SET hash = ? WHERE position = ?", (previous.hex(), position))
    c.commit()
    assert run("verify", "--chain-only", "--db", signed["db"])[0] == 0  # consistent again
    code, _, err = run("verify", "--chain-only", "--keys", signed["keyring"], "--db", signed["db"])
    assert code == 1
    assert "2 bad signature(s), the first over positions 24–353" in err


def test_bad_keys_and_keyrings_are_one_line(signed: dict[str, str], tmp_path: Path) -> None:
    db = signed["db"]
    junk = tmp_path / "junk.txt"
    junk.write_text("not a key\n")
    for args, expected in (
        (["record", "HVN2", "X", "--place", "50", "--key", str(junk)], "not an unencrypted PEM"),
        (["record", "HVN2", "X", "--place", "50", "--key", str(tmp_path / "no")], "no such file"),
        (["verify", "--keys", str(junk)], "expected NAME ed25519:BASE64"),
        (["verify", "--keys", str(tmp_path / "no")], "no such file"),
    ):
        code, _, err = run(*args, "--db", db)
        assert code == 1 and len(err.splitlines()) == 1 and expected in err, (args, err)
    assert run("verify", "--keys", signed["keyring"], "--db", db)[0] == 0  # nothing written


def test_a_copy_keeps_the_signatures(signed: dict[str, str], tmp_path: Path) -> None:
    copy = str(tmp_path / "copy.db")
    code, _, err = run("copy", "--from", signed["db"], "--to", copy)
    assert code == 0, err
    code, out, err = run("verify", "--keys", signed["keyring"], "--db", copy)
    assert code == 0, err
    assert out.startswith("every event signed by a key of the keyring: jury 1, office 353\n")
    code, _, err = run("copy", "--from", signed["db"], "--to", copy)  # again: nothing to add
    assert code == 0, err


def test_a_signed_commands_receipt_names_its_key(signed: dict[str, str]) -> None:
    key = Path(signed["folder"]) / "jury.key"
    code, out, err = run("reinstate", "HVN2", "POL #16", "--reason", "appeal upheld",
                         "--key", str(key), "--format", "json", "--db", signed["db"])  # fmt: skip
    assert code == 0, err
    public = [
        line.split()[1] for line in Path(signed["keyring"]).read_text().splitlines()
        if line.startswith("jury ")
    ]  # fmt: skip
    expected = hashlib.sha256(base64.b64decode(public[0].removeprefix("ed25519:"))).hexdigest()
    assert [row["signed_by"] for row in json.loads(out)["written"]] == [expected[:16]]
