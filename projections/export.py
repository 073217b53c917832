"""Pure shaping of exports: results as the importer's CSV, standings and the event log as text.

Results are exported as they stand (as known at a time): a corrected result is exported with
its corrected values, a disqualified competitor with status ``DQ`` and no place, and every
classified competitor with its effective place (1 + those classified strictly ahead). Importing
the export into a ledger holding the same season therefore reproduces the same standings. The
results of a voided race are left out (the file format cannot say "void"); the event log keeps
them.
"""

from __future__ import annotations

import csv
import io
import pickle
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

import orjson
from pydantic import BaseModel, ConfigDict

from ledger.application import Ledger, reading_file
from ledger.chain import parse_recorded_at
from ledger.errors import InputError, IntegrityViolation
from ledger.fold import CupKey, RaceState, World
from ledger.moments import rfc3339
from ledger.parallel import in_log_order, in_order, processes_for, processes_for_parts
from ledger.reader import Reader
from ledger.values import RESULT_COLUMNS, format_points, format_time, neutralised
from projections.frames import dataframe
from projections.models import Cut, ExactTime, HeadRef
from projections.output import (
    ExportFormat,
    answer_pieces,
    delimited,
    json_bytes,
    json_text,
    jsonl_text,
    markdown,
    markdown_row,
)
from projections.standings import Standings, placings


class ResultLine(BaseModel):
    """One current result, as a row of the importer's CSV (plus its season and race date)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    season: str
    race: str
    date: date
    place: int | None
    competitor: str
    nation: str | None
    time: ExactTime | None
    status: str | None
    id: str | None = None
    bonus: Decimal | None = None
    team: str | None = None

    def csv_cells(self, columns: Sequence[str] = RESULT_COLUMNS[:6]) -> list[str]:
        """The cells of the results file's columns (race,place,competitor,nation,time,status,
        and id, bonus, team when the export has them)."""
        cells = {
            "race": self.race,
            "place": "" if self.place is None else str(self.place),
            "competitor": self.competitor,
            "nation": self.nation or "",
            "time": format_time(self.time),
            "status": self.status or "",
            "id": self.id or "",
            "bonus": format_points(self.bonus),
            "team": self.team or "",
        }
        return [cells[c] for c in columns]


class ResultsExport(BaseModel):
    """The current results of a ledger (or of a cup), and the voided races left out."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    results: list[ResultLine]
    voided: list[str]

    @property
    def columns(self) -> tuple[str, ...]:
        """The importer's columns this export needs: the six, then id, bonus and team if any
        result has one."""
        extra = tuple(
            c
            for c in ("id", "bonus", "team")
            if any(getattr(r, c) is not None for r in self.results)
        )
        return (*RESULT_COLUMNS[:6], *extra)

    def to_dataframe(self) -> Any:
        """A pandas DataFrame of the results."""
        columns = ["season", "race", "date", "place", "competitor", "nation", "time", "status"]
        return dataframe([r.model_dump() for r in self.results], columns)


def current_results(
    world: World,
    races: list[RaceState],
    shared_ids: set[str],
    athletes: dict[str, str] | None = None,
) -> ResultsExport:
    """These races' current results, in date order then place order, as the importer reads
    them (pure). A race id is qualified as ``SEASON/RACE`` when several seasons use it
    (``shared_ids``); ``athletes`` gives competitors' federation ids."""
    lines: list[ResultLine] = []
    voided: list[str] = []
    for race in sorted(races, key=lambda r: (r.date, r.order)):
        name = race.race if race.race not in shared_ids else f"{race.season}/{race.race}"
        if race.voided:
            if race.results:
                voided.append(name)
            continue
        for placing in placings(race):
            result = placing.result
            status = result.status or ("DQ" if result.disqualified else None)
            lines.append(
                ResultLine(
                    season=race.season,
                    race=name,
                    date=race.date,
                    place=placing.place,
                    competitor=result.name,
                    nation=result.nation,
                    time=result.time,
                    status=status,
                    id=(athletes or {}).get(world.identity(result.competitor_id)),
                    bonus=result.bonus,
                    team=result.team,
                )
            )
    return ResultsExport(results=lines, voided=voided)


EXPORT_CHUNK = 500  # races folded at a time


