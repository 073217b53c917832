"""Bad input, tried systematically: whatever a file or an option holds, a rejected command exits 1
with one line on stderr and no traceback, and the log is left exactly as it was.

Files that spreadsheets really produce (a UTF-8 BOM, CRLF, no final newline, m:ss.xx times) are
accepted.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import tempfile
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.events import ResultRecorded

FOLDER = Path(__file__).resolve().parent.parent / "ledger" / "data" / "seasons"
SEASON = FOLDER / "isu-ss-wc-2013-14-men-500m" / "season.toml"
RUNNER = CliRunner()
COLUMNS = ["race", "place", "competitor", "nation", "time", "status"]
BOM = "\ufeff"
FAST = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

# CAL1-A already holds its results; CAL1-B, CAL2-A and the rest are empty.
RECORDED = [
    ("CAL1-A", 1, "Ronald Mulder", "NED", "34.41"),
    ("CAL1-A", 2, "Mo Tae-bum", "KOR", "34.523"),
]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A ledger file holding the men's 500 m season and two results of its first race."""
    db = str(tmp_path_factory.mktemp("bad-input") / "ledger.db")
    ledger = Ledger(db)
    ledger.import_season_file(SEASON)
    for race, place, competitor, nation, time in RECORDED:
        ledger.record_result(race, competitor, nation=nation, place=place, time=Decimal(time))
    ledger.close()
    return db


def log_state(db: str) -> tuple[int, int, str | None]:
    """(events, chain rows, newest hash), read straight from the file."""
    with sqlite3.connect(db) as connection:
        events = connection.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
        chained = connection.execute("SELECT COUNT(*) FROM ledger_chain").fetchone()[0]
        row = connection.execute(
            "SELECT hash FROM ledger_chain ORDER BY position DESC LIMIT 1"
        ).fetchone()
    connection.close()
    return int(events), int(chained), None if row is None else str(row[0])


def assert_rejected(db: str, *args: str) -> str:
    """The command exits 1 with one line on stderr, no traceback, and writes nothing."""
    before = log_state(db)
    result = RUNNER.invoke(app, [*args, "--db", db])
    assert result.exit_code == 1, (args, result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert log_state(db) == before
    return lines[0]


def write(folder: str, name: str, data: bytes) -> str:
    path = Path(folder) / name
    path.write_bytes(data)
    return str(path)


def rejected_file(db: str, kind: str, data: bytes) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = write(folder, "input.csv" if kind == "results" else "input.toml", data)
        return assert_rejected(db, "import", kind, path)


def to_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


# --- results files ----------------------------------------------------------------------

names = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10),
    min_size=1,
    max_size=5,
    unique=True,
)


@st.composite
def valid_rows(draw: st.DrawFn) -> list[list[str]]:
    """A header and a few good rows for the empty race CAL1-B."""
    people = draw(names)
    rows = [COLUMNS]
    for place, name in enumerate(people, start=1):
        rows.append(["CAL1-B", str(place), f"Skater {name}", "NED", f"34.{place:02d}", ""])
    return rows


