"""Garbage in, one line out: every command's options and both file formats fed generated
garbage. A refusal is exit code 1 (2 for a command line that cannot be parsed) with exactly
one line on stderr, never a traceback, and the ledger's head is unchanged."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.bundled import MEN_500M, load_bundled, season_dir

EXAMPLES = int(os.environ.get("LEDGER_GARBAGE_EXAMPLES", "12"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- what garbage looks like ----------------------------------------------------------------

# Characters no name, reason or source may hold: controls, line breaks, NUL.
CONTROLS = st.sampled_from(
    ["\x00", "\x01", "\x07", "\n", "\r", "\x1b", "\x7f", "\x0b", "\x9b", "\u202e"]
)
# The moments the issue found tracebacks for, and their neighbours.
EDGE_MOMENTS = [
    "0001-01-01",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-01:00",
    "9999-12-31",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999+00:00",
    "9999-12-31T23:59:59+00:00",
    "99999999d",
    "1000000000000000000000d",
    "-1d",
    "0000-00-00",
    "2014-02-30",
    "nan",
]


@st.composite
def bad_text(draw: Any) -> str:
    """Text that must be refused: a control character or a line break inside, or too long."""
    if draw(st.booleans()):
        return "x" * draw(st.integers(1001, 6000))
    text = draw(st.text(max_size=30))
    at = draw(st.integers(0, len(text)))
    # Inside the text: spacing around a value is trimmed, as everywhere.
    return "a" + text[:at] + draw(CONTROLS) + text[at:] + "z"


def any_text() -> st.SearchStrategy[str]:
    """Anything at all, weighted towards the values the issue found tracebacks for."""
    return st.one_of(
        st.sampled_from(EDGE_MOMENTS),
        st.text(max_size=40),
        bad_text(),
        st.integers(-(10**30), 10**30).map(str),
    )


def bad_moment() -> st.SearchStrategy[str]:
    """A --recorded-at that must be refused: out of range, in the future, or not a moment."""
    future = st.datetimes(min_value=datetime(2200, 1, 1), timezones=st.just(UTC)).map(
        lambda d: d.isoformat()
    )
    return st.one_of(st.sampled_from(EDGE_MOMENTS[:9]), future, bad_text())


def bad_number() -> st.SearchStrategy[str]:
    """A place, time or points value that must be refused."""
    return st.one_of(
        st.sampled_from(["0", "-1", "1e309", "nan", "inf", "-inf", "9" * 40, "1.2.3", "1:99"]),
        bad_text(),
    )


# --- the ledger -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The men's 500 m season, recorded race day by race day, in a SQLite file."""
    folder = tmp_path_factory.mktemp("garbage")
    db = str(folder / "ledger.db")
    ledger = Ledger(db, create=True)
    load_bundled(ledger, MEN_500M)
    ledger.close()
    (folder / "late.csv").write_text("race,place,competitor,nation\nHVN2,41,New Skater,ITA\n")
    yield db


