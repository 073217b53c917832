"""The thin I/O layer of the read side: read the log, feed the pure folds, answer queries.

``query_*`` read the incrementally maintained read model (``projections.readmodel``): only
the facts of the cup or race asked about, up to the known-at position, folded and scored by the
same pure code as a full replay. ``load_view`` replays the whole log (history, audits).
"""

from __future__ import annotations

from datetime import date, datetime

from ledger.application import Ledger
from projections.fold import LedgerView, replay
from projections.models import HeadRef, RaceClassification, RaceSummary, Standings
from projections.readmodel import read_model
from projections.views import classification, standings


def load_view(ledger: Ledger, known_at: datetime | None = None) -> LedgerView:
    """Replay the log (only the events recorded at or before ``known_at``, if given)."""
    upto = ledger.position_at(known_at) if known_at is not None else None
    return replay(ledger.read_events(upto=upto))


def head_at(ledger: Ledger, position: int) -> HeadRef | None:
    """The chain's hash at a position (None for the empty log)."""
    rows = ledger.chain.chain_rows(position - 1, 1) if position else []
    return HeadRef(position=position, hash=rows[0].hash) if rows else None


def _known_at(ledger: Ledger, known_at: datetime | None) -> int | None:
    return ledger.position_at(known_at) if known_at is not None else None


def query_standings(
    ledger: Ledger, cup: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> Standings:
    """A cup's standings as of a date, as known at a time, with the head it was computed at."""
    model = read_model(ledger)
    upto = model.cut(_known_at(ledger, known_at))
    season, cup_id = model.resolve_cup(cup, upto)
    view = model.cup_view(season, cup_id, upto, as_of)
    table = standings(view, season, cup_id, as_of=as_of, known_at=known_at)
    return table.model_copy(update={"head": head_at(ledger, upto)})


def query_results(
    ledger: Ledger, race: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> RaceClassification:
    """A race's classification, as known at a time (empty as of a date before the race)."""
    model = read_model(ledger)
    upto = model.cut(_known_at(ledger, known_at))
    season, race_id = model.resolve_race(race, upto)
    return classification(
        model.race_view(season, race_id, upto), season, race_id, known_at=known_at, as_of=as_of
    )


def query_races(
    ledger: Ledger, *, as_of: date | None = None, known_at: datetime | None = None
) -> list[RaceSummary]:
    """Every scheduled race (on or before ``as_of``, if given) with its result count."""
    model = read_model(ledger)
    races = model.race_summaries(model.cut(_known_at(ledger, known_at)))
    return [r for r in races if as_of is None or r.date <= as_of]
