"""The season file's §8 keys: decimal tables, parts, tie-breaks and team cups, validated."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.bundled import MEN_500M, RELAYS, season_dir
from ledger.errors import InputError
from ledger.inputs import load_season, parse_season

HEAD = """
[season]
id = "test"
name = "Test"

[tables]
G1 = [25, 18, 15]
half = [12.5, 9, 7.5]
"""
DRIVERS = """
[[cups]]
id = "drivers"
name = "Drivers"
"""
RACES = "".join(
    f'\n[[races]]\nid = "R{n}"\ncup = "drivers"\ndate = 2021-0{n}-01\ntable = "G1"\n'
    for n in range(1, 4)
)


def season(cups: str, races: str = RACES, head: str = HEAD) -> str:
    return head + DRIVERS + cups + races


def refused(text: str) -> str:
    with pytest.raises(InputError) as caught:
        parse_season(text, "s.toml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("s.toml: ")
    return message.removeprefix("s.toml: ")


def test_a_table_keeps_decimal_points_exactly_and_whole_points_as_decimals() -> None:
    parsed = parse_season(season(""))
    assert parsed.tables["half"] == [Decimal("12.5"), Decimal(9), Decimal("7.5")]
    assert parsed.tables["G1"] == [Decimal(25), Decimal(18), Decimal(15)]
    assert all(type(p) is Decimal for p in parsed.tables["G1"])


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[10, -1]", "tables.G1[1]: Input should be greater than or equal to 0"),
        ("[10, -0.5]", "tables.G1[1]: Input should be greater than or equal to 0"),
        ('[10, "5"]', "tables.G1[1]: Input should be a number"),
        ("[10, true]", "tables.G1[1]: Input should be a number"),
        ("[10, nan]", "tables.G1[1]: Input should be a finite number"),
        ("[inf]", "tables.G1[0]: Input should be a finite number"),
        ("[]", "tables.G1: List should have at least 1 item"),
        ('"25"', "tables.G1: Input should be a valid list"),
        ("[0.0000001]", "tables.G1[0]: Decimal input should have no more than 6 decimal places"),
    ],
)
def test_a_table_that_is_not_a_list_of_non_negative_numbers_is_refused(
    table: str, message: str
) -> None:
    text = season("").replace("G1 = [25, 18, 15]", f"G1 = {table}")
    assert refused(text).startswith(message)


def test_a_season_without_section_8_stores_its_cups_as_before() -> None:
    for name in (MEN_500M, RELAYS):
        cups = load_season(season_dir(name) / "season.toml").cups
        assert all(set(c.model_dump(exclude_none=True)) <= {"id", "name", "best"} for c in cups)
    assert parse_season(season("")).cups[0].model_dump(exclude_none=True) == {
        "id": "drivers",
        "name": "Drivers",
    }


def test_a_team_cup_with_every_key_is_stored_with_the_keys_it_sets() -> None:
    cups = """
tiebreak = ["places", "first-to-score"]
parts = [{ races = 2, best = 1 }, { best = 1 }]

