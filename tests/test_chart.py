"""`ledger chart`: the season race by race as PNG and SVG, the change a correction made, errors."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest
from PIL import Image
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.bundled import MEN_500M, load_bundled
from projections.api import season_chart, season_chart_change, standings
from projections.fold import CupState, LedgerView, RaceState, SeasonState
from projections.models import HeadRef
from projections.progression import changed, progression
from projections.scoring import ResultState

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def season_db(sqlite_url: str) -> Iterator[str]:
    ledger = Ledger(sqlite_url)
    load_bundled(ledger, MEN_500M)
    ledger.close()
    yield sqlite_url


def svg_texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


# As `ledger demo` tells it: after the season, a time correction (no points change) and a
# disqualification of POL #16 from the Final, where he was 6th.
BEFORE = "2014-03-17T00:00:00Z"
DISQUALIFIED_AT = datetime(2014, 3, 20, 14, tzinfo=UTC)


class Changed(NamedTuple):
    db: str
    before: HeadRef
    after: HeadRef


@pytest.fixture
def changed_db(sqlite_url: str) -> Iterator[Changed]:
    ledger = Ledger(sqlite_url)
    load_bundled(ledger, MEN_500M)
    first = ledger.head()
    ledger.correct_result(
        "HVN2", "Michel Mulder", time=Decimal("34.94"), reason="transcription error",
        recorded_at=datetime(2014, 3, 18, 9, tzinfo=UTC),
    )  # fmt: skip
    ledger.disqualify(
        "HVN2", "POL #16", reason="crossing-zone infringement", recorded_at=DISQUALIFIED_AT
    )
    last = ledger.head()
    ledger.close()
    yield Changed(
        sqlite_url,
        HeadRef(position=first.position, hash=first.hash),
        HeadRef(position=last.position, hash=last.hash),
    )


def test_the_chart_is_written_as_a_valid_png(
    runner: CliRunner, season_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "men-500m.png"
    code, stdout, err = run(runner, "chart", "men-500m", "--output", str(out), "--db", season_db)
    assert code == 0, err
    assert f"wrote {out}" in stdout
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(out) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size[0] >= 1200 and image.size[1] >= 700
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50  # lines, bands and text, not a blank canvas


def test_the_svg_names_the_leaders_races_and_dates(
    runner: CliRunner, season_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "chart.svg"
    code, _, err = run(runner, "chart", "men-500m", "--top", "3", "-o", str(out), "--db", season_db)
    assert code == 0, err
    texts = svg_texts(out)
    joined = "\n".join(texts)
    assert "Men's 500 m" in texts
    assert "1. Ronald Mulder (NED) — 782" in texts
    assert "2. Michel Mulder (NED) — 728" in texts
    assert "3. Jan Smeekens (NED) — 655" in texts
    assert "Mo Tae-bum" not in joined  # 4th: not among the top 3
    assert "CAL1-A" in joined and "8 Nov" in joined and "HVN2" in joined
    assert "Heerenveen" in texts


def test_the_chart_as_of_a_date_ends_there_and_says_so(
    runner: CliRunner, season_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "chart.svg"
    code, _, _ = run(
        runner, "chart", "men-500m", "--as-of", "2014-03-09", "-o", str(out), "--db", season_db
    )
    assert code == 0
    joined = "\n".join(svg_texts(out))
    assert "as of 9 March 2014" in joined
    assert "1. Michel Mulder (NED) — 578" in joined
    assert "INZ2-B" in joined and "HVN1" not in joined


def test_the_diff_draws_what_a_disqualification_changed(
    runner: CliRunner, season_db: str, tmp_path: Path
) -> None:
    ledger = Ledger(season_db)
    ledger.disqualify(
        "HVN2",
        "Ronald Mulder",
        reason="false start missed by the starter",
        recorded_at=datetime(2014, 3, 17, 12, tzinfo=UTC),
    )
    ledger.close()
    out = tmp_path / "change.svg"
    code, _, err = run(
        runner, "chart", "men-500m", "--diff", "--known-at", "2014-03-17T00:00:00+00:00",
        "-o", str(out), "--db", season_db,
    )  # fmt: skip
    assert code == 0, err
    joined = "\n".join(svg_texts(out))
    # His 2nd place in the Final (120 points) is gone; Michel Mulder moves up to 2nd there
    # (105 → 120 points) and so to 1st overall.
    assert "Ronald Mulder (NED): 782 (#1) → 662 (#2)" in joined
    assert "Michel Mulder (NED): 728 (#2) → 743 (#1)" in joined
    assert "as known at 2014-03-17 00:00" in joined
    png = tmp_path / "change.png"
    assert run(
        runner, "chart", "men-500m", "--diff", "--known-at", "2014-03-17T00:00:00+00:00",
        "-o", str(png), "--db", season_db,
    )[0] == 0  # fmt: skip
    assert png.read_bytes()[:8] == PNG_SIGNATURE


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["men-500m", "--diff"], ["--diff needs --known-at"]),
        (["men-500m", "--vs", "2014-03-17T00:00:00+00:00"], ["--vs goes with --diff"]),
        (["men-500m", "-o", "chart.jpg"], [".png, .svg or .pdf"]),
        (["men-500", "-o", "x.png"], ["unknown cup 'men-500'", "did you mean men-500m"]),
        (["men-500m", "--as-of", "9 March"], ["--as-of '9 March'", "YYYY-MM-DD"]),
    ],
)
def test_a_bad_chart_request_is_one_line_and_draws_nothing(
    runner: CliRunner,
    season_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    fragments: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(runner, "chart", *args, "--db", season_db)
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("ledger.db")] == []


def test_without_matplotlib_the_chart_says_which_extra_to_install(
    runner: CliRunner, season_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, module, None)
    code, _, err = run(
        runner, "chart", "men-500m", "-o", str(tmp_path / "c.png"), "--db", season_db
    )
    assert code == 1
    assert err.strip() == "error: charts need matplotlib: pip install 'results-ledger[charts]'"


def test_other_commands_do_not_import_matplotlib() -> None:
    probe = "import sys, cli.main; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# --- the numbers behind the picture (pure) ------------------------------------------------


def test_the_last_point_of_every_line_is_the_competitors_total(season_db: str) -> None:
    ledger = Ledger(season_db)
    chart = season_chart(ledger, "men-500m", as_of="2014-03-09")
    table = standings(ledger, "men-500m", as_of=date(2014, 3, 9))
    ledger.close()
    assert [s.cumulative[-1] for s in chart.series] == [r.points for r in table.standings]
    assert chart.races[-1].race == "INZ2-B"
    assert chart.series[0].cumulative[:2] == [60, 60]  # Michel Mulder: 4th in CAL1-A, no B race


def hand_view(
    places: dict[str, dict[str, int]], table: Sequence[int] = (100, 80, 70)
) -> LedgerView:
    """A small season whose cup counts the best two races; R1, R2, ... on consecutive days."""
    view = LedgerView()
    cup = CupState("s", "c", "Best two", best=2)
    view.seasons["s"] = SeasonState("s", "A small season", {"A": list(table)}, {"c": cup})
    for order, (race, results) in enumerate(places.items()):
        view.races[("s", race)] = RaceState(
            season="s",
            race=race,
            cup="c",
            date=date(2020, 1, order + 1),
            table="A",
            points=list(table),
            location=None,
            venue=None,
            order=order,
            results={
                who: ResultState(who, None, place, None, None, False)
                for who, place in results.items()
            },
        )
    return view


def test_with_best_two_counting_a_weaker_third_race_adds_nothing() -> None:
    view = hand_view(
        {"R1": {"Ann": 1, "Bob": 2}, "R2": {"Ann": 2, "Bob": 1}, "R3": {"Ann": 3, "Bob": 1}}
    )
    chart = progression(view, "s", "c")
    lines = {s.competitor: s.cumulative for s in chart.series}
    assert lines == {"Ann": [100, 180, 180], "Bob": [80, 180, 200]}
    assert [s.competitor for s in chart.series] == ["Bob", "Ann"]


def test_races_not_raced_yet_are_not_on_the_axis() -> None:
    view = hand_view({"R1": {"Ann": 1}, "R2": {}, "R3": {}})
    assert [t.race for t in progression(view, "s", "c").races] == ["R1"]


def test_the_change_lists_who_moved_first_and_fills_with_the_leaders() -> None:
    before = progression(hand_view({"R1": {"Ann": 1, "Bob": 2, "Cy": 3}}), "s", "c")
    after_view = hand_view({"R1": {"Ann": 1, "Bob": 2, "Cy": 3}})
    results = after_view.races[("s", "R1")].results
    results["Bob"] = ResultState("Bob", None, 2, None, None, True)  # disqualified
    after = progression(after_view, "s", "c", axis=before.races)
    pairs = changed(before, after, 2)
    assert [(old.competitor if old else None, new.competitor) for old, new in pairs] == [
        ("Bob", "Bob"),  # dropped out of the standings: the biggest move
        ("Cy", "Cy"),  # moved up from 3rd (70) to 2nd (80)
    ]
    assert pairs[0][1].cumulative == [0]
    assert [new.competitor for _, new in changed(before, before, 2)] == ["Ann", "Bob"]
    assert [new.competitor for _, new in changed(before, after, 3)] == ["Bob", "Cy", "Ann"]


# Ten skaters, two races. I skipped R1 and was 4th in R2; his disqualification there moves D to
# H up a place in R2 (D +10, E and F +5, G and H +4), lifts J from 10th to 9th, and takes I
# out of the standings. He was 9th: the biggest mover, and no leader.
TEN = (100, 80, 70, 60, 50, 45, 40, 36, 32, 28)
TWO_RACES = {
    "R1": {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8, "J": 9},
    "R2": {"A": 1, "B": 2, "C": 3, "I": 4, "D": 5, "E": 6, "F": 7, "G": 8, "H": 9},
}


def test_the_biggest_mover_is_drawn_even_when_ranked_below_the_leaders_drawn() -> None:
    before = progression(hand_view(TWO_RACES, TEN), "s", "c")
    assert [(s.competitor, s.points) for s in before.series] == [
        ("A", 200), ("B", 160), ("C", 140), ("D", 110), ("E", 95),
        ("F", 85), ("G", 76), ("H", 68), ("I", 60), ("J", 32),
    ]  # fmt: skip
    view = hand_view(TWO_RACES, TEN)
    view.races[("s", "R2")].results["I"] = ResultState("I", None, 4, None, None, True)
    after = progression(view, "s", "c", axis=before.races)
    # I dropped out; D moved most in points (10, the largest) and J in rank (1, the largest),
    # D first as the better placed; then E, F (5 points) and G, H (4); A is the leader.
    assert [new.competitor for _, new in changed(before, after, 4)] == ["I", "D", "J", "E"]
    pairs = changed(before, after, 8)
    assert [new.competitor for _, new in pairs] == ["I", "D", "J", "E", "F", "G", "H", "A"]
    old_i, new_i = pairs[0]
    assert (old_i and old_i.rank, old_i and old_i.points, new_i.rank) == (9, 60, 0)
    assert new_i.cumulative == [0, 0]


def test_the_chart_is_computed_at_a_head_it_states(changed_db: Changed) -> None:
    ledger = Ledger(changed_db.db)
    assert season_chart(ledger, "men-500m").head == changed_db.after
    assert season_chart(ledger, "men-500m", known_at=BEFORE).head == changed_db.before
    before, after = season_chart_change(ledger, "men-500m", before=BEFORE)
    ledger.close()
    assert (before.head, after.head) == (changed_db.before, changed_db.after)


def test_on_the_real_season_the_disqualified_skater_leads_the_change(changed_db: Changed) -> None:
    ledger = Ledger(changed_db.db)
    before, after = season_chart_change(ledger, "men-500m", before=BEFORE)
    ledger.close()
    # From `ledger diff`: POL #16 falls 5 places and 45 points, the most of both. Five move up
    # a place (by 5, 4, 3, 2 and 2 points); NED #07 and Dmitry Lobkov gain 4 points each.
    assert [new.competitor for _, new in changed(before, after, 8)] == [
        "POL #16", "AUS #18", "RUS #19", "ITA #20", "JPN #17", "FIN #21", "NED #07",
        "Dmitry Lobkov",
    ]  # fmt: skip