@dataclass(frozen=True)
class _Chosen:
    """The races an export reads, in date order, and where it reads up to."""

    cut: Cut
    keys: list[int]
    cup: CupKey | None  # only this cup's races (a team cup's: its ``of`` cup's)

    def chunks(self) -> list[list[int]]:
        return [
            self.keys[start : start + EXPORT_CHUNK]
            for start in range(0, len(self.keys), EXPORT_CHUNK)
        ]


def _chosen(
    reader: Reader,
    cup: str | None,
    season: str | None,
    as_of: date | None,
    known_at: datetime | None,
) -> _Chosen:
    cut = Cut.at(reader, known_at)
    raced: CupKey | None = None
    if cup is not None:
        key = reader.resolve_cup(cup, cut.upto)
        raced = (key[0], _race_cup(reader, key, cut.upto))
        dated = reader.race_dates(cut.upto, keys=reader.cup_race_keys(raced, cut.upto))
    else:
        dated = reader.race_dates(cut.upto, season=season)
    return _Chosen(cut, [k for day, k in dated if as_of is None or day <= as_of], raced)


def _results_chunk(
    reader: Reader, keys: Sequence[int], upto: int, cup: CupKey | None
) -> ResultsExport:
    """These races' current results (keys in date order; of a cup's races if given)."""
    world = reader.races_world(keys, upto)
    wanted = set(keys)
    races = [
        r
        for r in world.races.values()
        if r.order in wanted and (cup is None or (r.season, r.cup) == cup)
    ]
    ids = {r.race for r in races}
    seasons_of = Counter(race for _, race, _ in reader.races_named(ids, upto))
    shared = {race for race, seasons in seasons_of.items() if seasons > 1}
    competitor_keys = reader.competitor_keys(
        {world.identity(r.competitor_id) for race in races for r in race.results.values()}
    )
    athlete = reader.athlete_of(competitor_keys.values())
    athletes = {i: athlete[k] for i, k in competitor_keys.items() if k in athlete}
    return current_results(world, races, shared, athletes)


