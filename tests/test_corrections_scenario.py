"""The 2013–14 men's 500 m, replayed with changes recorded after the race days, read at
several (as of, known at) pairs. Expected values come from the published table
(ledger/data/seasons/isu-ss-wc-2013-14-men-500m/published-standings.csv) and from the
results file, adjusted by hand as each comment explains. The changes are illustrative.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ledger.application import Ledger
from ledger.bundled import MEN_500M, load_bundled
from projections.standings import query_standings


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


AFTER_INZ1 = at("2014-03-08T22:00")  # INZ1's results recorded at 21:00 that evening, INZ2's not yet
AFTER_SEASON = at("2014-03-17T00:00")  # every race day recorded, no change yet
TIME_FIXED = at("2014-03-18T09:00")
DISQUALIFIED = at("2014-03-20T09:00")
DEAD_HEAT = at("2014-03-25T09:00")
REINSTATED = at("2014-04-02T09:00")
INZELL = date(2014, 3, 9)


@pytest.fixture
def season(db_url: str) -> Iterator[Ledger]:
    ledger = Ledger(db_url)
    load_bundled(ledger, MEN_500M)
    # HVN2 (16 March, final table 150, 120, 105, 90, 75, 45, 40, ...):
    ledger.correct_result(
        "HVN2", "Michel Mulder", time=Decimal("34.94"), reason="typo", recorded_at=TIME_FIXED
    )
    ledger.disqualify("HVN2", "POL #16", reason="infringement", recorded_at=DISQUALIFIED)
    # INZ2-A (9 March, table A 100, 80, 70, 60, ...): Michel Mulder, 3rd, judged level with
    # Nico Ihle in 2nd on the photo finish.
    ledger.correct_result(
        "INZ2-A", "Michel Mulder", place=2, reason="photo finish", recorded_at=DEAD_HEAT
    )
    ledger.reinstate("HVN2", "POL #16", reason="appeal upheld", recorded_at=REINSTATED)
    yield ledger
    ledger.close()


def points(
    ledger: Ledger, as_of: date | None, known_at: datetime | None
) -> dict[str, tuple[int, int]]:
    table = query_standings(ledger, "men-500m", as_of=as_of, known_at=known_at)
    return {row.competitor: (row.rank, row.points) for row in table.standings}


def test_standings_at_several_dates_and_knowledge_times(season: Ledger) -> None:
    # After Inzell as known the evening after INZ1: Michel Mulder's 578 without INZ2-A's 70 (3rd).
    assert points(season, INZELL, AFTER_INZ1)["Michel Mulder"][1] == 578 - 70

    # After Inzell, as known before any change: the README's table, Michel Mulder leads.
    inzell = points(season, INZELL, AFTER_SEASON)
    assert inzell["Michel Mulder"] == (1, 578)
    assert inzell["Nico Ihle"][1] == points(season, INZELL, None)["Nico Ihle"][1]

    # After Inzell, as known after the dead heat: 2nd instead of 3rd in INZ2-A, 80 - 70 = +10.
    # Ihle keeps his 80 (a tie scores alike), and Artyom Kuznetsov, recorded 4th, stays 4th
    # (1 + three classified ahead: Smeekens, Ihle, Mulder) with 60.
    dead_heat = points(season, INZELL, DEAD_HEAT)
    assert dead_heat["Michel Mulder"] == (1, 588)
    assert dead_heat["Nico Ihle"] == inzell["Nico Ihle"]
    assert dead_heat["Artyom Kuznetsov"] == inzell["Artyom Kuznetsov"]

    # Final, before any change: the published table.
    final = points(season, None, AFTER_SEASON)
    assert final["Ronald Mulder"] == (1, 782)
    assert final["Michel Mulder"] == (2, 728)
    assert (final["POL #16"], final["AUS #18"]) == ((16, 206), (18, 196))

    # Final, after the time correction only: nothing moves (times do not score).
    assert points(season, None, TIME_FIXED) == final

    # Final, after POL #16's disqualification from HVN2, where it was 6th (45 points):
    # POL #16 206 - 45 = 161; AUS #18, recorded 7th, moves up to 6th: 196 - 40 + 45 = 201.
    disqualified = points(season, None, DISQUALIFIED)
    assert disqualified["POL #16"][1] == 161
    assert disqualified["AUS #18"][1] == 201
    assert disqualified["Michel Mulder"] == (2, 728)

    # Final, after the dead heat as well: Michel Mulder 728 + 10 = 738, still behind 782.
    assert points(season, None, DEAD_HEAT)["Michel Mulder"] == (2, 738)

    # Now, after the reinstatement: POL #16 and AUS #18 are back at their published totals,
    # and the dead heat stays.
    now = points(season, None, None)
    assert (now["POL #16"], now["AUS #18"]) == ((16, 206), (18, 196))
    assert now["Michel Mulder"] == (2, 738)
    assert points(season, INZELL, None)["Michel Mulder"] == (1, 588)
