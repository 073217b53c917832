"""Long operations report progress through plain callbacks; bars only on a terminal."""

from __future__ import annotations

import io
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.progress import tracker
from ledger.application import Ledger
from ledger.bundled import MEN_500M, load_bundled
from ledger.errors import LedgerError
from ledger.inputs import load_results


def test_recording_a_results_file_reports_every_row_by_the_end(
    ledger: Ledger, men_500m: Path
) -> None:
    ledger.import_season_file(men_500m / "season.toml")
    calls: list[tuple[int, int]] = []
    ledger.import_results_file(men_500m / "results.csv", progress=lambda d, t: calls.append((d, t)))
    rows = len(load_results(men_500m / "results.csv"))
    assert calls[0] == (0, rows)
    assert calls[-1] == (rows, rows)
    assert all(total == rows for _, total in calls)


def test_a_rejected_file_reports_no_completion(ledger: Ledger, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("race,place,competitor\nNOPE,1,Ann\n", encoding="utf-8")
    calls: list[tuple[int, int]] = []
    with pytest.raises(LedgerError, match="NOPE"):
        ledger.import_results_file(bad, progress=lambda d, t: calls.append((d, t)))
    assert calls == []


def test_replaying_a_bundled_season_reports_each_race_day(sqlite_url: str, men_500m: Path) -> None:
    season = tomllib.loads((men_500m / "season.toml").read_text(encoding="utf-8"))
    days = len({race["date"] for race in season["races"]})
    calls: list[tuple[int, int]] = []
    ledger = Ledger(sqlite_url)
    load_bundled(ledger, MEN_500M, progress=lambda d, t: calls.append((d, t)))
    ledger.close()
    assert calls == [(day, days) for day in range(1, days + 1)]


def test_a_piped_import_prints_no_progress_bar(
    runner: CliRunner, sqlite_url: str, men_500m: Path
) -> None:
    for kind, name in (("season", "season.toml"), ("results", "results.csv")):
        result = runner.invoke(app, ["import", kind, str(men_500m / name), "--db", sqlite_url])
        assert result.exit_code == 0
        assert "recording" not in result.stderr
        assert "\x1b[" not in result.stdout + result.stderr
    ledger = Ledger(sqlite_url)
    assert ledger.head().position == 22 + 1 + 330
    ledger.close()


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_drawn_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with tracker("recording results.csv") as report:
        report(0, 330)
        report(330, 330)
    assert "recording results.csv" in terminal.getvalue()


def test_a_bar_shows_a_file_name_with_brackets_as_written() -> None:
    from cli.progress import _bar

    bar = _bar()
    bar.add_task("recording [/x] results [b].csv", total=None)
    (task,) = bar.tasks
    shown = bar.columns[0].render(task)
    assert getattr(shown, "plain", None) == "recording [/x] results [b].csv"
