"""Reading a results file: a plain row skips the model's validation and is built the same.

``parse_results`` builds a plainly valid row's line directly and sends every other row
through ``ResultRow.model_validate``. Whatever a file holds, the lines or the one-line error
must be exactly what validating every row with the model gives.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import inputs
from ledger.errors import InputError
from ledger.inputs import ParsedRow, ResultRow, parse_results

HEADER = ["race", "place", "competitor", "nation", "time", "status"]


@contextmanager
def every_row_validated_by_the_model() -> Iterator[None]:
    """parse_results as it would be without the shortcut."""
    shortcut = inputs._plain_reader
    inputs._plain_reader = lambda columns: lambda line, cells: None
    try:
        yield
    finally:
        inputs._plain_reader = shortcut


def outcome(text: str) -> list[dict[str, Any]] | str:
    """The rows as plain values (times as written, with their types), or the error's line."""
    try:
        rows = parse_results(text, "r.csv")
    except InputError as e:
        return str(e)
    return [
        {
            **row._asdict(),
            "time": None if row.time is None else str(row.time),
            "types": [type(value).__name__ for value in row],
        }
        for row in rows
    ]


def to_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([HEADER, *rows])
    return out.getvalue()


awkward = st.sampled_from(
    [" ", "\t", "\u00a0", "\u200b", "\ufeff", "\x1f", "\u2028", "\u3000", "/", "é", "ß", "\n"]
)
races = st.one_of(
    st.sampled_from(["CAL1-A", "2013-14/CAL1-A", "x", "A.b_c-d", "-A", "/A", "A/", "A/B/C", ""]),
    st.builds(
        lambda a, b, c: a + b + c, awkward | st.just(""), st.just("R1"), awkward | st.just("")
    ),
    st.text(max_size=6),
    st.just("R" * 200),
    st.just("R" * 201),
)
names = st.one_of(
    st.sampled_from(["Anna Bee", "Mo Tae-bum", "Zoë Ødegård", "李 明", "O'Neil", "  ", ""]),
    st.builds(
        lambda a, b, c: a + b + c, awkward | st.just(""), st.just("Ann Li"), awkward | st.just("")
    ),
    st.text(max_size=8),
    st.just("N" * 200),
    st.just(" " + "N" * 200),
    st.just("N" * 201),
)
places = st.sampled_from(["1", "12", "1", " 3 ", "", "0", "x", "٣"])
nations = st.sampled_from(["", "NED", "ned", " KOR", "N"])
times = st.sampled_from(["", "34.41", "1:08.94", "34.410", "0", "abc"])
statuses = st.sampled_from(["", "DNF", "dq", " DNS ", "OK"])
rows = st.lists(
    st.tuples(races, places, names, nations, times, statuses).map(list), min_size=1, max_size=4
)


# The file's columns: any order, the optional ones present or not.
headers = st.permutations(HEADER).flatmap(
    lambda order: st.sets(st.sampled_from(["place", "nation", "time", "status"])).map(
        lambda dropped: [column for column in order if column not in dropped]
    )
)


@settings(max_examples=400, deadline=None, database=None)
@given(rows, headers)
def test_any_results_file_reads_as_the_model_reads_it(
    cells: list[list[str]], header: list[str]
) -> None:
    # Each row's cells are in HEADER's order: written under the file's own header.
    picked = [[row[HEADER.index(column)] for column in header] for row in cells]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *picked])
    text = out.getvalue()
    fast = outcome(text)
    with every_row_validated_by_the_model():
        assert fast == outcome(text)


