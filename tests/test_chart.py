"""`ledger chart`: the season race by race as PNG and SVG, the change a correction made, errors."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from cli.chart import footer, ink, spread, styles, tick_labels
from cli.commands_chart import ledger_name
from cli.main import app
from ledger.application import Ledger
from ledger.bundled import MEN_500M, load_bundled
from ledger.fold import CupState, RaceState, ResultState, SeasonState, World
from projections.api import season_chart, season_chart_change, standings
from projections.models import HeadRef
from projections.progression import Progression, RaceTick, changed
from projections.progression import progression as cup_progression

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CET = timezone(timedelta(hours=1))
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


class Placed(NamedTuple):
    text: str
    x: float
    y: float
    size: float


def svg_placed(path: Path) -> list[Placed]:
    """Every text of an SVG with where it starts (points, y down) and its font size."""
    placed = []
    for t in ET.parse(path).getroot().iter(f"{SVG}text"):
        size = re.search(r"font-size: ([0-9.]+)px", t.get("style", ""))
        assert size is not None
        placed.append(
            Placed("".join(t.itertext()), float(t.get("x", 0)), float(t.get("y", 0)),
                   float(size[1]))
        )  # fmt: skip
    return placed


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


def chart_texts(runner: CliRunner, db: str, out: Path, *args: str) -> list[Placed]:
    code, _, err = run(runner, "chart", "men-500m", *args, "-o", str(out), "--db", db)
    assert code == 0, err
    return svg_placed(out)


def assert_apart(labels: Sequence[Placed]) -> None:
    """No two labels overlap: their lines are at least a font size apart."""
    ys = sorted(label.y for label in labels)
    assert all(b - a >= labels[0].size for a, b in pairwise(ys)), ys


def test_twenty_lines_are_named_at_their_ends_apart_and_clear_of_the_data(
    runner: CliRunner, season_db: str, tmp_path: Path
) -> None:
    texts = chart_texts(runner, season_db, tmp_path / "top.svg", "--top", "20")
    labels = [t for t in texts if re.fullmatch(r"\d+\. .+ — \d+", t.text)]
    assert len(labels) == 20
    assert labels[0].text == "1. Ronald Mulder (NED) — 782"
    assert labels[-1].text == "20. ITA #20 (ITA) — 185"
    last_race = next(t for t in texts if t.text == "HVN2")  # the last point's x, centred
    assert all(label.x > last_race.x for label in labels)
    assert_apart(labels)
    # The year under the first race and where it changes, once each.
    assert [t.text for t in texts if t.text in ("2013", "2014")] == ["2013", "2014"]
    assert not any("Legend" in t.text for t in texts)


def test_the_change_chart_names_who_moved_most_and_where_the_numbers_come_from(
    runner: CliRunner, changed_db: Changed, tmp_path: Path
) -> None:
    args = ["--diff", "--known-at", BEFORE, "--vs", "2014-03-21"]
    texts = chart_texts(runner, changed_db.db, tmp_path / "change.svg", *args)
    joined = [t.text for t in texts]
    # `ledger diff` says: POL #16 206 → 161 points, 16th → 21st; five skaters behind him move
    # up one place, and NED #07 (7th) gains 4 points.
    assert "POL #16 (POL): 206 (#16) → 161 (#21)" in joined
    assert "AUS #18 (AUS): 196 (#18) → 201 (#17)" in joined
    assert "NED #07 (NED): 442 (#7) → 446 (#7)" in joined
    labels = [t for t in texts if re.fullmatch(r".+ \(\w+\): .+", t.text)]
    assert len(labels) == 8
    assert_apart(labels)
    assert all(label.x > next(t for t in texts if t.text == "HVN2").x for label in labels)
    assert [t for t in joined if t.startswith("Source:")] == [
        "Source: ledger.db, via results-ledger · all races · known at 2014-03-17T00:00:00Z"
        f" (log head 353 {changed_db.before.hash[:12]}) → 2014-03-21T23:59:59.999999Z"
        f" (log head 355 {changed_db.after.hash[:12]})"
    ]
    assert {"as known at 2014-03-17 00:00 UTC", "as known at 2014-03-21 23:59 UTC"} <= set(joined)
    png = tmp_path / "change.png"
    assert run(runner, "chart", "men-500m", *args, "-o", str(png), "--db", changed_db.db)[0] == 0
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (1800, 1012)  # 12 x 6.75 inches at 150 dpi


@pytest.mark.parametrize(
    ("measure", "before", "after"),
    [
        ("rank", "16. POL #16 (POL) — 206", "21. POL #16 (POL) — 161"),
        ("points", "16. POL #16 (POL) — 206", "21. POL #16 (POL) — 161"),
    ],
)
def test_the_slope_chart_shows_each_skater_before_and_after_side_by_side(
    runner: CliRunner,
    changed_db: Changed,
    tmp_path: Path,
    measure: str,
    before: str,
    after: str,
) -> None:
    args = ["--kind", "slope", "--measure", measure, "--known-at", BEFORE, "--source", "ISU"]
    texts = chart_texts(runner, changed_db.db, tmp_path / "slope.svg", *args)
    joined = [t.text for t in texts]
    left = next(t for t in texts if t.text == before)
    right = next(t for t in texts if t.text == after)
    assert left.x < right.x
    assert "16. JPN #17 (JPN) — 205" in joined  # moved up into POL #16's place
    sides = [t for t in texts if re.fullmatch(r"\d+\. .+ — \d+", t.text)]
    assert len(sides) == 16
    assert_apart([t for t in sides if t.x <= left.x])
    assert_apart([t for t in sides if t.x >= right.x])
    foot = next(t for t in joined if t.startswith("Source:"))
    assert foot.startswith("Source: ISU, via results-ledger · all races · known at 2014-03-17T")
    assert re.search(rf"→ \S+Z \(log head 355 {changed_db.after.hash[:12]}\)$", foot)
    png = tmp_path / "slope.png"
    assert run(runner, "chart", "men-500m", *args, "-o", str(png), "--db", changed_db.db)[0] == 0
    with Image.open(png) as image:
        assert image.size == (1800, 1012)


def test_a_chart_without_known_at_states_the_moment_and_head_it_was_drawn_at(
    runner: CliRunner, changed_db: Changed, tmp_path: Path
) -> None:
    texts = [t.text for t in chart_texts(runner, changed_db.db, tmp_path / "now.svg")]
    foot = next(t for t in texts if t.startswith("Source:"))
    stamp = re.search(r"known at (\S+) \(log head 355 (\w+)\)$", foot)
    assert stamp is not None, foot
    assert stamp[2] == changed_db.after.hash[:12]
    drawn = datetime.fromisoformat(stamp[1])
    assert abs((datetime.now(UTC) - drawn).total_seconds()) < 60


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["men-500m", "--diff"], ["--diff needs --known-at"]),
        (["men-500m", "--kind", "slope"], ["--kind slope needs --known-at"]),
        (
            ["men-500m", "--diff", "--kind", "slope", "--known-at", BEFORE],
            ["--diff is --kind diff"],
        ),
        (["men-500m", "--diff", "--known-at", "2999-01-01T00:00:00Z"], ["later than now"]),
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


def progression(view: World, season: str, cup: str, **options: Any) -> Progression:
    return cup_progression(view, (season, cup), **options)


def hand_view(places: dict[str, dict[str, int]], table: Sequence[int] = (100, 80, 70)) -> World:
    """A small season whose cup counts the best two races; R1, R2, ... on consecutive days."""
    view = World()
    points = tuple(Decimal(p) for p in table)
    cup = CupState("s", "c", "Best two", {"id": "c", "name": "Best two", "best": 2})
    view.seasons["s"] = SeasonState("s", "A small season", {"A": points}, {"c": cup})
    for order, (race, results) in enumerate(places.items()):
        view.races[("s", race)] = RaceState(
            season="s",
            race=race,
            cup="c",
            date=date(2020, 1, order + 1),
            table="A",
            points=points,
            location=None,
            venue=None,
            order=order,
            results={
                who: ResultState(who, who, None, place, None, None, False)
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
    results["Bob"] = ResultState("Bob", "Bob", None, 2, None, None, True)  # disqualified
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
    view.races[("s", "R2")].results["I"] = ResultState("I", "I", None, 4, None, None, True)
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


# --- how the picture is laid out (pure) ---------------------------------------------------

# Okabe & Ito, "Color Universal Design" (2008), as published.
OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


def test_twenty_lines_get_twenty_distinct_colour_and_marker_pairs() -> None:
    drawn = styles(20)
    assert len({(s.colour, s.marker, s.filled) for s in drawn}) == 20
    assert {s.colour.upper() for s in drawn[:8]} == OKABE_ITO
    assert drawn[8].colour == drawn[0].colour and drawn[8][1:] != drawn[0][1:]
    assert drawn[16].colour == drawn[0].colour and drawn[16][1:] not in {drawn[0][1:], drawn[8][1:]}


def contrast_on_white(colour: str) -> float:
    """WCAG 2 contrast ratio of a colour against white."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def test_labels_are_written_in_their_lines_colour_dark_enough_to_read() -> None:
    assert ink("#000000") == "#000000"
    assert ink("#0072B2") == "#0072b2"  # blue already reads on white: 5.2:1
    assert contrast_on_white("#F0E442") < 1.5
    for colour in OKABE_ITO:
        assert contrast_on_white(ink(colour)) >= 4.5, colour