def results_chunks(
    ledger: Ledger,
    *,
    cup: str | None = None,
    season: str | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> tuple[HeadRef | None, Iterator[ResultsExport]]:
    """The current results (of one cup, one season, or all), as rows of the importer's CSV,
    a chunk of races at a time in date order (the memory of a chunk, whatever the size of
    the ledger), and the head they are read at: every chunk is read up to its position, in
    whatever transaction, so they answer as one snapshot would."""
    with ledger.reading() as reader:
        chosen = _chosen(reader, cup, season, as_of, known_at)
    return chosen.cut.head, _read_chunks(ledger, chosen)


def _read_chunks(ledger: Ledger, chosen: _Chosen) -> Iterator[ResultsExport]:
    with ledger.reading() as reader:
        for keys in chosen.chunks():
            yield _results_chunk(reader, keys, chosen.cut.upto, chosen.cup)


def query_results_export(
    ledger: Ledger,
    *,
    cup: str | None = None,
    season: str | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> ResultsExport:
    """The current results (of one cup, one season, or all), as rows of the importer's CSV."""
    _, chunks = results_chunks(ledger, cup=cup, season=season, as_of=as_of, known_at=known_at)
    results: list[ResultLine] = []
    voided: list[str] = []
    for chunk in chunks:
        results += chunk.results
        voided += chunk.voided
    return ResultsExport(results=results, voided=voided)


@dataclass(frozen=True)
class ResultsPart:
    """A chunk of an export's results, made ready to write: one JSON line each (its record,
    or with ``cells`` its cells of every importer's column), the voided races left out, and
    the columns beyond the first six that some result fills."""

    count: int
    voided: tuple[str, ...]
    extra: frozenset[str]
    lines: bytes

    @classmethod
    def of(cls, export: ResultsExport, *, cells: bool) -> ResultsPart:
        results = export.results
        if cells:
            made = [orjson.dumps(r.csv_cells(RESULT_COLUMNS)) for r in results]
        else:
            made = [json_bytes(r, indent=False) for r in results]
        extra = frozenset(export.columns[6:])
        return cls(len(results), tuple(export.voided), extra, b"".join(m + b"\n" for m in made))


def results_parts(
    ledger: Ledger,
    *,
    cup: str | None = None,
    as_of: date | None = None,
    known_at: datetime | None = None,
    cells: bool = False,
    parallel: bool = False,
) -> tuple[HeadRef | None, Iterator[ResultsPart]]:
    """``results_chunks`` made ready to write (``ResultsPart``). ``parallel``: a large
    SQLite file's chunks are made by several processes at once (``ledger.parallel``), and
    come out in date order."""
    with ledger.reading() as reader:
        chosen = _chosen(reader, cup, None, as_of, known_at)
    parts, upto = chosen.chunks(), chosen.cut.upto
    path = ledger.chain.file_path() if parallel else None
    processes = 1 if path is None else processes_for_parts(len(parts))
    if path is None or processes == 1:  # one process: no second connection, no pickling
        chunks = _read_chunks(ledger, chosen)
        return chosen.cut.head, (ResultsPart.of(chunk, cells=cells) for chunk in chunks)

    def made(reader: Reader, k: int) -> bytes:
        chunk = _results_chunk(reader, parts[k], upto, chosen.cup)
        return pickle.dumps(ResultsPart.of(chunk, cells=cells))

    pickled = in_order(path, len(parts), lambda: reading_file(path), made, processes)
    return chosen.cut.head, (pickle.loads(part) for part in pickled)  # from forked processes


def _race_cup(reader: Any, cup: tuple[str, str], upto: int) -> str:
    world = reader.fold(reader.season_events([cup[0]], upto))
    spec = world.cup(cup)
    return str(spec.rules.get("of") or cup[1]) if spec is not None else cup[1]


# --- text formats ------------------------------------------------------------------------


def results_text(export: ResultsExport, fmt: ExportFormat) -> str:
    """Results in a format; CSV is exactly the importer's format."""
    columns = export.columns
    cells = (line.csv_cells(columns) for line in export.results)
    if fmt is ExportFormat.csv:
        return delimited(columns, cells)
    if fmt is ExportFormat.markdown:
        return markdown(columns, cells, {1, 4})
    if fmt is ExportFormat.json:
        return json_text(export.results)
    return jsonl_text(export.results)


def write_results(
    parts: Iterable[ResultsPart],
    fmt: ExportFormat,
    out: BinaryIO,
    query: dict[str, Any],
    head: HeadRef | None,
) -> tuple[int, list[str]]:
    """An export's results, a part at a time, to a binary stream: CSV, JSON Lines and
    Markdown as ``results_text`` writes them (parts of cells for CSV and Markdown), JSON as
    the answer (query, head) of ``export results``. Returns how many results were written
    and the voided races left out. JSON and JSON Lines are written as they come; CSV and
    Markdown wait for the last part, since their columns depend on every result, and keep
    the parts meanwhile in a temporary file."""
    voided: list[str] = []
    count = 0
    used: set[str] = set()

    def blocks() -> Iterator[bytes]:
        nonlocal count
        for part in parts:
            voided.extend(part.voided)
            count += part.count
            used.update(part.extra)
            if part.count:
                yield part.lines

    if fmt is ExportFormat.json:
        lines = (line for block in blocks() for line in block.splitlines())
        out.writelines(answer_pieces("export results", query, head, lines))
        return count, voided
    if fmt is ExportFormat.jsonl:
        out.writelines(blocks())
        return count, voided
    with tempfile.TemporaryFile() as spool:
        spool.writelines(blocks())
        extra = RESULT_COLUMNS[6:]  # id, bonus, team: written when some result has one
        columns = (*RESULT_COLUMNS[:6], *(c for c in extra if c in used))
        chosen = [RESULT_COLUMNS.index(c) for c in columns]
        spool.seek(0)
        rows = ([cells[i] for i in chosen] for cells in map(orjson.loads, spool))
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        try:
            if fmt is ExportFormat.csv:
                writer = csv.writer(text, lineterminator="\n")
                writer.writerow(columns)
                writer.writerows([neutralised(c) for c in row] for row in rows)
            else:
                text.write(markdown(columns, [], {1, 4}))
                text.writelines(markdown_row(row) for row in rows)
        finally:
            text.detach()
    return count, voided


STANDINGS_COLUMNS = ("rank", "competitor", "nation", "points")


def standings_text(table: Standings, fmt: ExportFormat) -> str:
    """Standings in a format: CSV like the published tables, JSON as ``ledger standings``."""
    rows = [[r.rank, r.competitor, r.nation, format_points(r.points)] for r in table.standings]
    if fmt is ExportFormat.csv:
        return delimited(STANDINGS_COLUMNS, rows)
    if fmt is ExportFormat.markdown:
        when = f"as of {table.as_of}" if table.as_of else "all races"
        known = f", as known at {table.known_at.isoformat()}" if table.known_at else ""
        title = f"**{table.cup_name}** ({table.season}/{table.cup}), {when}{known}"
        return f"{title}\n\n{markdown(STANDINGS_COLUMNS, rows, {0, 3})}"
    if fmt is ExportFormat.json:
        return json_text(table)
    return jsonl_text(
        {"season": table.season, "cup": table.cup, **row.model_dump()} for row in table.standings
    )


# --- the event log ----------------------------------------------------------------------

EVENT_HEADER = ("position", "recorded_at", "hash", "topic")
# Events read and written at a time. A batch's rows and lines fit in a few of Python's memory
# arenas, which are reused from one batch to the next; at 5,000 each batch freed and took back
# whole arenas, and the page faults of mapping them again cost a third of the export's time.
EVENT_BATCH = 1_000


def _revived(value: Any) -> Any:
    """A stored state's value as archive JSON: a decimal, a date or a time as its exact text
    (stored as the transcoder's {"_type_": ..., "_data_": ...})."""
    if type(value) is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return value["_data_"]  # exact text: a decimal, a date, a time
        return {k: _revived(v) for k, v in value.items()}
    if type(value) is list:
        return [_revived(v) for v in value]
    return value


def event_record(
    position: int, recorded_at: str, digest: str, topic: str, state: bytes
) -> dict[str, Any]:
    """One archived event: its place in the chain, then every field it carries, exactly as
    stored (the library's ``timestamp`` is left out: it is ``recorded_at``)."""
    record: dict[str, Any] = {
        "position": position,
        "recorded_at": rfc3339(parse_recorded_at(recorded_at)),
        "hash": digest,
        "topic": topic,
    }
    for key, value in orjson.loads(state).items():
        if key != "timestamp":
            record[key] = _revived(value)
    return record


# A stored state as the transcoder writes it: the library's timestamp first, and each decimal,
# date or time as {"_type_": ..., "_data_": "text"}, whose text holds no quote. Inside a JSON
# string every quote is escaped, so these can only ever match the transcoder's own objects.
_TIMESTAMP = b'{"timestamp":{"_type_":"'
_TYPED = re.compile(rb'\{"_type_":"[A-Za-z0-9_]+","_data_":(?=")')
_MARK = b"\x01"  # never in JSON text: a control character is always escaped there


def event_lines(
    rows: Sequence[tuple[int, str, str, str, bytes]], moments: dict[str, str] | None = None
) -> list[bytes]:
    """``event_record`` of each (position, recorded_at, hash, topic, state) as one compact
    JSON line (no newline), made from the stored bytes without decoding them: for every state
    the ledger writes, exactly what ``json_bytes(event_record(...), indent=False)`` gives,
    several times faster. ``moments`` caches recorded times as RFC 3339 (they repeat along a
    command). A state in another shape takes the slow way."""
    if not rows:
        return []
    moments = {} if moments is None else moments
    topics: dict[str, str] = {}
    heads: list[str] = []
    bodies: list[bytes] = []
    slow: dict[int, bytes] = {}
    skip = len(_TIMESTAMP)
    for index, (position, recorded_at, digest, topic, state) in enumerate(rows):
        at = moments.get(recorded_at)
        if at is None:
            at = moments[recorded_at] = rfc3339(parse_recorded_at(recorded_at))
        name = topics.get(topic)
        if name is None:
            name = topics[topic] = orjson.dumps(topic).decode()
        heads.append(
            f'{{"position":{position},"recorded_at":"{at}","hash":"{digest}","topic":{name},'
        )
        # The timestamp's text holds no quote: its object ends at the first '"}'.
        cut = state.find(b'"}', skip) if state.startswith(_TIMESTAMP) else -1
        if cut < 0 or state[cut + 2 : cut + 3] != b"," or not state.endswith(b"}"):
            slow[index] = json_bytes(
                event_record(position, recorded_at, digest, topic, state), indent=False
            )
            bodies.append(b"}")
        else:
            bodies.append(state[cut + 3 :])
    # All the states of the batch at once: each typed value's opening replaced by a mark in
    # one pass, then, after each mark, the closing brace that follows its text dropped.
    joined = b"\n".join(bodies)
    if _MARK in joined:  # a damaged state: every line the slow way
        return [
            json_bytes(event_record(p, at, d, t, state), indent=False)
            for p, at, d, t, state in rows
        ]
    marked = _TYPED.sub(_MARK, joined).split(_MARK)
    joined = marked[0] + b"".join([piece.replace(b'"}', b'"', 1) for piece in marked[1:]])
    lines = [head.encode() + body for head, body in zip(heads, joined.split(b"\n"), strict=True)]
    for index, line in slow.items():
        lines[index] = line
    return lines


def stream_event_blocks(
    ledger: Ledger, *, known_at: datetime | None = None, parallel: bool = False
) -> Iterator[bytes]:
    """``stream_event_log`` as JSON lines (``event_lines``), made without decoding, a batch
    at a time: each block is lines joined by line breaks (a JSON line holds none).

    ``parallel``: a large SQLite file's lines are made by several processes at once, each
    over its own stretches of the log (``ledger.parallel``), and come out in log order.
    """
    with ledger.reading() as reader:
        upto = Cut.at(reader, known_at).upto
    block = _event_block()
    path = ledger.chain.file_path()
    processes = processes_for(upto) if parallel and path is not None else 1
    if path is not None and processes > 1:
        yield from filter(None, in_log_order(path, upto, EVENT_BATCH, block, processes))
        return
    for rows in ledger.chain.chain_batches(0, EVENT_BATCH):
        kept = [row for row in rows if row[0] <= upto]
        if kept:
            yield block(kept)
        if len(kept) < len(rows):
            return


def _kept(moments: dict[str, str]) -> dict[str, str]:
    """The cache of recorded times, emptied now and then (they repeat along a command)."""
    if len(moments) > 10_000:
        moments.clear()
    return moments


def _stored(position: int, state: Any) -> bytes:
    """An event's stored state; a chain link without its event is an IntegrityViolation."""
    if state is None:
        raise IntegrityViolation(
            f"position {position}: the chain links an event the log does not hold;"
            " `ledger verify` says what else is wrong"
        )
    return bytes(state)


def _event_block() -> Callable[[Sequence[Any]], bytes]:
    """A stretch of the chain's rows as its JSON lines joined by line breaks."""
    cache: dict[str, str] = {}

    def block(rows: Sequence[Any]) -> bytes:
        batch = [
            (position, recorded_at, digest, topic, _stored(position, state))
            for position, _, _, topic, recorded_at, state, digest, _ in rows
        ]
        return b"\n".join(event_lines(batch, _kept(cache)))

    return block


def write_event_blocks(blocks: Iterable[bytes], fmt: ExportFormat, out: Any) -> int:
    """``write_events`` for lines already made (``stream_event_blocks``), to a binary stream;
    returns how many events were written."""
    if fmt not in (ExportFormat.jsonl, ExportFormat.json):
        raise InputError(f"--format {fmt}: the event log exports as jsonl or json")
    count = 0
    if fmt is ExportFormat.json:
        out.write(b"[")
        for block in blocks:
            out.write(b"\n  " if count == 0 else b",\n  ")
            out.write(block.replace(b"\n", b",\n  "))
            count += block.count(b"\n") + 1
        out.write(b"\n]\n" if count else b"]\n")
        return count
    for block in blocks:
        out.write(block)
        out.write(b"\n")
        count += block.count(b"\n") + 1
    return count


def stream_event_log(
    ledger: Ledger, *, known_at: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Every event in log order, with position, transaction time, chain hash and topic: read
    in batches as it is written out, so memory stays flat whatever the size of the log."""
    with ledger.reading() as reader:
        upto = Cut.at(reader, known_at).upto
    for rows in ledger.chain.chain_batches(0, EVENT_BATCH):
        for position, _, _, topic, recorded_at, state, digest, _ in rows:
            if position > upto:
                return
            yield event_record(position, recorded_at, digest, topic, _stored(position, state))


def write_events(records: Iterable[Mapping[str, Any]], fmt: ExportFormat, out: Any) -> int:
    """Write the event log to a text stream as JSON Lines (for archiving) or one JSON list;
    returns how many events were written."""
    if fmt not in (ExportFormat.jsonl, ExportFormat.json):
        raise InputError(f"--format {fmt}: the event log exports as jsonl or json")
    count = 0
    if fmt is ExportFormat.json:
        out.write("[")
    for record in records:
        line = json_bytes(record, indent=False).decode()
        if fmt is ExportFormat.json:
            out.write(("\n  " if count == 0 else ",\n  ") + line)
        else:
            out.write(line + "\n")
        count += 1
    if fmt is ExportFormat.json:
        out.write("\n]\n" if count else "]\n")
    return count
