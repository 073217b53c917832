"""docs/python-api.md is executed: its python blocks run in order, in an empty folder."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import MissingExtraError
from projections.standings import Standings

PAGE = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def blocks() -> list[str]:
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_examples() -> None:
    assert len(blocks()) >= 6


def test_the_python_api_page_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEDGER_DB", raising=False)
    namespace: dict[str, Any] = {"__name__": "docs_python_api"}
    for index, code in enumerate(blocks()):
        exec(compile(code, f"{PAGE.name}, block {index + 1}", "exec"), namespace)
    # The page's own asserts ran; check what it left behind, too.
    assert (tmp_path / "2013-14.db").exists()
    assert (
        (tmp_path / "results.csv")
        .read_text(encoding="utf-8")
        .startswith("race,place,competitor,nation,time,status\n")
    )
    printed = capsys.readouterr().out
    assert "1 Michel Mulder NED 578" in printed
    assert "did you mean HVN2" in printed


def test_to_dataframe_without_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    empty = Standings(
        season="s",
        cup="c",
        cup_name="C",
        best=None,
        as_of=None,
        known_at=None,
        races=[],
        standings=[],
    )
    with pytest.raises(MissingExtraError, match=r"pip install 'results-ledger\[dataframes\]'"):
        empty.to_dataframe()
