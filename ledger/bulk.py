"""A results file's rows as stored events, without an event object per row.

``Race.record_result`` builds a ``ResultRecorded``, applies it to the race, and the mapper
then copies its fields into a dict and encodes that. For a file of thousands of rows this
goes from the rows straight to what the store receives: the same topic, the same aggregate
ids and version numbers, and the same state bytes, key for key, as the aggregates and the
application's mapper would produce (``tests/test_bulk_import.py`` compares the two, byte for
byte). A second result for a competitor is refused with the aggregate's own error.

The state of every result in a race begins with the same fields (the recorded time, who,
the source, the race's context), so those are encoded once per race; each row encodes only
its own fields. A JSON object's encoding is its members' encodings joined by commas (the
library writes compact separators and keeps the keys' order), so joining the two objects'
members gives the bytes of the one object the mapper would encode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from eventsourcing.persistence import Mapper
from eventsourcing.utils import get_topic

from ledger.domain import Race, ResultRecorded, competitor_key
from ledger.errors import DuplicateError
from ledger.store import EventRun
from ledger.transcoder import OrjsonTranscoder
from ledger.values import ParsedRow

K = TypeVar("K", bound=Hashable)

PROGRESS_STEP = 100

# The row's own fields: the rest of the state is the same for every result in a race.
ROW_FIELDS = ("competitor", "nation", "place", "time", "status")
_STATE = tuple(
    f.name
    for f in dataclasses.fields(ResultRecorded)
    if f.name not in ("originator_id", "originator_version")
)
_HEAD = _STATE[: -len(ROW_FIELDS)]
if _STATE[-len(ROW_FIELDS) :] != ROW_FIELDS or ResultRecorded.class_version != 1:
    # The joined encoding below assumes the row's fields come last, and no class_version
    # key: a changed event class must change this module too (the tests would fail).
    raise TypeError(f"ResultRecorded's state is {_STATE} at version {ResultRecorded.class_version}")


class _Batch:
    """One race's new results: the race, its encoded common fields, who has a result, and
    the new results' states."""

    __slots__ = ("head", "race", "rows", "taken")

    def __init__(self, race: Race, head: bytes) -> None:
        self.race = race
        self.head = head[:-1] + b","  # the object's members so far, open for more
        self.taken = set(race.results)
        self.rows: list[bytes] = []


def recorded_results(
    rows: Sequence[tuple[ParsedRow, K]],
    race_of: Callable[[K], Race],
    mapper: Mapper[Any],
    *,
    by: str,
    source: str | None,
    timestamp: datetime,
    file: str,
    progress: Callable[[int, int], None],
) -> list[EventRun]:
    """The stored events of a ResultRecorded per row, race by race, each race in row order.

    ``rows`` pairs each row with its race's key; ``race_of`` loads a race (once per race,
    in the order the races first appear). Events come out as saving the races in that order
    would store them, one run of events per race. A second result for a competitor, in the
    race or earlier in the rows, raises the race's DuplicateError prefixed with the file and
    line.
    """
    transcoder = mapper.transcoder
    encode = transcoder.encode
    # A row's fields are text, whole numbers, None and a Decimal: orjson writes them as the
    # transcoder would, once the Decimal is given as the transcoder's {"_type_", "_data_"}
    # (the transcoder itself checks every value's type first, a third of the row's cost).
    decimal = transcoder.types[Decimal] if isinstance(transcoder, OrjsonTranscoder) else None
    batches: dict[K, _Batch] = {}
    total = len(rows)
    for done, (row, key) in enumerate(rows):
        if done % PROGRESS_STEP == 0:
            progress(done, total)
        batch = batches.get(key)
        if batch is None:
            race = race_of(key)
            common = {"timestamp": timestamp, "by": by, "source": source, **race._context()}
            batch = batches[key] = _Batch(race, encode({name: common[name] for name in _HEAD}))
        line, _, competitor, nation, place, time, status = row
        who = competitor_key(competitor, nation)
        if who in batch.taken:
            raise DuplicateError(f"{file}, line {line}: {batch.race.second_result(who)}")
        batch.taken.add(who)
        fields: dict[str, Any] = {
            "competitor": competitor,
            "nation": nation,
            "place": place,
            "time": time,
            "status": status,
        }
        members = b""
        if decimal is not None:
            if time is not None:
                fields["time"] = {"_type_": decimal.name, "_data_": decimal.encode(time)}
            try:
                members = orjson.dumps(fields)
            except orjson.JSONEncodeError:
                fields["time"] = time  # a lone surrogate: the transcoder decides
        if not members:
            members = encode(fields)
        # Joined at once, so the encoder's buffer is freed at once: kept, each would hold on
        # to a page of memory (a page fault per row, a fifth of an import's time).
        batch.rows.append(batch.head + memoryview(members)[1:])

    topic = get_topic(ResultRecorded)
    compressor, cipher = mapper.compressor, mapper.cipher
    runs = []
    for batch in batches.values():
        states = batch.rows
        if compressor is not None:
            states = [compressor.compress(state) for state in states]
        if cipher is not None:
            states = [cipher.encrypt(state) for state in states]
        runs.append(EventRun(batch.race.id, batch.race.version + 1, topic, states))
    return runs