def test_a_plain_row_skips_the_models_validation() -> None:
    text = to_csv([["CAL1-A", "1", "Zoë Ødegård", "NOR", "34.10", ""]])

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("validated by the model")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ResultRow, "model_validate", refuse)
        (row,) = parse_results(text)
    assert (row.line, row.race, row.competitor, row.nation) == (2, "CAL1-A", "Zoë Ødegård", "NOR")
    assert (row.place, str(row.time), row.status) == (1, "34.10", None)
    validated = ResultRow.model_validate(
        {"line": 2, "race": "CAL1-A", "place": 1, "competitor": "Zoë Ødegård"}
        | {"nation": "NOR", "time": Decimal("34.10")}
    )
    assert type(row) is ParsedRow
    assert row == validated.to_parsed()
    assert [type(value) for value in row] == [type(value) for value in validated.to_parsed()]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["CAL1-A", "1", " ", "", "", ""], "line 2, field competitor: may not be empty"),
        (
            ["CAL1-A", "1", "Ann\x07Li", "", "", ""],
            "line 2, field competitor: contains a control character (U+0007)",
        ),
        (
            ["CAL1-A", "1", "N" * 201, "", "", ""],
            "line 2, field competitor: String should have at most 200 characters",
        ),
        (
            ["CAL 1", "1", "Ann", "", "", ""],
            "line 2, field race: a race id such as CAL1-A (or SEASON/CAL1-A)",
        ),
        (
            ["CAL1-A", "", "Ann", "", "", ""],
            "line 2, field row: place is required unless status is DNF, DNS or DQ",
        ),
    ],
)
def test_a_row_that_is_not_plain_is_worded_by_the_model(row: list[str], message: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_results(to_csv([row]), "r.csv")
    assert str(raised.value) == f"r.csv, {message}"


def test_a_name_with_spaces_around_it_is_stripped() -> None:
    first, second = parse_results(
        to_csv(
            [[" CAL1-A ", "2", "\u00a0Ann Li\t", "", "", "DQ"], ["CAL1-A", "3", "Bo ", "", "", ""]]
        )
    )
    assert (first.race, first.competitor, first.place, first.status) == (
        "CAL1-A",
        "Ann Li",
        2,
        "DQ",
    )
    assert (second.competitor, second.place) == ("Bo", 3)


def test_a_repeated_value_reads_the_same_on_every_row_and_a_bad_one_names_its_line() -> None:
    header = "race,place,competitor,nation,time,status\n"
    good = "".join(f"R1,{1 + i % 2},Skater {i},ned,34.5,\n" for i in range(4))
    rows = parse_results(header + good + "R1,,Skater 9,ned,34.5,dnf\n")
    assert [(r.place, r.nation, r.time, r.status) for r in rows] == [
        (1, "NED", Decimal("34.5"), None),
        (2, "NED", Decimal("34.5"), None),
        (1, "NED", Decimal("34.5"), None),
        (2, "NED", Decimal("34.5"), None),
        (None, "NED", Decimal("34.5"), "DNF"),
    ]
    with pytest.raises(InputError) as refused:
        parse_results(header + good + "R1,1,Skater 9,ned,34.5.1,\n", "r.csv")
    assert str(refused.value) == (
        "r.csv, line 6, field time: a time is seconds (34.41), m:ss.xx (1:08.94)"
        " or h:mm:ss (1:36:06.857) (got '34.5.1')"
    )


@pytest.mark.parametrize(
    ("text", "seconds", "written"),
    [
        ("34.41", "34.41", "34.41"),
        ("1:08.94", "68.94", "1:08.94"),
        ("59:59.999", "3599.999", "59:59.999"),
        ("1:36:06.857", "5766.857", "1:36:06.857"),  # 1988 Brazilian Grand Prix, Prost
        ("2:00:00", "7200", "2:00:00"),
        ("96:06.857", "5766.857", "1:36:06.857"),  # minutes past the hour are read as given
    ],
)
def test_a_time_reads_and_writes_as_people_write_it(text: str, seconds: str, written: str) -> None:
    from ledger.values import format_time, parse_time

    assert parse_time(text) == Decimal(seconds)
    assert format_time(parse_time(text)) == written


@pytest.mark.parametrize("text", ["1:60:00", "1:00:60", "24:00:00", "1:2:03", ":1:00"])
def test_a_time_with_hours_that_is_not_one_is_refused(text: str) -> None:
    from ledger.values import parse_time

    with pytest.raises(ValueError, match="a time"):
        parse_time(text)