@pytest.fixture
def here(book: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run in the ledger's folder, so that anything a command would create lands there."""
    monkeypatch.chdir(Path(book).parent)
    monkeypatch.delenv("LEDGER_DB", raising=False)
    monkeypatch.delenv("LEDGER_SEASON", raising=False)
    return book


def _head(db: str) -> tuple[int, str]:
    with sqlite3.connect(db) as c:
        row = c.execute("SELECT position, hash FROM ledger_chain ORDER BY position DESC").fetchone()
    return int(row[0]), str(row[1])


def _refused_in_one_line(args: list[str], db: str, *, writes: bool) -> None:
    before = _head(db)
    result = CliRunner().invoke(app, [*args, "--db", db, "-q"])
    shown = f"{args!r} -> {result.exit_code} {result.stderr!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert "Traceback" not in result.stderr + result.stdout, shown
    if writes:
        assert result.exit_code in (1, 2), shown
    if result.exit_code != 0:
        assert result.exit_code in (1, 2), shown
        lines = result.stderr.rstrip("\n").split("\n")
        assert len(lines) == 1 and lines[0].startswith("error: "), shown
        # Garbage is refused by the command's own checks, not by the last-resort guard.
        assert not lines[0].startswith("error: unexpected "), shown
    assert _head(db) == before, shown


# --- every command's options ----------------------------------------------------------------

# A valid call of each command that writes: one garbage value then makes it a refusal.
WRITES: dict[str, list[str]] = {
    "record": ["HVN2", "Test Skater", "--place", "30", "--nation", "NED"],
    "correct": ["HVN2", "Michel Mulder", "--time", "34.95", "--reason", "r"],
    "disqualify": ["HVN2", "Michel Mulder", "--reason", "r"],
    "withdraw": ["HVN2", "Michel Mulder", "--reason", "r"],
    "void": ["HVN2", "--reason", "r"],
    "schedule": [
        "isu-ss-wc-2013-14/NEW1",
        "--cup",
        "men-500m",
        "--date",
        "2014-03-20",
        "--table",
        "A",
        "--reason",
        "r",
    ],
    "reschedule": ["HVN2", "--date", "2014-03-20", "--reason", "r"],
    "retable": ["HVN2", "--table", "B", "--reason", "r"],
    "rename": ["Michel Mulder", "--to", "M. Mulder", "--reason", "r"],
    "exclude": ["men-500m", "Michel Mulder", "--reason", "r"],
    "deduct": ["men-500m", "Michel Mulder", "--points", "1", "--reason", "r"],
    "revert": ["300", "--reason", "r"],
    "import results": ["late.csv"],
}
# Which value of each command that writes is replaced by garbage, and what garbage.
WRITE_SLOTS: list[tuple[str, str | int, Any]] = [
    *((c, "--by", bad_text()) for c in WRITES),
    *((c, "--source", bad_text()) for c in WRITES),
    *((c, "--recorded-at", bad_moment()) for c in WRITES),
    *((c, "--reason", bad_text()) for c in WRITES if "--reason" in WRITES[c]),
    ("record", 0, bad_text()),
    ("record", 1, bad_text()),
    ("record", "--place", bad_number()),
    ("record", "--time", bad_number()),
    ("record", "--bonus", bad_number().filter(lambda v: v != "0")),  # no bonus is valid
    ("record", "--nation", bad_text()),
    ("record", "--team", bad_text()),
    ("record", "--id", bad_text()),
    ("record", "--status", bad_text()),
    ("correct", 1, bad_text()),
    ("correct", "--time", bad_number()),
    ("correct", "--place", bad_number()),
    ("correct", "--nation", bad_text()),
    ("disqualify", 1, bad_text()),
    ("withdraw", 0, bad_text()),
    ("schedule", "--date", bad_text()),
    ("schedule", "--location", bad_text()),
    ("schedule", "--venue", bad_text()),
    ("schedule", "--table", bad_text()),
    ("reschedule", "--date", bad_text()),
    ("retable", "--table", bad_text()),
    ("rename", 0, bad_text()),
    ("rename", "--to", bad_text()),
    ("rename", "--to-nation", bad_text()),
    ("exclude", 1, bad_text()),
    ("deduct", "--points", bad_number()),
    ("revert", 0, st.sampled_from(["0", "-5", "99999999999999999999999", "x", "1e3"])),
    ("import results", "--season", bad_text()),
    ("record", "--key", bad_text()),
    ("correct", "--key", st.sampled_from(["late.csv", "ledger.db", "."])),
]


def _with(args: list[str], slot: str | int, value: str) -> list[str]:
    args = list(args)
    if isinstance(slot, int):
        args[slot] = value
    elif slot in args:
        args[args.index(slot) + 1] = value
    else:
        args += [slot, value]
    return args


@pytest.mark.parametrize(
    ("command", "slot", "garbage"),
    WRITE_SLOTS,
    ids=[f"{c}-{s}" for c, s, _ in WRITE_SLOTS],
)
def test_a_write_given_garbage_is_refused_in_one_line_and_writes_nothing(
    here: str, command: str, slot: str | int, garbage: Any
) -> None:
    @SETTINGS
    @given(value=garbage)
    def check(value: str) -> None:
        args = _with(WRITES[command], slot, value)
        _refused_in_one_line([*command.split(), *args], here, writes=True)

    check()


# Each command that reads, with the arguments it needs; every option then gets anything.
READS: dict[str, list[str]] = {
    "standings": ["men-500m"],
    "results": ["HVN2"],
    "races": [],
    "seasons": [],
    "cups": [],
    "competitors": ["mul"],
    "competitor": ["Michel Mulder"],
    "history": [],
    "diff": ["men-500m"],
    "explain": ["men-500m", "Michel Mulder"],
    "check": [],
    "verify": [],
    "export results": [],
    "export standings": ["--cup", "men-500m"],
    "export events": [],
}
READ_OPTIONS = {
    "standings": ["--as-of", "--known-at", "--season", "--format", 0],
    "results": ["--as-of", "--known-at", "--season", 0],
    "races": ["--season", "--cup", "--as-of", "--known-at"],
    "seasons": ["--known-at"],
    "cups": ["--season", "--known-at"],
    "competitors": ["--nation", "--known-at", 0],
    "competitor": ["--nation", "--as-of", "--known-at", 0],
    "history": [
        "--race",
        "--competitor",
        "--nation",
        "--by",
        "--command",
        "--since",
        "--until",
        "--as-of",
        "--known-at",
        "--season",
    ],
    "diff": ["--known-at", "--vs", "--as-of", "--vs-as-of", "--season", 0],
    "explain": ["--nation", "--as-of", "--known-at", 0, 1],
    "check": ["--known-at", "--season"],
    "verify": ["--expect-head", "--format", "--keys"],
    "export results": ["--cup", "--as-of", "--known-at", "--format"],
    "export standings": ["--cup", "--as-of", "--known-at"],
    "export events": ["--known-at", "--format"],
}
READ_SLOTS = [(c, s) for c, slots in READ_OPTIONS.items() for s in slots]


@pytest.mark.parametrize(("command", "slot"), READ_SLOTS, ids=[f"{c}-{s}" for c, s in READ_SLOTS])
def test_a_read_given_garbage_answers_or_refuses_in_one_line(
    here: str, command: str, slot: str | int
) -> None:
    @SETTINGS
    @given(value=any_text(), other=st.sampled_from([None, *EDGE_MOMENTS[:8]]))
    def check(value: str, other: str | None) -> None:
        args = _with(READS[command], slot, value)
        if other is not None and slot != "--known-at" and "--known-at" in READ_OPTIONS[command]:
            args += ["--known-at", other]  # garbage in two places at once
        _refused_in_one_line([*command.split(), *args], here, writes=False)

    check()


def test_the_cases_the_issue_found_are_each_one_line(here: str) -> None:
    for args in (
        ["standings", "men-500m", "--known-at", "0001-01-01T00:00:00+00:00"],
        ["standings", "men-500m", "--known-at", "9999-12-31T23:59:59+00:00"],
        ["standings", "men-500m", "--as-of", "9999-12-31"],
        ["diff", "men-500m", "--known-at", "0001-01-01"],
        ["diff", "men-500m", "--known-at", "0001-01-01", "--vs", "9999-12-31"],
        ["history", "--since", "0001-01-01"],
        ["history", "--until", "9999-12-31T23:59:59-05:00"],
        ["export", "events", "--known-at", "0001-01-01"],
    ):
        _refused_in_one_line(args, here, writes=False)
    for db in ("postgresql://u:p@[::1/x", "postgresql://u:p@[zz]:5432/x"):
        result = CliRunner().invoke(app, ["standings", "men-500m", "--db", db])
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1 and "not a valid URL" in result.stderr


# --- both file formats ----------------------------------------------------------------------

SEASON_TEXT = (season_dir(MEN_500M) / "season.toml").read_text()
UNKNOWN_CUP = '\n[[races]]\nid = "ZZ9"\ncup = "no-such-cup"\ndate = 2014-01-01\ntable = "A"\n'
RESULTS_TEXT = "race,place,competitor,nation,time,status\nHVN2,42,Other Skater,AUT,35.10,\n"


@st.composite
def mangled(draw: Any, text: str) -> str:
    """A valid file with garbage spliced in: characters inserted, lines cut or repeated."""
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        what = draw(st.sampled_from(["insert", "cut", "repeat", "truncate"]))
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        if what == "insert" and lines:
            line = lines[at]
            cut = draw(st.integers(0, len(line)))
            junk = draw(st.one_of(st.text(max_size=12), CONTROLS, st.sampled_from(['"', ",", "["])))
            lines[at] = line[:cut] + junk + line[cut:]
        elif what == "cut" and len(lines) > 1:
            del lines[at]
        elif what == "repeat" and lines:
            lines.insert(at, lines[at])
        elif lines:
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
    return "".join(lines)


def _deep_toml(draw: Any) -> str:
    depth = draw(st.integers(100, 3000))
    kind = draw(st.sampled_from(["array", "table"]))
    if kind == "array":
        return "a = " + "[" * depth + "]" * depth + "\n"
    return "a = " + "{b = " * depth + "1" + "}" * depth + "\n"


@st.composite
def garbage_season(draw: Any) -> str:
    """A season file that must be refused: the ledger already holds this season, so even a
    mangled file that still parses is refused; or TOML nested hundreds deep; or noise."""
    choice = draw(st.integers(0, 2))
    if choice == 0:
        # A race of a cup no one declared: refused even if the mangling named a new season.
        return str(draw(mangled(SEASON_TEXT))) + UNKNOWN_CUP
    if choice == 1:
        return _deep_toml(draw)
    return str(draw(st.text(max_size=200)))


@SETTINGS
@given(text=garbage_season(), raw=st.booleans(), junk=st.binary(max_size=64))
def test_a_garbage_season_file_is_refused_in_one_line(
    here: str, text: str, raw: bool, junk: bytes
) -> None:
    path = Path(here).parent / "garbage.toml"
    path.write_bytes(junk + text.encode("utf-8", "surrogatepass") if raw else text.encode())
    _refused_in_one_line(["import", "season", str(path)], here, writes=True)


@st.composite
def garbage_results(draw: Any) -> str:
    """A results file that must be refused: a row that is already recorded (the season's
    own first line) keeps even a mangled file that still parses from being recorded."""
    body = str(draw(mangled(RESULTS_TEXT)))
    header, _, rest = body.partition("\n")
    return f"{header}\nCAL1-A,1,Ronald Mulder,NED,34.41,\n{rest}"


@SETTINGS
@given(text=garbage_results(), noise=st.one_of(st.just(b""), st.binary(max_size=40)))
def test_a_garbage_results_file_is_refused_in_one_line(here: str, text: str, noise: bytes) -> None:
    path = Path(here).parent / "garbage.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass") + noise)
    _refused_in_one_line(["import", "results", str(path)], here, writes=True)


