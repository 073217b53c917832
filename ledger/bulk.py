"""A results file's rows as stored events, without an event object per row.

``ResultRecorded`` events built one by one and encoded by the application's mapper would cost
a large import most of its time. This goes from the rows straight to what the store receives:
the same topic, aggregate ids and version numbers, and the same state bytes, key for key, as
the mapper would produce from the event objects (``tests/test_bulk_import.py`` compares the
two, byte for byte). It also adds each new result to its race's state (``ledger.fold``'s
``ResultState``), as folding the events would, so that the command can describe what it wrote
and check the races it touched without reading them back.

The state of every result in a race begins with the same fields (the recorded time, who,
the source, the command, the race's context), so those are encoded once per race; each row
encodes only its own fields. A JSON object's encoding is its members' encodings joined by
commas (the library writes compact separators and keeps the keys' order), so joining the two
objects' members gives the bytes of the one object the mapper would encode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper

from ledger.errors import DuplicateError
from ledger.events import ResultRecorded, competitor_key
from ledger.fold import RaceState, ResultState
from ledger.store import EventRun
from ledger.transcoder import OrjsonTranscoder
from ledger.values import ParsedRow

PROGRESS_STEP = 100

# The row's own fields: the rest of the state is the same for every result in a race.
ROW_FIELDS = (
    "competitor",
    "nation",
    "competitor_id",
    "athlete_id",
    "place",
    "time",
    "status",
    "bonus",
    "team",
)
_STATE = tuple(
    f.name
    for f in dataclasses.fields(ResultRecorded)
    if f.name not in ("originator_id", "originator_version")
)
_HEAD = _STATE[: -len(ROW_FIELDS)]
if _STATE[-len(ROW_FIELDS) :] != ROW_FIELDS or ResultRecorded.class_version != 2:
    # The joined encoding below assumes the row's fields come last, in this order, then the
    # class version: a changed event class must change this module too (the tests would fail).
    raise TypeError(f"ResultRecorded's state is {_STATE} at version {ResultRecorded.class_version}")
_TAIL = b"," + orjson.dumps({"class_version": ResultRecorded.class_version})[1:]


@dataclasses.dataclass(frozen=True)
class Identity:
    """Whom a row's result is for: the competitor's id and its name as first written."""

    competitor_id: str
    name: str


class _Batch:
    """One race's new results: the race, its encoded common fields, and its rows (with whom
    each is for), encoded only when the race's events are asked for."""

    __slots__ = ("head", "race", "rows")

    def __init__(self, race: RaceState, head: bytes) -> None:
        self.race = race
        self.head = head[:-1] + b","  # the object's members so far, open for more
        self.rows: list[tuple[ParsedRow, Identity]] = []


def recorded_results(
    rows: Sequence[tuple[ParsedRow, RaceState, Identity]],
    aggregates: dict[tuple[str, str], tuple[UUID, int]],
    mapper: Mapper[Any],
    *,
    by: str,
    source: str | None,
    timestamp: datetime,
    command: int,
    file: str,
    progress: Callable[[int, int], None],
) -> Iterator[EventRun]:
    """The stored events of a ResultRecorded per row, race by race, each race in row order.

    ``rows`` pairs each row with its race's state (which gains the new results) and the
    competitor it is for; ``aggregates`` gives each race's aggregate id and next version.
    Events come out as the races first appear, one run of events per race. A second result
    for a competitor, in the race or earlier in the rows, raises a DuplicateError naming the
    file and line, at once: every row is checked, and added to its race's state, before
    this returns. The events themselves are encoded a race at a time as they are asked for,
    so that a large file's are never all held at once.
    """
    encode = mapper.transcoder.encode
    batches: dict[tuple[str, str], _Batch] = {}
    total = len(rows)
    for done, (row, race, who) in enumerate(rows):
        if done % PROGRESS_STEP == 0:
            progress(done, total)
        key = (race.season, race.race)
        batch = batches.get(key)
        if batch is None:
            common = {
                "timestamp": timestamp,
                "by": by,
                "source": source,
                "command": command,
                "season": race.season,
                "race": race.race,
                "cup": race.cup,
                "race_date": race.date,
            }
            batch = batches[key] = _Batch(race, encode({name: common[name] for name in _HEAD}))
        line, _, _, nation, place, time, status, _, bonus, team = row
        if who.competitor_id in race.results:
            label = competitor_key(who.name, nation)
            raise DuplicateError(
                f"{file}, line {line}: {race.label}: {label} already has a result;"
                " use `ledger correct` to change it"
            )
        race.results[who.competitor_id] = ResultState(
            who.competitor_id, who.name, nation, place, time, status, False, bonus, team
        )
        batch.rows.append((row, who))
    return _runs(batches, aggregates, mapper, by=by, command=command)


def _runs(
    batches: dict[tuple[str, str], _Batch],
    aggregates: dict[tuple[str, str], tuple[UUID, int]],
    mapper: Mapper[Any],
    *,
    by: str,
    command: int,
) -> Iterator[EventRun]:
    """Each race's run of events, encoded as it is asked for."""
    transcoder = mapper.transcoder
    encode = transcoder.encode
    # A row's fields are text, whole numbers, None and Decimals: orjson writes them as the
    # transcoder would, once a Decimal is given as the transcoder's {"_type_", "_data_"}
    # (the transcoder itself checks every value's type first, a third of the row's cost).
    decimal = transcoder.types[Decimal] if isinstance(transcoder, OrjsonTranscoder) else None
    if decimal is not None:
        decimal_name, encode_decimal = decimal.name, decimal.encode
    topic = ResultRecorded.TOPIC
    compressor, cipher = mapper.compressor, mapper.cipher
    for key, batch in batches.items():
        states: list[bytes] = []
        data: list[dict[str, Any]] = []
        for row, who in batch.rows:
            _, _, _, nation, place, time, status, athlete_id, bonus, team = row
            fields: dict[str, Any] = {  # in ROW_FIELDS' order
                "competitor": who.name,
                "nation": nation,
                "competitor_id": who.competitor_id,
                "athlete_id": athlete_id,
                "place": place,
                "time": time,
                "status": status,
                "bonus": bonus,
                "team": team,
            }
            members = b""
            if decimal is not None:
                if time is not None:
                    fields["time"] = {"_type_": decimal_name, "_data_": encode_decimal(time)}
                if bonus is not None:
                    fields["bonus"] = {"_type_": decimal_name, "_data_": encode_decimal(bonus)}
                try:
                    members = orjson.dumps(fields)
                except orjson.JSONEncodeError:
                    fields["time"], fields["bonus"] = time, bonus  # a lone surrogate
            if not members:
                members = encode(fields)
            # Joined at once, so the encoder's buffer is freed at once: kept, each would hold
            # on to a page of memory (a page fault per row, a fifth of an import's time).
            states.append(b"".join((batch.head, members[1:-1], _TAIL)))
            # What the read model's derivation reads of the event (``ledger.index``), as
            # decoding the state would give it: the index rows need no second parse of it.
            data.append(
                {
                    "by": by,
                    "command": command,
                    "competitor": who.name,
                    "nation": nation,
                    "competitor_id": who.competitor_id,
                    "athlete_id": athlete_id,
                }
            )
        if compressor is not None:
            states = [compressor.compress(state) for state in states]
        if cipher is not None:
            states = [cipher.encrypt(state) for state in states]
        aggregate, version = aggregates[key]
        yield EventRun(aggregate, version, topic, states, data)
