"""Competitors have an identity: names compared as the same text in Unicode, federation ids
followed across seasons and nations, look-alike names pointed out by `ledger check`."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.errors import InputError
from ledger.identity import canonical, skeleton
from ledger.inputs import parse_results, parse_season
from projections.checks import query_checks
from projections.history import query_history
from projections.standings import query_standings

SEASON = """
[season]
id = "{id}"
name = "Season {id}"
[tables]
A = [10, 8, 6, 5, 4]
[[cups]]
id = "sprint"
name = "Sprint"
""" + "".join(
    f'[[races]]\nid = "R{n}"\ncup = "sprint"\ndate = 2024-01-{n:02d}\ntable = "A"\n'
    for n in range(1, 16)
)

CHLOE = "Chlo\u00e9 Dubois"  # composed é
SPELLINGS = [
    CHLOE,
    unicodedata.normalize("NFD", CHLOE),  # e + combining acute
    "Chlo\u00e9  Dubois",  # two spaces
    "Chlo\u00e9\u00a0Dubois",  # a no-break space
    "Chlo\u00e9 \u200bDubois",  # a zero-width space
    "Chlo\u00e9 Du\u00adbois",  # a soft hyphen
    "\ufeffChlo\u00e9 Dubois",  # a byte-order mark
    " Chlo\u00e9 Dubois ",  # spaces around
    "Chlo\u00e9\tDubois",  # a tab
    "\uff23\uff48\uff4c\uff4f\u00e9 \uff24\uff55\uff42\uff4f\uff49\uff53",  # full-width letters
    "Chlo\u00e9 Du\u2060bois",  # a word joiner
    "Chlo\u00e9 Dubois\u200d",  # a zero-width joiner
    "Chlo\u00e9\u2003Dubois",  # an em space
    "Chlo\u00e9 Dubois\u200e",  # a left-to-right mark
]


def ledger_with(tmp_path: Path, name: str = "s1") -> Ledger:
    ledger = Ledger(str(tmp_path / "ledger.db"))
    ledger.declare_season(parse_season(SEASON.format(id=name)), by="t")
    return ledger


def test_every_spelling_of_the_same_unicode_text_is_one_canonical_name() -> None:
    assert {canonical(s) for s in SPELLINGS} == {CHLOE}
    assert canonical("\ufb01nn Berg") == "finn Berg"  # the 'ﬁ' ligature is two letters


def test_fourteen_spellings_in_fourteen_races_are_one_competitor_named_as_first_written(
    tmp_path: Path,
) -> None:
    ledger = ledger_with(tmp_path)
    for race, spelling in enumerate(SPELLINGS, 1):
        ledger.record_result(f"R{race}", spelling.strip("\ufeff"), nation="FRA", place=1, by="t")
    table = query_standings(ledger, "sprint")
    assert [(r.competitor, r.points) for r in table.standings] == [(CHLOE, Decimal(140))]


def test_the_same_competitor_twice_in_one_file_is_refused_whatever_the_spelling() -> None:
    text = f"race,place,competitor,nation\nR1,1,{CHLOE},FRA\nR1,2,{SPELLINGS[1]},FRA\n"
    with pytest.raises(InputError, match=r"line 3: .* has a second row for R1"):
        parse_results(text, "r.csv")


def test_names_that_differ_in_case_or_by_look_alike_letters_are_two_and_check_says_so(
    tmp_path: Path,
) -> None:
    ledger = ledger_with(tmp_path)
    ledger.record_result("R1", "Anna Berg", nation="NOR", place=1, by="t")
    ledger.record_result("R2", "ANNA BERG", nation="NOR", place=1, by="t")
    ledger.record_result("R3", "\u0410nna Berg", nation="NOR", place=1, by="t")  # Cyrillic А
    assert skeleton("\u0410nna Berg") == skeleton("Anna Berg") == skeleton("ANNA BERG")
    table = query_standings(ledger, "sprint")
    assert len(table.standings) == 3
    messages = [w.message for w in query_checks(ledger, "R3") if w.kind == "look-alike-name"]
    assert any("letters of another script (CYRILLIC)" in m for m in messages), messages
    messages = [w.message for w in query_checks(ledger, "R2") if w.kind == "look-alike-name"]
    assert any("case only" in m for m in messages), messages


def test_a_federation_id_keeps_one_competitor_across_seasons_and_nations(tmp_path: Path) -> None:
    ledger = ledger_with(tmp_path, "s1")
    ledger.declare_season(parse_season(SEASON.format(id="s2")), by="t")
    first = "race,place,competitor,nation,id\ns1/R1,1,Viktor Ahn,KOR,ISU-1\n"
    second = "race,place,competitor,nation,id\ns2/R1,1,Viktor Ahn,RUS,ISU-1\n"
    for text in (first, second):
        ledger.record_results(parse_results(text, "r.csv"), by="t")
    rows = query_history(ledger, competitor="Viktor Ahn")
    assert [(r.season, r.nation) for r in rows] == [("s1", "KOR"), ("s2", "RUS")]
    assert len({r.competitor_id for r in rows}) == 1
    # Without the id, the same name under another nation is another competitor.
    ledger.record_result("s2/R2", "Viktor Ahn", nation="USA", place=1, by="t")
    usa = query_history(ledger, competitor="Viktor Ahn", nation="USA")
    assert usa and usa[0].competitor_id != rows[0].competitor_id


def test_a_federation_id_given_later_joins_the_competitor_its_name_already_names(
    tmp_path: Path,
) -> None:
    ledger = ledger_with(tmp_path)
    ledger.record_result("R1", "Mo Tae-bum", nation="KOR", place=1, by="t")
    text = "race,place,competitor,nation,id\nR2,1,Mo Tae-bum,KOR,ISU-7\n"
    ledger.record_results(parse_results(text, "r.csv"), by="t")
    ledger.record_result("R3", "Ann Berg", nation="NOR", place=1, by="t")
    ledger.record_result("R3", "Mo Tae-bum", nation="KOR", athlete_id="ISU-7", place=2, by="t")
    table = query_standings(ledger, "sprint")
    points = [(r.competitor, r.points) for r in table.standings]
    assert points == [("Mo Tae-bum", Decimal(28)), ("Ann Berg", Decimal(10))]


@pytest.mark.parametrize("bad", ["ISU 1", "x" * 65, "=1+1", "é1"])
def test_an_athlete_id_that_is_not_one_is_refused_at_its_line_and_field(bad: str) -> None:
    text = f"race,place,competitor,nation,id\nR1,1,Ann,NOR,{bad}\n"
    with pytest.raises(InputError, match=r"r\.csv, line 2, field id: an athlete id is"):
        parse_results(text, "r.csv")
