"""The conventions every command's output keeps: one JSON envelope, RFC 3339 UTC times,
tab-separated text without padding when piped, quiet closed pipes, exit codes 0, 1 and 2."""

from __future__ import annotations

import io
import json
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from projections.output import Envelope
from tests.audit_helpers import RECORDED, SEASON, setup_mini

ROOT = Path(__file__).resolve().parent.parent
LEDGER = str(Path(sys.executable).parent / "ledger")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
MOMENT_KEYS = {"recorded_at", "known_at", "since", "until", "vs"}
LATER = "2024-01-20T10:00:00+00:00"

SECOND = SEASON.replace('id = "mini-2024"', 'id = "mini-2025"').replace("2024-01", "2025-01")


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The mini season with a disqualification, and a second season with the same ids."""
    tmp = tmp_path_factory.mktemp("output")
    runner = CliRunner()
    db = str(tmp / "ledger.db")
    setup_mini(runner, db, tmp)
    (tmp / "second.toml").write_text(SECOND, encoding="utf-8")
    for args in (
        ["disqualify", "R1", "Ann", "--reason", "false start", "--by", "jury", "--season",
         "mini-2024", "--recorded-at", LATER],
        ["import", "season", str(tmp / "second.toml"), "--recorded-at", LATER],
    ):  # fmt: skip
        result = runner.invoke(app, [*args, "--db", db])
        assert result.exit_code == 0, result.output
    return db


def write_commands(tmp: Path) -> list[list[str]]:
    """One of every command that writes, each valid after the ones before it."""
    (tmp / "late.csv").write_text("race,place,competitor,nation\nR2,6,Gus,SWE\n", encoding="utf-8")
    why = ["--reason", "a test"]
    return [
        ["import", "results", str(tmp / "late.csv"), "--season", "mini-2024"],
        ["record", "mini-2024/R2", "Hal", "--nation", "DEN", "--place", "7"],
        ["correct", "mini-2024/R2", "Hal", "--place", "8", *why],
        ["disqualify", "mini-2024/R2", "Hal", *why],
        ["reinstate", "mini-2024/R2", "Hal", *why],
        ["withdraw", "mini-2024/R2", "Hal", *why],
        ["void", "mini-2024/R2", *why],
        ["unvoid", "mini-2024/R2", *why],
        ["schedule", "mini-2024/R3", "--cup", "sprint", "--date", "2024-01-20", "--table", "A",
         *why],
        ["reschedule", "mini-2024/R3", "--date", "2024-01-21", *why],
        ["retable", "mini-2024/R3", "--table", "A", *why],  # refused: nothing changes
        ["rename", "Gus", "--to", "Gustav", *why],
        ["exclude", "mini-2024/sprint", "Cat", *why],
        ["readmit", "mini-2024/sprint", "Cat", *why],
        ["deduct", "mini-2024/sprint", "Bea", "--points", "2", *why],
        ["revert", "33", *why],  # the deduction
    ]  # fmt: skip


READS = [
    ["standings", "sprint", "--season", "mini-2024"],
    ["standings", "mini-2024/sprint", "--as-of", "2024-01-06", "--known-at", "2024-01-14"],
    ["results", "R1", "--season", "mini-2024", "--known-at", "now"],
    ["races"],
    ["races", "--season", "mini-2025"],
    ["races", "--cup", "mini-2024/sprint", "--as-of", "2024-01-10"],
    ["history", "--race", "mini-2024/R1", "--since", "2024-01-13"],
    ["history", "--commands"],
    ["history", "--known-at", "2024-01-14", "--until", "2024-01-14"],
    ["diff", "mini-2024/sprint", "--known-at", RECORDED],
    ["explain", "mini-2024/sprint", "Kim Lee", "--nation", "USA"],
    ["check", "--season", "mini-2024"],
    ["seasons"],
    ["cups", "--season", "mini-2024"],
    ["competitors", "kim"],
    ["competitor", "Bea"],
]
EXPORTS = [
    ["export", "results", "--cup", "mini-2024/sprint", "--format", "json"],
    ["export", "standings", "--cup", "mini-2024/sprint", "--format", "json"],
    ["export", "events", "--format", "json", "--known-at", "2024-01-14"],
    ["verify", "--format", "json"],
]
NO_JSON = {"demo", "chart", "copy", "rebuild", "init", "serve"}  # pictures, upkeep, the server


def leaves(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from leaves(sub, (*path, name))
    else:
        yield path


def moments(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every machine-readable time in a JSON value, with its key."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from moments(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from moments(v, key)
    elif isinstance(value, str) and (key in MOMENT_KEYS or re.match(r"^\d{4}-\d\d-\d\dT", value)):
        yield key, value


def check_answer(text: str, command: str) -> dict[str, Any]:
    """The output is one envelope of that command, and each of its times is RFC 3339 UTC."""
    data = json.loads(text)
    envelope = Envelope.model_validate(data)
    assert envelope.command == command
    assert list(data)[:3] == ["command", "query", "head"]
    for key, moment in moments(data):
        assert RFC3339_UTC.match(moment), (key, moment)
    return data


def test_every_command_that_answers_is_exercised_here(tmp_path: Path) -> None:
    tested = {tuple(a[:2]) if a[0] in ("export", "import") else (a[0],) for a in READS + EXPORTS}
    tested |= {("import", "season")}
    # PostgreSQL roles and signing keys: their envelopes are tested in tests/test_roles.py
    # and tests/test_signatures.py.
    tested |= {("grant",), ("keys", "new")}
    tested |= {tuple(a[:2]) if a[0] == "import" else (a[0],) for a in write_commands(tmp_path)}
    every = set(leaves(typer.main.get_command(app)))
    assert every - tested == {(name,) for name in NO_JSON}


@pytest.mark.parametrize("args", READS + EXPORTS, ids=" ".join)
def test_every_read_answers_in_the_one_envelope(book: str, args: list[str]) -> None:
    runner = CliRunner()
    json_args = args if "--format" in args else [*args, "--format", "json"]
    result = runner.invoke(app, [*json_args, "--db", book])
    assert result.exit_code == 0, result.output
    command = " ".join(args[:2]) if args[0] == "export" else args[0]
    if args[:2] == ["export", "standings"]:
        command = "standings"  # exactly what `ledger standings --format json` prints
    data = check_answer(result.stdout, command)
    assert data["head"]["position"] >= 1
    assert all(line == line.rstrip(" \t") for line in result.stdout.splitlines())
    is_list = args[0] in ("races", "history", "check", "seasons", "cups", "competitors")
    assert ("data" in data) == (
        is_list or args[:2] in (["export", "results"], ["export", "events"])
    )


def test_every_command_that_writes_prints_its_receipt_in_the_envelope(
    book: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    db = tmp_path / "copy.db"
    db.write_bytes(Path(book).read_bytes())
    day = 1
    for args in write_commands(tmp_path):
        at = f"2024-02-{day:02d}T10:00:00Z"
        day += 1
        result = runner.invoke(
            app, [*args, "--recorded-at", at, "--format", "json", "--db", str(db)]
        )
        if args[0] == "retable":  # a command that would change nothing is refused
            assert result.exit_code == 1 and result.stdout == ""
            continue
        assert result.exit_code == 0, (args, result.output)
        data = check_answer(result.stdout, " ".join(args[:2]) if args[0] == "import" else args[0])
        assert data["query"]["recorded_at"] == at
        assert data["number"] == data["written"][0]["position"] == data["written"][0]["command"]
        assert data["events"] == len(data["written"]) >= 1
        assert data["head"]["position"] == data["written"][-1]["position"]
        assert data["recorded_at"] == at
    season = tmp_path / "third.toml"
    season.write_text(SECOND.replace("mini-2025", "mini-2026"), encoding="utf-8")
    result = runner.invoke(
        app, ["import", "season", str(season), "--format", "json", "--db", str(db)]
    )
    data = check_answer(result.stdout, "import season")
    assert [r["what"] for r in data["written"]] == ["declared", "scheduled", "scheduled"]


def test_the_schema_in_docs_json_is_the_envelopes() -> None:
    page = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    shown = page.split("## The schema", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    assert json.loads(shown) == Envelope.model_json_schema()


def test_the_query_echoes_each_moment_as_the_instant_used(book: str) -> None:
    runner = CliRunner()
    args = ["history", "--since", "2024-01-13", "--until", "2024-01-13", "--known-at", "today"]
    data = json.loads(runner.invoke(app, [*args, "--format", "json", "--db", book]).stdout)
    assert data["query"]["since"] == "2024-01-13T00:00:00Z"
    assert data["query"]["until"] == "2024-01-13T23:59:59.999999Z"
    assert data["query"]["known_at"].endswith("T23:59:59.999999Z")
    assert [r["recorded_at"] for r in data["data"]] == ["2024-01-13T21:00:00Z"] * 12


def test_a_disqualification_reads_the_same_in_standings_results_and_explain(book: str) -> None:
    runner = CliRunner()

    def answer(*args: str) -> dict[str, Any]:
        result = runner.invoke(app, [*args, "--season", "mini-2024", "-f", "json", "--db", book])
        return dict(json.loads(result.stdout))

    results = answer("results", "R1")["results"]
    ann = next(r for r in results if r["competitor"] == "Ann")
    assert (ann["status"], ann["place"], ann["recorded_place"], ann["time"]) == (
        "disqualified",
        None,
        1,
        "40.10",
    )
    row = next(r for r in answer("standings", "sprint")["standings"] if r["competitor"] == "Ann")
    assert row["results"][0]["status"] == "disqualified"
    explained = answer("explain", "sprint", "Ann")
    assert explained["results"][0]["status"] == "disqualified"
    assert explained["results"][0]["time"] == "40.10"
    assert answer("standings", "sprint")["races"] == ["R1", "R2"]


# --- piped output -----------------------------------------------------------------------------


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_piped_output_is_tab_separated_with_no_padding(book: str, args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--db", book])  # stdout is not a terminal
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines, result.stdout
    header = lines[0].split("\t")
    assert len(header) >= 2 and all(re.fullmatch(r"[a-z_]+", name) for name in header)
    for line in lines:
        assert line.count("\t") == len(header) - 1, repr(line)
        for cell in line.split("\t"):  # an empty last cell leaves a tab, never a space
            assert cell == cell.strip(" "), repr(line)
            if re.match(r"^\d{4}-\d\d-\d\dT", cell):
                assert RFC3339_UTC.match(cell), cell


def test_a_table_asked_for_in_a_pipe_fits_columns_with_no_trailing_spaces(book: str) -> None:
    args = ["history", "--format", "table", "--db", book]
    for width in (60, 120):
        result = CliRunner().invoke(app, args, env={"COLUMNS": str(width)})
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= width
        assert all(line == line.rstrip() for line in lines)
        assert "2024-01-13 21:00 UTC" in result.stdout.replace("\n", " ") or width < 100


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": f"{Path(LEDGER).parent}:/usr/bin:/bin", "TZ": "UTC"},
    )


def test_a_closed_pipe_ends_the_command_quietly(book: str, tmp_path: Path) -> None:
    done = shell(f"{LEDGER} history --db {book} | head -1", tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("position\tcommand\trecorded_at")
    done = shell(f"{LEDGER} export events --db {book} | head -c 10", tmp_path)
    assert (done.returncode, done.stderr) == (0, "")


def test_a_full_disk_is_one_line_and_exit_code_1(book: str, tmp_path: Path) -> None:
    done = shell(f"{LEDGER} standings mini-2024/sprint --db {book} > /dev/full", tmp_path)
    assert done.returncode == 1
    assert done.stderr == "error: cannot write the output: no space left on device\n"


# --- exit codes, -h, -V, --quiet ---------------------------------------------------------------


def test_exit_codes_say_usage_refused_or_done(book: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["standings", "--as-off", "x", "--db", book]).exit_code == 2
    assert runner.invoke(app, ["standings", "sprint", "--db", book]).exit_code == 1  # 2 seasons
    assert runner.invoke(app, ["standings", "mini-2024/sprint", "--db", book]).exit_code == 0
    warned = runner.invoke(app, ["check", "--strict", "--db", book])
    assert warned.exit_code == 0  # the mini season has nothing to warn about


def test_h_is_help_and_v_is_the_version() -> None:
    runner = CliRunner()
    assert "Usage: ledger standings" in runner.invoke(app, ["standings", "-h"]).stdout
    assert runner.invoke(app, ["-h"]).stdout == runner.invoke(app, ["--help"]).stdout
    version = runner.invoke(app, ["-V"])
    assert version.exit_code == 0 and version.stdout.startswith("ledger (results-ledger) ")


def test_quiet_leaves_only_the_answer(book: str, tmp_path: Path) -> None:
    runner = CliRunner()
    late = tmp_path / "gap.csv"
    late.write_text("race,place,competitor,nation\nR2,9,Ivo,CRO\n", encoding="utf-8")
    db = tmp_path / "copy.db"
    db.write_bytes(Path(book).read_bytes())
    loud = runner.invoke(app, ["import", "results", str(late), "--season", "mini-2024",
                               "--db", str(db)])  # fmt: skip
    assert loud.exit_code == 0 and "warning: R2: places jump" in loud.stderr
    out = tmp_path / "standings.csv"
    for args in (
        ["--quiet", "export", "standings", "--cup", "mini-2024/sprint", "-o", str(out)],
        ["export", "standings", "--cup", "mini-2024/sprint", "-o", str(out), "--force", "-q"],
    ):
        result = runner.invoke(app, [*args, "--db", str(db)])
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    noted = runner.invoke(app, ["export", "standings", "--cup", "mini-2024/sprint", "-o",
                                str(out), "--force", "--db", str(db)])  # fmt: skip
    assert noted.stderr.startswith("wrote ")


def test_shell_completion_offers_the_ledgers_ids(book: str) -> None:
    def complete(words: str) -> list[str]:
        env = {"_LEDGER_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - 1), "LEDGER_DB": book}  # fmt: skip
        result = CliRunner().invoke(app, [], env=env, prog_name="ledger")
        return result.stdout.split()

    assert complete("ledger standings sp") == ["sprint"]
    assert complete("ledger results mini-2025/R") == ["mini-2025/R1", "mini-2025/R2"]
    assert complete("ledger standings --season mini") == ["mini-2024", "mini-2025"]
    env_db = {"_LEDGER_COMPLETE": "complete_bash", "COMP_WORDS": "ledger results R",
              "COMP_CWORD": "2", "LEDGER_DB": "/nowhere/ledger.db"}  # fmt: skip
    nowhere = CliRunner().invoke(app, [], env=env_db, prog_name="ledger")
    assert (nowhere.exit_code, nowhere.stdout.split()) == (0, [])


# --- tables: laid out as rich lays them out, text never read as markup -----------------------

_CELL = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)


def _rich_lines(
    titles: list[str],
    cells: list[list[str]],
    right: list[bool],
    styled: bool,
    foldable: list[bool] | None = None,
    width: int = 80,
) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD)
    folds = foldable or [True] * len(titles)
    for title, is_right, folding in zip(titles, right, folds, strict=True):
        table.add_column(title, justify="right" if is_right else "left", no_wrap=not folding)
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    buffer = io.StringIO()
    Console(
        file=buffer,
        width=width,
        force_terminal=styled,
        color_system="standard" if styled else None,
        highlight=False,
        soft_wrap=False,
        emoji=False,
    ).print(table)
    return buffer.getvalue()


@settings(max_examples=1000, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(
                st.text(string.ascii_lowercase + "# ", min_size=1, max_size=8),
                min_size=n,
                max_size=n,
            ),
            st.lists(st.lists(_CELL, min_size=n, max_size=n), max_size=6),
            st.lists(st.booleans(), min_size=n, max_size=n),
        )
    ),
    st.booleans(),
)
def test_a_table_laid_out_directly_is_rich_s_table_character_for_character(
    table: tuple[list[str], list[list[str]], list[bool]], styled: bool
) -> None:
    from cli.render import laid_table

    titles, cells, right = table
    laid = laid_table(titles, cells, right, 80, styled=styled)
    if laid is not None:  # when it declines, rich lays the table out
        assert laid.text == _rich_lines(titles, cells, right, styled)


_WORD = st.text(string.ascii_lowercase, min_size=1, max_size=12)


@settings(max_examples=1000, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(_WORD, min_size=1, max_size=2).map(" ".join), min_size=n, max_size=n),
            st.lists(
                st.lists(st.lists(_WORD, max_size=4).map(" ".join), min_size=n, max_size=n),
                min_size=1,
                max_size=5,
            ),
            st.lists(st.booleans(), min_size=n, max_size=n),
            st.lists(st.booleans(), min_size=n, max_size=n),
        )
    ),
    st.integers(20, 80),
    st.booleans(),
)
def test_a_long_table_folded_directly_is_rich_s_folded_table_character_for_character(
    table: tuple[list[str], list[list[str]], list[bool], list[bool]], width: int, styled: bool
) -> None:
    from cli.render import laid_table

    titles, cells, right, foldable = table
    right = [r and not f for r, f in zip(right, foldable, strict=True)]  # numbers never fold
    laid = laid_table(titles, cells, right, width, styled=styled, foldable=foldable)
    if laid is not None:  # when it declines, rich lays the table out
        expected = _rich_lines(titles, cells, right, styled, foldable, width)
        assert _TRAILING_SPACES.sub("", laid.text) == _TRAILING_SPACES.sub("", expected)


_TRAILING_SPACES = re.compile(r" +$", re.MULTILINE)  # ``write`` trims them from every line


def test_a_long_calendar_too_wide_for_the_terminal_prints_as_rich_prints_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A calendar of 250 races on an 80-column terminal: the location column folds. Laid out
    directly (a long table) and by rich (every table, when LONG_TABLE allows), the same lines."""
    from datetime import date

    import cli.render
    from cli.render import RACES_COLUMNS, Laid, print_rich, rich_table

    monkeypatch.setenv("COLUMNS", "80")
    places = ["Thialf Heerenveen", "Olympic Oval, Calgary", "Utah Olympic Oval", "Sochi", ""]
    rows: list[list[object]] = []
    for i in range(250):
        day, table, note = date(2013, 11, 1 + i % 28), "A" if i % 3 else "B", i % 17 == 0
        rows.append(["s-13", f"R{i}", "men-500m", day, places[i % 5], table, i, note, note])
    laid = rich_table(RACES_COLUMNS, rows)
    assert isinstance(laid, Laid)
    print_rich(laid)
    directly = capsys.readouterr().out
    monkeypatch.setattr(cli.render, "LONG_TABLE", 10**9)
    by_rich = rich_table(RACES_COLUMNS, rows)
    assert not isinstance(by_rich, Laid)
    print_rich(by_rich)
    assert directly == capsys.readouterr().out
    assert "Heerenveen" in directly and max(len(line) for line in directly.splitlines()) <= 80
    assert len(directly.splitlines()) > 250 + 4  # some rows folded onto a second line


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(string.ascii_letters + string.digits + "-", max_size=12),
            st.text(
                st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=40,
            ),
            st.sampled_from(["", "Ann", "Zoë van der Berg", "漢字の名前", "a\tb", "x" * 90]),
        ),
        max_size=6,
    ),
    st.integers(20, 120),
    st.booleans(),
)
def test_records_are_written_as_rich_prints_their_lines(
    rows: list[tuple[str, str, str]], columns: int, styled: bool
) -> None:
    """A table too wide for its terminal prints one record a row; its lines written directly
    are the lines rich prints for the same texts (rich folds the ones that do not fit)."""
    from unittest import mock

    from rich.console import Group
    from rich.text import Text

    import cli.render
    from cli.render import Col, records

    cols = [(0, Col("race", "race", "id")), (1, Col("reason", "reason")), (2, Col("who", "who"))]
    with (
        mock.patch.dict("os.environ", {"COLUMNS": str(columns)}),
        mock.patch.object(cli.render, "is_terminal", lambda: styled),
    ):
        direct = records(cols, rows).text
        lines: list[Text] = []
        for race, reason, who in rows:
            lines.append(Text(race, style="bold" if styled else ""))
            lines += [Text(f"  {t}: {v}") for t, v in (("reason", reason), ("who", who)) if v]
            lines.append(Text(""))
        buffer = io.StringIO()
        cli.render.console(buffer).print(Group(*lines))
    assert _TRAILING_SPACES.sub("", direct) == _TRAILING_SPACES.sub("", buffer.getvalue())