def test_the_valid_rows_used_below_are_accepted(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    Ledger(db).import_season_file(SEASON)
    rows = [COLUMNS, ["CAL1-B", "1", "Skater abc", "NED", "34.01", ""]]
    path = write(str(tmp_path), "ok.csv", to_csv(rows).encode())
    result = RUNNER.invoke(app, ["import", "results", path, "--db", db])
    assert result.exit_code == 0, result.stderr
    assert log_state(db)[0] == 23 + 1


@FAST
@given(data=st.binary(max_size=400))
def test_garbage_bytes_are_no_results_file(book: str, data: bytes) -> None:
    rejected_file(book, "results", data)


@FAST
@given(rows=valid_rows(), race=st.from_regex(r"[A-Z]{1,3}[0-9]?-[A-Z]{1,2}", fullmatch=True))
def test_an_unknown_race_rejects_the_whole_file(
    book: str, rows: list[list[str]], race: str
) -> None:
    if race in {"CAL1-A", "CAL1-B", "CAL2-A", "CAL2-B"} or re.fullmatch(r"[A-Z]{3}\d-[AB]", race):
        race = "XX-" + race
    rows[-1][0] = race
    assert "field race" in rejected_file(book, "results", to_csv(rows).encode())


BAD_PLACES = ["0", "-1", "-5", "1.5", "1e3", "abc", "99999999999999999999", "10001", "+3",
              "0x10", "١", "²", "one", "1st", "3 4", "∞"]  # fmt: skip


def is_valid_place(text: str) -> bool:
    text = text.strip()
    return text.isascii() and text.isdigit() and 1 <= int(text) <= 10_000


@FAST
@given(
    rows=valid_rows(),
    place=st.sampled_from(BAD_PLACES)
    | st.integers(max_value=0).map(str)
    | st.integers(min_value=10_001).map(str)
    | st.text(min_size=1, max_size=8).filter(lambda s: s.strip() and not is_valid_place(s)),
)
def test_a_place_that_is_not_a_whole_number_from_1_is_rejected(
    book: str, rows: list[list[str]], place: str
) -> None:
    rows[1][1] = place
    message = rejected_file(book, "results", to_csv(rows).encode())
    assert "line 2" in message


def is_valid_time(text: str) -> bool:
    text = text.strip()
    if m := re.fullmatch(r"(\d{1,5}(\.\d{1,6})?)", text, re.ASCII):
        seconds = Decimal(m.group(1))
    elif m := re.fullmatch(r"(\d{1,4}):([0-5]\d(\.\d{1,6})?)", text, re.ASCII):
        seconds = int(m.group(1)) * 60 + Decimal(m.group(2))
    else:
        return False
    return 0 < seconds < 86_400


BAD_TIMES = ["-34.41", "abc", "1:60.00", "1:5.00", "nan", "NaN", "inf", "-inf", "1e2", "99999",
             "86400", "0", "0:00.00", "34.1234567", "--", "1::08", "١٢.٣", "34.41s", ".5",
             "1:08.94.1", "1:-8.00", "٣٤.٤١", "34.41\x00"]  # fmt: skip


@FAST
@given(
    rows=valid_rows(),
    time=st.sampled_from(BAD_TIMES)
    | st.decimals(allow_nan=False, allow_infinity=False, max_value=0).map(str)
    | st.decimals(allow_nan=False, allow_infinity=False, min_value=86_400).map(str)
    | st.text(min_size=1, max_size=10).filter(lambda s: s.strip() and not is_valid_time(s)),
)
def test_a_time_that_is_not_seconds_or_minutes_is_rejected(
    book: str, rows: list[list[str]], time: str
) -> None:
    rows[1][4] = time
    rejected_file(book, "results", to_csv(rows).encode())


@FAST
@given(
    rows=valid_rows(),
    column=st.sampled_from(["status", "nation", "competitor"]),
    value=st.text(max_size=8),
)
def test_a_bad_status_nation_or_competitor_is_rejected(
    book: str, rows: list[list[str]], column: str, value: str
) -> None:
    stripped = value.strip()
    if column == "status" and stripped.upper() in {"", "DNF", "DNS", "DQ"}:
        value = "FINISHED" + value
    if column == "nation" and (not stripped or re.fullmatch(r"[A-Za-z]{2,4}", stripped)):
        value = "N-" + value
    if column == "competitor":
        value = "" if not stripped else value + "\x07"  # empty, or with a control character
    rows[1][COLUMNS.index(column)] = value
    rejected_file(book, "results", to_csv(rows).encode())


@FAST
@given(rows=valid_rows(), data=st.data())
def test_missing_extra_and_misshapen_columns_are_rejected(
    book: str, rows: list[list[str]], data: st.DataObject
) -> None:
    how = data.draw(st.sampled_from(["drop-required", "unknown", "twice", "short", "long"]))
    if how == "drop-required":
        index = COLUMNS.index(data.draw(st.sampled_from(["race", "competitor"])))
        rows = [r[:index] + r[index + 1 :] for r in rows]
    elif how == "unknown":
        name = data.draw(st.text(min_size=1, max_size=8).filter(lambda s: s.strip()))
        if name.strip().lower() in COLUMNS:
            name += "x"
        rows = [[*r, name if i == 0 else "x"] for i, r in enumerate(rows)]
    elif how == "twice":
        rows = [[*r, r[2]] for r in rows]
    elif how == "short":
        rows[-1] = rows[-1][: data.draw(st.integers(1, 5))]
    else:
        rows[-1] = rows[-1] + data.draw(st.lists(st.text(max_size=3), min_size=1, max_size=3))
    rejected_file(book, "results", to_csv(rows).encode())


@FAST
@given(rows=valid_rows(), data=st.data())
def test_a_duplicate_row_is_rejected(book: str, rows: list[list[str]], data: st.DataObject) -> None:
    index = data.draw(st.integers(1, len(rows) - 1))
    copy = list(rows[index])
    copy[1] = data.draw(st.sampled_from([copy[1], "9", ""]))
    copy[5] = "DNF" if not copy[1] else copy[5]
    rows.insert(data.draw(st.integers(1, len(rows))), copy)
    assert "second row" in rejected_file(book, "results", to_csv(rows).encode())


@FAST
@given(rows=valid_rows(), which=st.integers(0, len(RECORDED) - 1))
def test_a_result_already_in_the_ledger_rejects_the_file(
    book: str, rows: list[list[str]], which: int
) -> None:
    race, place, competitor, nation, time = RECORDED[which]
    rows.append([race, str(place + 1), competitor, nation, time, ""])
    rejected_file(book, "results", to_csv(rows).encode())


@FAST
@given(rows=valid_rows(), data=st.data())
def test_a_byte_order_mark_anywhere_but_the_start_or_a_name_is_rejected(
    book: str, rows: list[list[str]], data: st.DataObject
) -> None:
    # Inside a name a byte-order mark is an invisible character, dropped like a zero-width
    # space (tests/test_identity.py); anywhere else it is damage.
    text = to_csv(rows)
    starts, at = [], 0
    for line in text.splitlines(keepends=True):
        name_from = at + len(",".join(line.split(",")[:2])) + 1
        starts.append(range(name_from, name_from + len(line.split(",")[2]) + 1))
        at += len(line)
    at = data.draw(
        st.integers(0, len(text)).filter(lambda i: not any(i in inside for inside in starts[1:]))
    )
    text = BOM + text[:at] + BOM + text[at:]
    rejected_file(book, "results", text.encode())


@FAST
@given(
    rows=valid_rows(),
    encoding=st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"]),
)
def test_a_file_in_another_encoding_is_rejected(
    book: str, rows: list[list[str]], encoding: str
) -> None:
    rows[1][2] = "Zoë Müller"
    message = rejected_file(book, "results", to_csv(rows).encode(encoding))
    assert "UTF-8" in message or "NUL" in message


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n\n",
        b"   \r\n",
        BOM.encode(),
        b"race,place,competitor,nation,time,status\n",
        b"race,place,competitor,nation,time,status\r\n\r\n",
        b'race,place,competitor\nCAL1-B,1,"unterminated\n',
        b"race,place,competitor\nCAL1-B,1,Skater\x00X\n",
        b'race,place,competitor\nCAL1-B,1,Skater X\nCAL1-B,2,"Skater\nY"\n',
        b"race,place,competitor\nother-season/CAL1-B,1,Skater X\n",
        b"race,place,competitor\nCAL1-B/x/y,1,Skater X\n",
        b"race,place,competitor\nCAL1-B,,Skater X\n",
        b"race;place;competitor\nCAL1-B;1;Skater X\n",
        b"\xef\xbb\xbf\xef\xbb\xbfrace,place,competitor\nCAL1-B,1,Skater X\n",
        b"race,place,competitor\r\nCAL1-B,1,Skater X\r\nCAL1-B,1,Skater X\r\n",
        b"race,place,competitor\nCAL1-B,1," + b"x" * 200_000 + b"\n",
    ],
    ids=lambda d: repr(d[:40]),
)
def test_empty_truncated_and_odd_results_files_are_rejected(book: str, data: bytes) -> None:
    rejected_file(book, "results", data)


