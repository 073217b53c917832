"""`--output` never hurts the ledger or a file it was not asked to replace, and CSV exports
hold no cell a spreadsheet would run (OWASP CSV injection), with an exact round trip."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from ledger.values import neutralised, unneutralised

SEASON = """\
[season]
id = "tiny"
name = "Tiny"

[tables]
A = [10, 5, 2]

[[cups]]
id = "cup"
name = "Cup"

[[races]]
id = "R1"
cup = "cup"
date = 2014-01-01
table = "A"
"""

# Each name as the ledger holds it, and as a results file (and so an export) spells it,
# written by hand: names a spreadsheet would run, and names that only look like them.
NASTY = {
    "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
    '=HYPERLINK("http://example.com","x")': '\'=HYPERLINK("http://example.com","x")',
    "+SUM(1)": "'+SUM(1)",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)": "'@SUM(1+1)",
    "'=already quoted": "''=already quoted",
    "''+twice": "'''+twice",
    "plain 'quote": "plain 'quote",
    "'quoted": "'quoted",
}


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path, runner: CliRunner) -> str:
    """A SQLite ledger holding one race whose competitors have formula-like names."""
    path = str(tmp_path / "ledger.db")
    (tmp_path / "season.toml").write_text(SEASON)
    lines = ["race,place,competitor,nation,time,status"]
    lines += [
        f'R1,{i},"{n.replace(chr(34), chr(34) * 2)}",NED,3{i}.5,'
        for i, n in enumerate(NASTY.values(), 1)
    ]
    (tmp_path / "results.csv").write_text("\n".join(lines) + "\n")
    assert run(runner, "import", "season", str(tmp_path / "season.toml"), "--db", path)[0] == 0
    code, _, err = run(runner, "import", "results", str(tmp_path / "results.csv"), "--db", path)
    assert code == 0, err
    return path


def _head(db: str) -> tuple[int, str]:
    with sqlite3.connect(db) as c:
        row = c.execute("SELECT position, hash FROM ledger_chain ORDER BY position DESC").fetchone()
    return row[0], row[1]


def _one_line_refusal(code: int, err: str, fragment: str) -> None:
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert fragment in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "command",
    [
        ["export", "events"],
        ["export", "results"],
        ["export", "standings", "--cup", "cup"],
    ],
)
def test_an_export_onto_the_ledger_itself_is_refused_and_the_ledger_survives(
    runner: CliRunner, db: str, command: list[str]
) -> None:
    before = _head(db)
    for target in (db, db + "-wal", os.path.relpath(db)):
        for force in ([], ["--force"]):
            code, _, err = run(runner, *command, "--output", target, *force, "--db", db)
            _one_line_refusal(code, err, "the ledger's own database")
    assert _head(db) == before
    assert run(runner, "verify", "--db", db)[0] == 0


def test_the_default_ledger_is_protected_too(
    runner: CliRunner, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(db).parent)
    monkeypatch.delenv("LEDGER_DB", raising=False)
    code, _, err = run(runner, "export", "events", "--output", "ledger.db")
    _one_line_refusal(code, err, "the ledger's own database")
    monkeypatch.setenv("LEDGER_DB", db)
    code, _, err = run(runner, "export", "results", "--output", db)
    _one_line_refusal(code, err, "the ledger's own database")


def test_an_existing_file_is_replaced_only_with_force(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    out = tmp_path / "results.out.csv"
    out.write_text("precious\n")
    code, _, err = run(runner, "export", "results", "--output", str(out), "--db", db)
    _one_line_refusal(code, err, "give --force")
    assert out.read_text() == "precious\n"
    code, _, err = run(runner, "export", "results", "--output", str(out), "--force", "--db", db)
    assert code == 0, err
    assert out.read_text().startswith("race,place,competitor")


def test_a_symbolic_link_is_never_followed(runner: CliRunner, db: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere.txt")
    for target in (link, dangling):
        for force in ([], ["--force"]):
            code, _, err = run(
                runner, "export", "events", "--output", str(target), *force, "--db", db
            )
            _one_line_refusal(code, err, "symbolic link")
    assert victim.read_text() == "keep me\n"
    assert not (tmp_path / "nowhere.txt").exists()


def test_a_chart_obeys_the_same_rules(runner: CliRunner, db: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "cup.png"
    out.write_bytes(b"old picture")
    code, _, err = run(runner, "chart", "cup", "--output", str(out), "--db", db)
    _one_line_refusal(code, err, "give --force")
    assert out.read_bytes() == b"old picture"
    code, _, err = run(runner, "chart", "cup", "--output", str(out), "--force", "--db", db)
    assert code == 0, err
    assert out.read_bytes().startswith(b"\x89PNG")


def test_a_failed_write_leaves_no_file_behind(
    runner: CliRunner, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from cli import outputs

    def full_disk(fd: int) -> None:  # the disk fills up as the file is flushed to it
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs.os, "fsync", full_disk)
    folder = tmp_path / "out"
    folder.mkdir()
    code, _, err = run(runner, "export", "events", "--output", str(folder / "x.jsonl"), "--db", db)
    _one_line_refusal(code, err, "cannot write")
    assert "No space left on device" in err
    assert list(folder.iterdir()) == []


def test_an_interrupted_export_leaves_no_partial_file(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli import outputs

    out = tmp_path / "events.jsonl"
    with pytest.raises(KeyboardInterrupt), outputs.output_file(out, db) as stream:
        stream.write(b"half a line")
        raise KeyboardInterrupt
    assert list(tmp_path.glob("*events.jsonl*")) == []


def test_csv_exports_hold_no_formula_and_the_round_trip_is_exact(
    runner: CliRunner, db: str, tmp_path: Path
) -> None:
    out = tmp_path / "export.csv"
    code, _, err = run(runner, "export", "results", "--output", str(out), "--db", db)
    assert code == 0, err
    text = out.read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert all(r["competitor"][0] not in "=+-@\t\r" for r in rows)
    assert {r["competitor"] for r in rows} == set(NASTY.values())
    code, answer, _ = run(runner, "results", "R1", "--format", "json", "--db", db)
    assert _names(json.loads(answer)) == set(NASTY)
    # Standings and the tables of the read commands are neutralised as well.
    code, standings, _ = run(runner, "standings", "cup", "--format", "csv", "--db", db)
    assert code == 0
    cells = [row[1] for row in csv.reader(io.StringIO(standings))][1:]
    assert cells == ["'=cmd|' /C calc'!A0", '\'=HYPERLINK("http://example.com","x")', "'+SUM(1)"]
    code, tsv, _ = run(runner, "standings", "cup", "--format", "tsv", "--db", db)
    assert [line.split("\t")[1] for line in tsv.splitlines()[1:]] == cells

    # Into a new ledger: the same names, exactly.
    copy = str(tmp_path / "copy.db")
    assert run(runner, "import", "season", str(tmp_path / "season.toml"), "--db", copy)[0] == 0
    code, _, err = run(runner, "import", "results", str(out), "--db", copy)
    assert code == 0, err
    code, again, _ = run(runner, "export", "results", "--format", "csv", "--db", copy)
    assert again == text
    code, answer, _ = run(runner, "results", "R1", "--format", "json", "--db", copy)
    assert code == 0
    assert _names(json.loads(answer)) == set(NASTY)


def _names(answer: object) -> set[str]:
    """Every competitor name anywhere in a JSON answer."""
    if isinstance(answer, dict):
        found = {answer["competitor"]} if isinstance(answer.get("competitor"), str) else set()
        return found.union(*(_names(v) for v in answer.values()))
    if isinstance(answer, list):
        return set().union(*(_names(v) for v in answer))
    return set()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("'=+-@\t\r0123456789.:aZ ")), max_size=8))
def test_neutralising_then_reading_back_gives_every_text_exactly(text: str) -> None:
    cell = neutralised(text)
    assert unneutralised(cell) == text
    assert cell[:1] not in ("=", "+", "@", "\t", "\r")
    if cell.startswith("-"):  # only a plain negative number may start with a minus
        assert cell.lstrip("-").replace(".", "").replace(":", "").isdigit()


@pytest.mark.parametrize("number", ["-1", "-1.5", "-34.410", "-1:08.94", "12", "0.5"])
def test_numbers_stay_numbers(number: str) -> None:
    assert neutralised(number) == number