def test_plain_short_tables_are_laid_out_directly_and_wide_or_odd_ones_by_rich() -> None:
    from cli.render import laid_table

    assert laid_table(
        ["a", "n"], [["x", "12"], ["long text", "1"]], [False, True], 80, styled=False
    )
    assert laid_table(["a"], [["x" * 90]], [False], 80, styled=False) is None  # to fold
    assert laid_table(["a"], [["tab\there"]], [False], 80, styled=False) is None


def test_names_and_reasons_with_brackets_print_as_written_in_every_table(
    runner: CliRunner, tmp_path: Path
) -> None:
    db = str(tmp_path / "brackets.db")
    season = tmp_path / "s.toml"
    season.write_text(
        '[season]\nid = "s"\nname = "S"\n[tables]\nT = [10, 6, 4]\n'
        '[[cups]]\nid = "c"\nname = "Cup [bold]x"\n'
        '[[races]]\nid = "R1"\ncup = "c"\ndate = 2020-01-01\ntable = "T"\n',
        encoding="utf-8",
    )
    results = tmp_path / "r.csv"
    results.write_text(
        "race,place,competitor,nation\nR1,1,[/x] Smith,NED\nR1,2,[red]Bob[/red],NED\n",
        encoding="utf-8",
    )
    for args in (["import", "season", str(season)], ["import", "results", str(results)]):
        assert runner.invoke(app, [*args, "--db", db]).exit_code == 0
    fixed = runner.invoke(
        app,
        ["correct", "R1", "[red]Bob[/red]", "--place", "3", "--reason", "[/i] photo", "--db", db],
    )
    assert fixed.exit_code == 0, fixed.output
    for args, expected in (
        (["standings", "c"], ["[/x] Smith", "[red]Bob[/red]"]),
        (["results", "R1"], ["[/x] Smith", "[red]Bob[/red]", "[/i] photo"]),
        (["cups"], ["Cup [bold]x"]),
    ):
        shown = runner.invoke(app, [*args, "--format", "table", "--db", db])
        assert shown.exit_code == 0, shown.output
        for text in expected:
            assert text in shown.stdout, (args, text, shown.stdout)


def test_a_tsv_line_turns_every_run_of_tabs_and_line_breaks_in_a_cell_into_one_space() -> None:
    from projections.output import tsv_line

    cells = ["a\u2028b", "x\t\ty", "r\r\nn", "ok", "=1+1", "-1.5", None, "é\x85\x1cz"]
    assert tsv_line(cells) == "a b\tx y\tr n\tok\t'=1+1\t-1.5\t\té z\n"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=6))
def test_a_tsv_line_holds_one_cell_per_value_and_no_line_break_inside(texts: list[str]) -> None:
    from projections.output import tsv_line

    line = tsv_line(texts)
    assert line.endswith("\n") and len(line[:-1].splitlines() or [""]) == 1
    cells = line[:-1].split("\t")
    assert len(cells) == max(1, len(texts))
    for text, shown in zip(texts, cells, strict=False):
        kept = re.sub("[\t\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+", " ", text)
        assert shown in (kept, "'" + kept)  # a formula's start neutralised, nothing else