def test_a_missing_file_and_a_folder_are_rejected(book: str, tmp_path: Path) -> None:
    assert "no such file" in assert_rejected(book, "import", "results", str(tmp_path / "no.csv"))
    assert "directory" in assert_rejected(book, "import", "results", str(tmp_path))
    assert "no such file" in assert_rejected(book, "import", "season", str(tmp_path / "no.toml"))


# --- season files -------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | date):
        return str(value) if not isinstance(value, date) else value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_value(key)


def to_toml(season: dict[str, Any]) -> str:
    """A tiny TOML writer: top-level tables and arrays of tables, inline values inside."""
    out = []
    for key, value in season.items():
        if isinstance(value, dict):
            out.append(f"[{toml_key(key)}]")
            out += [f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                out.append(f"[[{toml_key(key)}]]")
                out += [f"{toml_key(k)} = {toml_value(v)}" for k, v in item.items()]
        else:
            out.insert(0, f"{toml_key(key)} = {toml_value(value)}")
    return "\n".join(out) + "\n"


def a_season() -> dict[str, Any]:
    return {
        # A new id each time: a file wrongly accepted cannot mask the next one as a duplicate.
        "season": {"id": f"test-{uuid.uuid4().hex[:12]}", "name": "A test season"},
        "tables": {"A": [10, 5, 3], "B": [2, 1]},
        "cups": [{"id": "cup-a", "name": "Cup A", "best": 2}, {"id": "cup-b", "name": "Cup B"}],
        "races": [
            {"id": "R1", "cup": "cup-a", "date": date(2014, 1, 5), "table": "A"},
            {"id": "R2", "cup": "cup-b", "date": date(2014, 1, 6), "table": "B", "venue": "Oval"},
        ],
    }


def test_the_season_used_below_is_accepted(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    path = write(str(tmp_path), "season.toml", to_toml(a_season()).encode())
    result = RUNNER.invoke(app, ["import", "season", path, "--db", db])
    assert result.exit_code == 0, result.stderr
    assert log_state(db)[0] == 3


BAD_VALUES: list[Any] = [-1, 0.5, "3", True, [], [1], {"a": 1}, "", " ", "a b", "x" * 300,
                         date(2014, 1, 1), 10**12, "Zoë\u200b", "tab\t", "nl\nhere"]  # fmt: skip
PLACES_IN_A_SEASON = [
    ("season", "id"), ("season", "name"), ("tables", "A"), ("cups", "id"), ("cups", "name"),
    ("cups", "best"), ("races", "id"), ("races", "cup"), ("races", "date"), ("races", "table"),
    ("races", "venue"), ("races", "location"),
]  # fmt: skip


def is_acceptable(section: str, key: str, value: Any) -> bool:
    """Whether a replacement value happens to be valid for that key (then it is skipped)."""
    if key in ("name", "venue", "location"):
        text = value.strip() if isinstance(value, str) else ""
        return text != "" and text.isprintable() and len(text) <= 200 and "\u200b" not in text
    if key == "best":
        return type(value) is int and 1 <= value <= 1000
    if key == "id" and section in ("season", "races"):
        # Any new slug is a valid season or race id ("3" is one).
        return (
            isinstance(value, str)
            and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value.strip()) is not None
        )
    if key == "date":
        return isinstance(value, date)
    if section == "tables":
        return isinstance(value, list) and value and all(type(v) is int for v in value)
    return False


@FAST
@given(place=st.sampled_from(PLACES_IN_A_SEASON), value=st.sampled_from(BAD_VALUES))
def test_a_season_file_with_a_bad_value_is_rejected(
    book: str, place: tuple[str, str], value: Any
) -> None:
    section, key = place
    if is_acceptable(section, key, value):
        value = {"nested": "table"}
    season = a_season()
    target = season[section]
    (target[0] if isinstance(target, list) else target)[key] = value
    message = rejected_file(book, "season", to_toml(season).encode())
    assert section in message or "TOML" in message


@FAST
@given(
    where=st.sampled_from(["top", "season", "tables", "cups", "races"]),
    key=st.text(min_size=1, max_size=10),
)
def test_an_unknown_key_in_a_season_file_is_rejected(book: str, where: str, key: str) -> None:
    season = a_season()
    if where == "top":
        if key in season:
            key += "x"
        season[key] = "surprise"
    elif where == "tables":
        season["tables"][key] = "not a list"
    else:
        target = season[where]
        target = target[0] if isinstance(target, list) else target
        if key in target or key in ("location", "venue", "best"):
            key += "x"
        target[key] = 1
    rejected_file(book, "season", to_toml(season).encode())


@pytest.mark.parametrize(
    "change",
    [
        "race-unknown-cup", "race-unknown-table", "duplicate-race", "duplicate-cup", "no-cups",
        "no-season", "no-tables", "no-name", "race-without-date", "date-as-text", "datetime",
        "local-time", "already-declared", "empty-table",
    ],
)  # fmt: skip
def test_inconsistent_season_files_are_rejected(book: str, change: str) -> None:
    season = a_season()
    text: str | None = None
    if change == "race-unknown-cup":
        season["races"][1]["cup"] = "cup-z"
    elif change == "race-unknown-table":
        season["races"][1]["table"] = "Z"
    elif change == "duplicate-race":
        season["races"][1]["id"] = "R1"
    elif change == "duplicate-cup":
        season["cups"][1]["id"] = "cup-a"
    elif change == "no-cups":
        del season["cups"], season["races"]
    elif change == "no-season":
        del season["season"]
    elif change == "no-tables":
        del season["tables"]
    elif change == "no-name":
        del season["season"]["name"]
    elif change == "race-without-date":
        del season["races"][0]["date"]
    elif change == "date-as-text":
        season["races"][0]["date"] = "2014-01-05"
    elif change == "datetime":
        text = to_toml(season).replace("date = 2014-01-05", "date = 2014-01-05T10:00:00Z")
    elif change == "local-time":
        text = to_toml(season).replace("date = 2014-01-05", "date = 10:00:00")
    elif change == "already-declared":
        season["season"]["id"] = "isu-ss-wc-2013-14"
    elif change == "empty-table":
        season["tables"]["A"] = []
    rejected_file(book, "season", (text or to_toml(season)).encode())


@FAST
@given(data=st.binary(max_size=300))
def test_garbage_bytes_are_no_season_file(book: str, data: bytes) -> None:
    rejected_file(book, "season", data)


@FAST
@given(text=st.text(max_size=200))
def test_arbitrary_text_is_no_season_file(book: str, text: str) -> None:
    rejected_file(book, "season", text.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "latin-1"])