# --- tampered files -------------------------------------------------------------------------

TAMPERINGS = {
    "an event's topic swapped for another's": [
        "UPDATE stored_events SET topic = (SELECT topic FROM stored_events WHERE rowid = 1)"
        " WHERE rowid = 30"
    ],
    "an event's state emptied": ["UPDATE stored_events SET state = X'' WHERE rowid = 30"],
    "an unknown topic": ["UPDATE stored_events SET topic = 'x:Y' WHERE rowid = 30"],
    "a race's event deleted": ["DELETE FROM stored_events WHERE rowid = 5"],
    "a read-model row of the wrong type": ["UPDATE read_facts SET kind = 'zz' WHERE position = 30"],
    "a recorded time that is no time": [
        "UPDATE ledger_chain SET recorded_at = 'garbage' WHERE position = 30"
    ],
}


@pytest.mark.parametrize("statements", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_a_tampered_file_gets_one_line_from_every_command_never_a_traceback(
    book: str, tmp_path: Path, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    monkeypatch.chdir(Path(book).parent)
    db = str(tmp_path / "tampered.db")
    shutil.copy(book, db)
    with sqlite3.connect(db) as c:
        for (name,) in c.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall():
            c.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            c.execute(statement)
    for args in [*([c.split()[0], *READS[c]] for c in ("standings", "results", "history", "diff",
                                                         "explain", "check", "competitor")),
                 ["export", "events"], ["export", "results"], ["verify"], *(
                     [c.split()[0], *WRITES[c]] for c in ("correct", "record"))]:  # fmt: skip
        result = CliRunner().invoke(app, [*args, "--db", db, "-q"])
        shown = f"{args!r} -> {result.exit_code} {result.stderr!r}"
        assert result.exception is None or isinstance(result.exception, SystemExit), shown
        assert "Traceback" not in result.stderr, shown
        if result.exit_code:
            assert result.exit_code == 1 and result.stderr.count("\n") == 1, shown