def tick(race: str, day: date) -> RaceTick:
    return RaceTick(race=race, date=day, location=None)


def test_the_date_axis_gives_the_year_at_the_start_and_where_it_changes() -> None:
    season = [
        tick("CAL1-A", date(2013, 11, 8)),
        tick("CAL1-B", date(2013, 11, 8)),
        tick("INZ1-A", date(2014, 3, 8)),
        tick("HVN2", date(2014, 3, 16)),
    ]
    assert tick_labels(season) == ["CAL1-A\n8 Nov\n2013", "CAL1-B\n8 Nov", "INZ1-A\n8 Mar\n2014",
                                   "HVN2\n16 Mar"]  # fmt: skip
    one_year = [tick("R1", date(2020, 1, 1)), tick("R2", date(2020, 1, 2))]
    assert tick_labels(one_year) == ["R1\n1 Jan\n2020", "R2\n2 Jan"]


def test_labels_too_close_are_nudged_apart_evenly_and_no_further() -> None:
    assert spread([5, 5.2], 1, 0, 10) == pytest.approx([4.6, 5.6])
    assert spread([0, 0, 0], 1, -10, 10) == pytest.approx([-1, 0, 1])
    assert spread([3, 9], 1, 0, 10) == pytest.approx([3, 9])  # far enough apart already
    assert spread([0, 0], 1, 0, 10) == pytest.approx([0, 1])  # kept above the floor
    assert spread([10, 9.5, 10], 1, 0, 10) == pytest.approx([9, 8, 10])  # below the ceiling
    assert spread([5, 5, 5], 1, 0, 1) == pytest.approx([0, 0.5, 1])  # no room: packed
    assert spread([], 1, 0, 1) == []