def test_a_season_file_in_another_encoding_is_rejected(book: str, encoding: str) -> None:
    season = a_season()
    season["season"]["name"] = "Saison d'été"
    rejected_file(book, "season", to_toml(season).encode(encoding))


# --- options of the other commands --------------------------------------------------------


def looks_like_a_moment(text: str) -> bool:
    """Whether text may name an instant: a date or date-time, now, today, yesterday, an age."""
    words = r"\s*(now|today|yesterday|\d+\s*[a-z]+(\s+ago)?)\s*"
    return bool(re.search(r"\d{4}", text) or re.fullmatch(words, text, re.IGNORECASE))


@FAST
@given(
    option=st.sampled_from(["--place", "--time", "--status", "--nation"]),
    value=st.text(max_size=12),
)
def test_a_correction_with_a_bad_value_is_rejected(book: str, option: str, value: str) -> None:
    stripped = value.strip()
    if option == "--place" and is_valid_place(value):
        value = "-" + value
    if option == "--time" and (is_valid_time(value) or not stripped):
        value = "-" + value  # (an empty --time clears the time: not bad input)
    if option == "--status" and stripped.upper() in {"", "OK", "DNF", "DNS", "DQ"}:
        value = "DONE" + value
    if option == "--nation" and re.fullmatch(r"[A-Za-z]{2,4}", stripped):
        value = "1" + value
    if option == "--nation" and not stripped:
        value = "??"
    assert_rejected(book, "correct", "CAL1-A", "Ronald Mulder", option, value, "--reason", "r")


