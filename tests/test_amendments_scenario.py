"""The 2013–14 men's 500 m with amendments recorded after the season, read at several
(as of, known at) pairs worked out by hand from the published table and the results file.

Recorded after the last race day (16 March, 21:00):
- 18 March: the real misspelling fixed: "Bai Quiming" (CHN) renamed "Bai Qiuming".
- 19 March: INZ2-A moved from 9 to 10 March (illustrative: a weather delay).
- 20 March: Nico Ihle's 2nd place in INZ2-A withdrawn as recorded in error (illustrative).
- 21 March: that withdrawal reverted.

From the published table: Ronald Mulder 782, Michel Mulder 728, Mo Tae-bum 527, Artyom
Kuznetsov 471, Nico Ihle 425, Bai Quiming 17 (40th). As of 9 March (the contract's example):
Michel Mulder 578, Mo Tae-bum 527, Ronald Mulder 512. INZ2-A scores table A: 1st Jan Smeekens
100, 2nd Nico Ihle 80, 3rd Michel Mulder 70, 4th Artyom Kuznetsov 60, 8th Ronald Mulder 36;
Mo Tae-bum did not race it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from ledger.application import Ledger
from ledger.bundled import MEN_500M, load_bundled
from projections.history import query_history
from projections.standings import query_standings


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


RENAMED, MOVED, WITHDRAWN, REVERTED = (at(f"2014-03-{d}T09:00") for d in (18, 19, 20, 21))
NINTH, TENTH = date(2014, 3, 9), date(2014, 3, 10)


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    ledger = Ledger(str(tmp_path_factory.mktemp("scenario") / "ledger.db"))
    load_bundled(ledger, MEN_500M)
    office = {"by": "results office", "source": "scenario"}
    ledger.rename_competitor(
        "Bai Quiming", nation="CHN", to="Bai Qiuming", reason="misspelt", recorded_at=RENAMED,
        **office,
    )  # fmt: skip
    ledger.reschedule_race("INZ2-A", race_date=TENTH, reason="weather", recorded_at=MOVED, **office)
    withdrawn = ledger.withdraw_result(
        "INZ2-A", "Nico Ihle", reason="recorded in error", recorded_at=WITHDRAWN, **office
    )
    ledger.revert(withdrawn.command, reason="it was right", recorded_at=REVERTED, **office)
    yield ledger
    ledger.close()


def points(ledger: Ledger, **query: object) -> dict[str, tuple[int, int]]:
    table = query_standings(ledger, "men-500m", **query)  # type: ignore[arg-type]
    return {r.competitor: (r.rank, int(r.points)) for r in table.standings}


def test_as_of_9_march_before_the_move_inzell_2a_counts(season: Ledger) -> None:
    table = points(season, as_of=NINTH, known_at=RENAMED)
    assert table["Michel Mulder"] == (1, 578)
    assert table["Mo Tae-bum"] == (2, 527)
    assert table["Ronald Mulder"] == (3, 512)


def test_as_of_9_march_after_the_move_inzell_2a_is_not_run_yet(season: Ledger) -> None:
    table = points(season, as_of=NINTH, known_at=MOVED)
    # Michel Mulder loses its 70, Ronald Mulder its 36; Mo Tae-bum did not race it.
    assert table["Mo Tae-bum"] == (1, 527)
    assert table["Michel Mulder"] == (2, 578 - 70)
    assert table["Ronald Mulder"] == (3, 512 - 36)
    # As of the new date, it counts again.
    assert points(season, as_of=TENTH, known_at=MOVED)["Michel Mulder"] == (1, 578)


def test_with_nico_ihle_withdrawn_everyone_behind_him_in_inzell_2a_moves_up(
    season: Ledger,
) -> None:
    table = points(season, known_at=WITHDRAWN)
    assert table["Michel Mulder"] == (2, 728 + 80 - 70)  # 3rd → 2nd
    assert table["Artyom Kuznetsov"][1] == 471 + 70 - 60  # 4th → 3rd
    assert table["Nico Ihle"][1] == 425 - 80
    assert table["Ronald Mulder"] == (1, 782 + 40 - 36)  # 8th → 7th


def test_after_the_revert_the_published_table_is_back_under_the_right_name(
    season: Ledger,
) -> None:
    table = points(season)
    assert table["Ronald Mulder"] == (1, 782)
    assert table["Michel Mulder"] == (2, 728)
    assert table["Nico Ihle"] == (10, 425)
    assert table["Bai Qiuming"] == (40, 17) and "Bai Quiming" not in table
    before = points(season, known_at=at("2014-03-17T00:00"))
    assert before["Bai Quiming"] == (40, 17) and "Bai Qiuming" not in before


def test_the_audit_trail_tells_each_amendment_old_to_new(season: Ledger) -> None:
    rows = query_history(season, changes_only=True)
    assert [(r.what, r.change) for r in rows] == [
        ("renamed", "Bai Quiming (CHN) → Bai Qiuming (CHN)"),
        ("rescheduled", "date 2014-03-09 → 2014-03-10"),
        ("withdrawn", "2nd in 34.97 → no result"),
        (
            "reverted",
            f"command #{rows[2].command} undone (positions {rows[2].position}–{rows[2].position})",
        ),
        ("restored", "no result → 2nd in 34.97"),
    ]
    assert {r.by for r in rows} == {"results office"}