[[cups]]
id = "constructors"
name = "Constructors"
of = "drivers"
teams = true
per_race = 2
table = "half"
bonus = false
best = 2
"""
    parsed = parse_season(season(cups))
    assert [c.model_dump(exclude_none=True) for c in parsed.cups] == [
        {
            "id": "drivers",
            "name": "Drivers",
            "parts": [{"races": 2, "best": 1}, {"best": 1}],
            "tiebreak": ["places", "first-to-score"],
        },
        {
            "id": "constructors",
            "name": "Constructors",
            "best": 2,
            "of": "drivers",
            "teams": True,
            "per_race": 2,
            "table": "half",
            "bonus": False,
        },
    ]


TEAM = '\n[[cups]]\nid = "constructors"\nname = "Constructors"\n'


@pytest.mark.parametrize(
    ("cups", "message"),
    [
        (
            'tiebreak = ["countback", "wins"]',
            "cups[0].tiebreak[1]: Input should be 'countback', 'places', 'places-counted'"
            " or 'first-to-score'",
        ),
        (
            'tiebreak = ["places", "places"]',
            "cups[0].tiebreak[1] (drivers): 'places' is already in the list",
        ),
        ("best = 2\nparts = [{ races = 1 }]", "cups[0].parts (drivers): best and parts exclude"),
        (
            "parts = [{ races = 2, best = 1 }, { races = 2 }]",
            "cups[0].parts (drivers): the parts add up to 4 races, but the season schedules 3"
            " for 'drivers'",
        ),
        (
            "parts = [{ best = 1 }, { races = 1 }]",
            "cups[0].parts[0].races (drivers): required (only the last part may omit it)",
        ),
        ("parts = [{ races = 1, best = 2 }]", "cups[0].parts[0].best (drivers): 2 is more than"),
        ("parts = []", "cups[0].parts: List should have at least 1 item"),
        ("parts = [{ race = 2 }]", "cups[0].parts[0].race: unknown key"),
        ("parts = [{ races = 0 }]", "cups[0].parts[0].races: Input should be greater than"),
        (TEAM + 'of = "drivers"', "cups[1].of (constructors): a cup over another cup's races"),
        (TEAM + "teams = true", 'cups[1].teams (constructors): a team cup needs of = "CUP"'),
        (
            TEAM + 'teams = true\nof = "riders"',
            "cups[1].of (constructors): cup 'riders' is not declared (cups: constructors, drivers)",
        ),
        (
            TEAM + 'teams = true\nof = "constructors"',
            "cups[1].of (constructors): a team cup is over another cup, not over itself",
        ),
        (
            TEAM
            + 'teams = true\nof = "drivers"'
            + TEAM.replace("constructors", "engines")
            + 'teams = true\nof = "constructors"',
            "cups[2].of (engines): cup 'constructors' is itself a team cup",
        ),
        (
            TEAM + 'teams = true\nof = "drivers"\ntable = "G2"',
            "cups[1].table (constructors): table 'G2' is not declared (tables: G1, half)",
        ),
        ("per_race = 2", "cups[0].per_race (drivers): only a team cup (teams = true) takes"),
        ('table = "G1"', "cups[0].table (drivers): only a team cup (teams = true) takes table"),
        ("bonus = false", "cups[0].bonus (drivers): only a team cup (teams = true) takes bonus"),
        (TEAM + 'teams = 1\nof = "drivers"', "cups[1].teams: Input should be a valid boolean"),
        (TEAM + 'teams = true\nof = "drivers"\nper_race = 0', "cups[1].per_race: Input should"),
        (TEAM + 'teams = true\nof = "drivers"\nbonus = "no"', "cups[1].bonus: Input should be"),
        (
            TEAM + 'teams = true\nof = "drivers"\nparts = [{ races = 4 }]',
            "cups[1].parts (constructors): the parts add up to 4 races, but the season"
            " schedules 3 for 'drivers'",
        ),
    ],
)
def test_section_8_keys_that_do_not_fit_are_refused_naming_path_and_field(
    cups: str, message: str
) -> None:
    assert refused(season(cups)).startswith(message)


def test_a_race_scheduled_in_a_team_cup_is_refused() -> None:
    cups = TEAM + 'teams = true\nof = "drivers"'
    race = '\n[[races]]\nid = "X"\ncup = "constructors"\ndate = 2021-05-01\ntable = "G1"\n'
    assert refused(season(cups, RACES + race)) == (
        "races[3] (X): cup 'constructors' is a team cup over 'drivers' and scores its races;"
        " schedule the race in 'drivers'"
    )


def test_parts_that_fill_the_calendar_exactly_are_accepted() -> None:
    parsed = parse_season(season("parts = [{ races = 2, best = 1 }, { races = 1 }]"))
    assert parsed.cups[0].parts is not None


def test_a_season_with_decimal_points_scores_them_exactly(tmp_path: Path) -> None:
    ledger = Ledger(str(tmp_path / "ledger.db"))
    try:
        ledger.declare_season(parse_season(season("").replace('table = "G1"', 'table = "half"')))
        for race, (first, second) in (("R1", ("Ann", "Bea")), ("R2", ("Bea", "Ann"))):
            ledger.record_result(race, first, place=1)
            ledger.record_result(race, second, place=2)
        ledger.record_result("R3", "Ann", place=3)
        from projections.standings import query_standings

        table = query_standings(ledger, "drivers")
        # Ann: 12.5 + 9 + 12.5 (alone in R3, recorded 3rd: 1st) = 34, a whole number;
        # Bea: 9 + 12.5 = 21.5.
        assert [(r.competitor, r.points) for r in table.standings] == [
            ("Ann", Decimal(34)),
            ("Bea", Decimal("21.5")),
        ]
        assert str(table.standings[0].points) == "34"
    finally:
        ledger.close()


# --- Results that name a team ---------------------------------------------------------------


def results_cli(tmp_path: Path, cups: str, csv_text: str) -> tuple[int, str, int, int]:
    """(exit code, stderr, head before, head after) of importing a results file via the CLI."""
    from typer.testing import CliRunner

    from cli.main import app

    db = str(tmp_path / "ledger.db")
    ledger = Ledger(db)
    ledger.declare_season(parse_season(season(cups)))
    before = ledger.head().position
    ledger.close()
    path = tmp_path / "results.csv"
    path.write_text(csv_text, encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "results", str(path), "--db", db])
    ledger = Ledger(db, readonly=True)
    after = ledger.head().position
    ledger.close()
    return result.exit_code, result.stderr, before, after


TEAMS_OVER_DRIVERS = TEAM + 'teams = true\nof = "drivers"'
NAMED = "race,place,competitor,team\nR1,1,Ann,Red\nR1,2,Bea,\nR2,1,Bea,Blue\n"


def test_a_team_in_a_race_that_no_team_cup_scores_is_refused_at_its_line(tmp_path: Path) -> None:
    code, stderr, before, after = results_cli(tmp_path, "", NAMED)
    assert code == 1
    assert stderr.splitlines() == [
        f"error: {tmp_path / 'results.csv'}, line 2, field team: test/R1 is in cup drivers, which"
        " no team cup scores; a team names nothing there (leave it empty)"
    ]
    assert after == before


def test_teams_in_the_races_of_a_team_cups_cup_are_recorded(tmp_path: Path) -> None:
    code, stderr, before, after = results_cli(tmp_path, TEAMS_OVER_DRIVERS, NAMED)
    assert (code, stderr) == (0, "")
    assert after == before + 3


def test_a_team_given_to_record_or_correct_where_no_team_cup_scores_is_refused(
    tmp_path: Path,
) -> None:
    ledger = Ledger(str(tmp_path / "ledger.db"))
    ledger.declare_season(parse_season(season("")))
    ledger.record_result("R1", "Ann", place=1)
    head = ledger.head()
    with pytest.raises(InputError, match="--team: test/R1 is in cup drivers, which no team cup"):
        ledger.record_result("R1", "Bea", place=2, team="Red")
    with pytest.raises(InputError, match="--team: test/R1 is in cup drivers, which no team cup"):
        ledger.correct_result("R1", "Ann", team="Red", reason="r")
    assert ledger.head() == head
    ledger.close()