@FAST
@given(value=st.text(max_size=40).filter(lambda s: not looks_like_a_moment(s)))
def test_a_recorded_at_that_is_no_date_time_is_rejected(book: str, value: str) -> None:
    assert_rejected(book, "correct", "CAL1-A", "Ronald Mulder", "--place", "3", "--reason", "r",
                    "--recorded-at", value)  # fmt: skip


@pytest.mark.parametrize(
    "value",
    [
        "2014-03-09T18:00:00",  # no offset
        "2999-01-01T00:00:00+00:00",  # in the future
        "2000-01-01T00:00:00+00:00",  # before the newest event
        "0001-01-01T00:00:00+01:00",  # before the start of the calendar in UTC
        "0001-01-01T00:00:00-01:00",
        "9999-12-31T23:59:59-01:00",
        "2014-02-30T00:00:00+00:00",
        "2014-03-09T25:00:00+00:00",
    ],
)
def test_impossible_recorded_times_are_rejected(book: str, value: str) -> None:
    assert_rejected(book, "correct", "CAL1-A", "Ronald Mulder", "--place", "3", "--reason", "r",
                    "--recorded-at", value)  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["correct", "CAL9-Z", "Ronald Mulder", "--place", "3", "--reason", "r"],
        ["correct", "CAL1-A", "Nobody Known", "--place", "3", "--reason", "r"],
        ["correct", "CAL1-A", "Ronald Mulder", "--place", "3", "--reason", "  "],
        ["correct", "CAL1-A", "Ronald Mulder", "--reason", "nothing to change"],
        ["correct", "CAL1-B", "Ronald Mulder", "--place", "3", "--reason", "r"],
        ["correct", "CAL1-A", "Ronald Mulder", "--nation", "GER", "--place", "3", "--reason", "r"],
        ["disqualify", "CAL1-A", "Nobody Known", "--reason", "r"],
        ["reinstate", "CAL1-A", "Ronald Mulder", "--reason", "was never disqualified"],
        ["standings", "no-such-cup"],
        ["standings", "men-500m", "--as-of", "2014-13-01"],
        ["standings", "men-500m", "--as-of", "yesterday"],
        ["standings", "men-500m", "--known-at", "2014-03-09T18:00:00"],
        ["standings", "men-500m", "--known-at", "soon"],
        ["results", "CAL9-Z"],
        ["verify", "--expect-head", "not-a-digest"],
        ["verify", "--expect-head", "ab" * 32],
    ],
    ids=lambda a: " ".join(a),
)
def test_rejected_commands_say_why_in_one_line_and_write_nothing(
    book: str, args: list[str]
) -> None:
    assert_rejected(book, *args)