@given(
    wanted=st.lists(st.floats(0, 100, allow_nan=False), max_size=25),
    gap=st.floats(0.1, 4),
)
def test_nudged_labels_never_overlap_never_swap_and_stay_on_the_axis(
    wanted: list[float], gap: float
) -> None:
    placed = spread(wanted, gap, 0, 100)
    assert len(placed) == len(wanted)
    assert all(-1e-9 <= y <= 100 + 1e-9 for y in placed)
    order = sorted(range(len(wanted)), key=lambda i: (wanted[i], i))
    ys = [placed[i] for i in order]
    assert all(b - a >= gap - 1e-9 for a, b in pairwise(ys))


def test_the_footer_says_the_source_the_moment_and_the_head() -> None:
    chart = Progression(
        season="s", cup="c", cup_name="C", season_name="S", as_of=date(2014, 3, 9),
        known_at=datetime(2014, 3, 17, 1, tzinfo=CET), races=[], series=[],
        head=HeadRef(position=353, hash="3c89e81c3096cb2cae6f6d95ab017060"),
    )  # fmt: skip
    assert footer("men-500m.db", [chart]) == (
        "Source: men-500m.db, via results-ledger · as of 2014-03-09"
        " · known at 2014-03-17T00:00:00Z (log head 353 3c89e81c3096)"
    )
    empty = chart.model_copy(update={"known_at": None, "head": None, "as_of": None})
    assert (
        footer("x", [empty])
        == "Source: x, via results-ledger · all races · known at now (empty log)"
    )


def test_the_footer_names_a_ledger_by_its_file_or_database_never_its_url() -> None:
    assert ledger_name("/srv/results/2013-14.db") == "2013-14.db"
    assert ledger_name("postgresql://results:s3cret@db.example:5432/ledger") == "ledger"