def test_a_store_that_is_not_a_ledger_is_one_line_of_error(tmp_path: Path) -> None:
    not_a_db = tmp_path / "garbage.db"
    not_a_db.write_bytes(b"this is not a database" * 100)
    result = RUNNER.invoke(app, ["verify", "--db", str(not_a_db)])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert not_a_db.read_bytes() == b"this is not a database" * 100


# --- what spreadsheets produce is accepted ----------------------------------------------------


@settings(max_examples=15, deadline=None, database=None)
@given(
    bom=st.booleans(),
    crlf=st.booleans(),
    final_newline=st.booleans(),
    order=st.permutations(COLUMNS),
    header_case=st.sampled_from([str.lower, str.upper, str.title, lambda s: f" {s} "]),
    times=st.lists(
        st.decimals(min_value=Decimal("30"), max_value=Decimal("3599"), places=2),
        min_size=1,
        max_size=6,
    ),
    minutes=st.booleans(),
)
def test_spreadsheet_exports_are_accepted_with_exact_times(
    bom: bool,
    crlf: bool,
    final_newline: bool,
    order: list[str],
    header_case: Any,
    times: list[Decimal],
    minutes: bool,
) -> None:
    def shown(seconds: Decimal) -> str:
        if not minutes or seconds < 60:
            return f"{seconds}"
        whole, rest = divmod(seconds, 60)
        return f"{int(whole)}:{rest:05.2f}"

    rows = [{"race": "CAL1-B", "place": str(i), "competitor": f"Skater {i}", "nation": "NED",
             "time": shown(t), "status": ""} for i, t in enumerate(times, start=1)]  # fmt: skip
    lines = [",".join(header_case(c) for c in order)]
    lines += [",".join(row[c] for c in order) for row in rows]
    text = ("\r\n" if crlf else "\n").join(lines) + (
        ("\r\n" if crlf else "\n") if final_newline else ""
    )
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "ledger.db")
        ledger = Ledger(db)
        ledger.import_season_file(SEASON)
        path = write(folder, "export.csv", ((BOM if bom else "") + text).encode("utf-8"))
        result = RUNNER.invoke(app, ["import", "results", path, "--db", db])
        assert result.exit_code == 0, result.stderr
        recorded = [e for _, e in ledger.read_events() if isinstance(e, ResultRecorded)]
        ledger.close()
    assert [(e.competitor, e.place, e.time) for e in recorded] == [
        (f"Skater {i}", i, t) for i, t in enumerate(times, start=1)
    ]
