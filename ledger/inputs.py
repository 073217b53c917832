"""Input models: the season TOML and the results CSV of the contract, validated all-or-nothing.

Every error is one line naming the file, the line (or the TOML path) and the field.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
import unicodedata
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from ledger.errors import InputError
from ledger.identity import canonical, written
from ledger.values import (
    MAX_PLACE,
    MAX_TEXT,
    MAX_TIME,
    REQUIRED_COLUMNS,
    RESULT_COLUMNS,
    ParsedRow,
    format_time,
    parse_athlete_id,
    parse_nation,
    parse_place,
    parse_points,
    parse_status,
    parse_time,
    unneutralised,
)

__all__ = [
    "MAX_PLACE",
    "MAX_TEXT",
    "MAX_TIME",
    "RESULT_COLUMNS",
    "ParsedRow",
    "ResultRow",
    "SeasonFile",
    "format_time",
    "load_results",
    "load_season",
    "parse_nation",
    "parse_place",
    "parse_results",
    "parse_season",
    "parse_status",
    "parse_time",
]

Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
]
# Control, format (BOM, zero-width), separator-line, private-use and unassigned characters:
# invisible in a table, they would make two names that look alike different competitors.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def visible(text: str) -> str:
    """Text without invisible or control characters (a BOM, a zero-width space, a newline)."""
    if text.isprintable():
        # Python's "printable" excludes every category in _INVISIBLE (and all spacing but
        # " "): the common case needs no look-up per character.
        return text
    for char in text:
        if unicodedata.category(char) in _INVISIBLE:
            raise ValueError(f"contains an invisible or control character (U+{ord(char):04X})")
    return text


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT),
    AfterValidator(visible),
]


def _competitor(value: str) -> str:
    name = written(value)
    if not name:
        raise ValueError("may not be empty")
    if len(name) > MAX_TEXT:
        raise ValueError(f"String should have at most {MAX_TEXT} characters")
    return name


Name = Annotated[str, AfterValidator(_competitor)]
"""A competitor's name: invisible characters dropped, spacing made single (see ``written``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --- Season file ---------------------------------------------------------------------------


class SeasonHeader(_Strict):
    """The [season] table."""

    id: Slug
    name: Text


TieBreak = Literal["countback", "places", "places-counted", "first-to-score"]
Count = Annotated[int, Field(ge=1, le=1000, strict=True)]


class PartSpec(_Strict):
    """One part of a cup's calendar: its next ``races`` races, of which the best ``best`` count."""

    races: Annotated[int, Field(ge=1, le=10_000, strict=True)] | None = None
    best: Count | None = None


class CupSpec(_Strict):
    """One [[cups]] entry."""

    id: Slug
    name: Text
    best: Count | None = None
    parts: Annotated[list[PartSpec], Field(min_length=1, max_length=1000)] | None = None
    tiebreak: Annotated[list[TieBreak], Field(max_length=10)] | None = None
    of: Slug | None = None
    teams: Annotated[bool, Field(strict=True)] | None = None
    per_race: Count | None = None
    table: Slug | None = None
    bonus: Annotated[bool, Field(strict=True)] | None = None


class RaceSpec(_Strict):
    """One [[races]] entry."""

    id: Slug
    cup: Slug
    date: Annotated[date, Field(strict=True)]
    table: Slug
    location: Text | None = None
    venue: Text | None = None


def _number(value: Any) -> Any:
    """A table's entry as a Decimal: an integer or an exact decimal, never a bool or text."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("Input should be a number (an integer or a decimal such as 12.5)")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError("Input should be a finite number")
    # -0.0 is 0: a table shows no sign on zero.
    return Decimal(value) if value else Decimal(0)


Point = Annotated[Decimal, BeforeValidator(_number), Field(ge=0, le=10**9, decimal_places=6)]
PointTable = Annotated[list[Point], Field(min_length=1, max_length=10_000)]


class SeasonFile(_Strict):
    """A whole season file: header, point tables, cups and races."""

    season: SeasonHeader
    tables: dict[Slug, PointTable]
    cups: Annotated[list[CupSpec], Field(min_length=1)]
    races: list[RaceSpec] = []

    @model_validator(mode="after")
    def _references_resolve(self) -> SeasonFile:
        _unique("cups", [c.id for c in self.cups])
        _unique("races", [r.id for r in self.races])
        cups = {c.id: c for c in self.cups}
        for index, race in enumerate(self.races):
            if race.cup not in cups:
                raise ValueError(
                    f"races[{index}] ({race.id}): cup {race.cup!r} is not declared"
                    f" (cups: {', '.join(sorted(cups))})"
                )
            if race.table not in self.tables:
                raise ValueError(
                    f"races[{index}] ({race.id}): table {race.table!r} is not declared"
                    f" (tables: {', '.join(sorted(self.tables))})"
                )
            of = cups[race.cup].of
            if of is not None:
                raise ValueError(
                    f"races[{index}] ({race.id}): cup {race.cup!r} is a team cup over {of!r}"
                    f" and scores its races; schedule the race in {of!r}"
                )
        for index, cup in enumerate(self.cups):
            _cup_references_resolve(f"cups[{index}]", cup, cups, self)
        return self


def _cup_references_resolve(
    where: str, cup: CupSpec, cups: dict[str, CupSpec], season: SeasonFile
) -> None:
    """A cup's rules fit together, name cups and tables that exist, and fit its races."""

    def refuse(field: str, message: str) -> ValueError:
        return ValueError(f"{where}.{field} ({cup.id}): {message}")

    if cup.best is not None and cup.parts is not None:
        raise refuse("parts", "best and parts exclude each other: give one of them")
    for index, rule in enumerate(cup.tiebreak or []):
        if rule in (cup.tiebreak or [])[:index]:
            raise refuse(f"tiebreak[{index}]", f"{rule!r} is already in the list")
    if cup.of is not None and not cup.teams:
        raise refuse("of", "a cup over another cup's races is a team cup: add teams = true")
    if cup.teams and cup.of is None:
        raise refuse("teams", 'a team cup needs of = "CUP", the cup whose races it scores')
    if not cup.teams:
        for field in ("per_race", "table", "bonus"):
            if getattr(cup, field) is not None:
                raise refuse(field, f"only a team cup (teams = true) takes {field}")
    if cup.of is not None:
        other = cups.get(cup.of)
        if cup.of == cup.id:
            raise refuse("of", "a team cup is over another cup, not over itself")
        if other is None:
            raise refuse("of", f"cup {cup.of!r} is not declared (cups: {', '.join(sorted(cups))})")
        if other.of is not None:
            raise refuse(
                "of",
                f"cup {cup.of!r} is itself a team cup; a team cup is over a cup of competitors",
            )
    if cup.table is not None and cup.table not in season.tables:
        raise refuse(
            "table",
            f"table {cup.table!r} is not declared (tables: {', '.join(sorted(season.tables))})",
        )
    if cup.parts is None:
        return
    for index, part in enumerate(cup.parts):
        if part.races is None and index < len(cup.parts) - 1:
            raise refuse(f"parts[{index}].races", "required (only the last part may omit it)")
        if part.races is not None and part.best is not None and part.best > part.races:
            raise refuse(
                f"parts[{index}].best", f"{part.best} is more than the part's {part.races} races"
            )
    scored = cup.of or cup.id
    scheduled = sum(1 for race in season.races if race.cup == scored)
    explicit = sum(part.races or 0 for part in cup.parts)
    if explicit > scheduled:
        raise refuse(
            "parts",
            f"the parts add up to {explicit} races, but the season schedules {scheduled}"
            f" for {scored!r}",
        )


def _unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if item in seen:
            raise ValueError(f"{what}[{index}]: duplicate id {item!r}")
        seen.add(item)


def _describe(error: ValidationError, data: Any = None) -> str:
    first = error.errors(include_url=False)[0]
    path = ""
    for part in first["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        # A key that is not a plain word is quoted, so the message stays on one line.
        key = str(part) if re.fullmatch(r"[A-Za-z0-9_-]+", str(part)) else repr(str(part))
        path += f".{key}" if path else key
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    if first["type"] == "missing":
        message = "required key is missing"
    return f"{path}: {message}" if path else message


def read_text(path: Path) -> str:
    """A file's text, as UTF-8 (a byte-order mark is allowed), or an InputError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(
            f"{path}, line {line}: not UTF-8 text (byte 0x{raw[e.start]:02x});"
            " save the file as UTF-8"
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(f"{path}, line {line}: contains a NUL byte; this is not a text file")
    return text


def parse_season(text: str, name: str = "season file") -> SeasonFile:
    """Validate a season file's text."""
    try:
        # Points may be decimals (12.5): read them exactly, never as floats.
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{name}: not valid TOML: {e}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        raise InputError(f"{name}: not a season file: values nested too deeply") from None
    try:
        return SeasonFile.model_validate(data)
    except ValidationError as e:
        raise InputError(f"{name}: {_describe(e)}") from None
    except RecursionError:
        raise InputError(f"{name}: not a season file: values nested too deeply") from None


def load_season(path: Path) -> SeasonFile:
    """Read and validate a season file."""
    return parse_season(read_text(path), str(path))


# --- Results file --------------------------------------------------------------------------


class ResultRow(_Strict):
    """One row of a results file, validated."""

    line: int
    race: Text
    competitor: Name
    nation: str | None = None
    place: int | None = None
    time: Decimal | None = None
    status: str | None = None
    athlete_id: str | None = Field(default=None, alias="id")
    bonus: Decimal | None = None
    team: Text | None = None

    @field_validator("race", mode="before")
    @classmethod
    def _race_is_an_id(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.match(
            r"^([A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$", value.strip()
        ):
            raise ValueError("a race id such as CAL1-A (or SEASON/CAL1-A)")
        return value

    @model_validator(mode="after")
    def _place_or_status(self) -> ResultRow:
        if self.place is None and self.status is None:
            raise ValueError("place is required unless status is DNF, DNS or DQ")
        return self

    def to_parsed(self) -> ParsedRow:
        """The row as recording it takes it."""
        return ParsedRow(
            self.line,
            self.race,
            self.competitor,
            self.nation,
            self.place,
            self.time,
            self.status,
            self.athlete_id,
            self.bonus,
            self.team,
        )


_RACE_ID = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*")

_FIELD_PARSERS: dict[str, Callable[[str], Any]] = {
    "place": parse_place,
    "time": parse_time,
    "status": parse_status,
    "nation": parse_nation,
    "id": parse_athlete_id,
    "bonus": parse_points,
}
# The order of a ParsedRow's fields after its line number, as the file's columns name them.
_LINE_FIELDS = tuple("id" if f == "athlete_id" else f for f in ParsedRow._fields[1:])
_EXTRA_FIELDS = ("id", "bonus", "team")

_UNSEEN = object()
_INVALID = object()
_new = tuple.__new__

PlainReader = Callable[[int, list[str]], ParsedRow | None]


def _parsed(parser: Callable[[str], Any], cell: str) -> Any:
    """A cell's value: None when blank, _INVALID when the parser refuses it."""
    if not cell.strip():
        return None
    try:
        return parser(cell)
    except ValueError:
        return _INVALID


def _plain_reader(columns: list[str]) -> PlainReader:
    """A reader of the rows that are plainly valid, for a file with these columns.

    A file of thousands of rows is mostly plain: a race id, a printable name with nothing
    to strip, a place or a status, and values the parsers accept. The reader gives such a
    row's ParsedRow, exactly what validating it with ``ResultRow`` gives, and None for
    any other row (a blank line, whitespace to strip, an invisible character, an empty or
    overlong value, a value refused, no place and no status), which ``_checked_line``
    then accepts or words the error for.

    Places, nations, statuses and many times repeat down a file: each distinct cell of a
    column is parsed once (the parsers are pure, their values immutable).
    """
    width = len(columns)
    # Where each field's cell is; a column the file lacks reads as an empty cell.
    pick = itemgetter(*(columns.index(f) if f in columns else width for f in _LINE_FIELDS))
    padded = not set(_LINE_FIELDS) <= set(columns)
    nations: dict[str, Any] = {}
    places: dict[str, Any] = {}
    times: dict[str, Any] = {}
    statuses: dict[str, Any] = {}
    athletes: dict[str, Any] = {}
    bonuses: dict[str, Any] = {}
    races: dict[str, bool] = {}
    is_race_id = _RACE_ID.fullmatch

    def plain(line: int, cells: list[str]) -> ParsedRow | None:
        if len(cells) != width:
            return None
        race, competitor, nation, place, time, status, athlete, bonus, team = pick(
            [*cells, ""] if padded else cells
        )
        if (known := nations.get(nation, _UNSEEN)) is _UNSEEN:
            known = nations[nation] = _parsed(parse_nation, nation)
        nation = known
        if (known := places.get(place, _UNSEEN)) is _UNSEEN:
            known = places[place] = _parsed(parse_place, place)
        place = known
        if (known := times.get(time, _UNSEEN)) is _UNSEEN:
            known = times[time] = _parsed(parse_time, time)
        time = known
        if (known := statuses.get(status, _UNSEEN)) is _UNSEEN:
            known = statuses[status] = _parsed(parse_status, status)
        status = known
        if athlete:
            if (known := athletes.get(athlete, _UNSEEN)) is _UNSEEN:
                known = athletes[athlete] = _parsed(parse_athlete_id, athlete)
            athlete = known
        else:
            athlete = None
        if bonus:
            if (known := bonuses.get(bonus, _UNSEEN)) is _UNSEEN:
                known = bonuses[bonus] = _parsed(parse_points, bonus)
            bonus = known
        else:
            bonus = None
        if team and not (
            len(team) <= MAX_TEXT and team.isprintable() and team[0] != " " and team[-1] != " "
        ):
            return None
        if (race_ok := races.get(race)) is None:
            race_ok = races[race] = len(race) <= MAX_TEXT and is_race_id(race) is not None
        if (
            race_ok
            and 0 < len(competitor) <= MAX_TEXT
            and competitor.isprintable()  # nothing invisible, no spacing but " "
            and competitor[0] != " "
            and competitor[-1] != " "
            and (place is not None or status is not None)
            and _INVALID not in (nation, place, time, status, athlete, bonus)
        ):
            return _new(
                ParsedRow,
                (line, race, competitor, nation, place, time, status, athlete, bonus, team or None),
            )
        return None

    return plain


def _checked_line(name: str, line: int, cells: list[str], columns: list[str]) -> ParsedRow:
    """A row that is not plainly valid, validated by ``ResultRow``: its line, or an
    InputError naming the line and the first field (in the file's order) at fault."""
    if len(cells) != len(columns):
        raise InputError(f"{name}, line {line}: expected {len(columns)} fields, found {len(cells)}")
    values: dict[str, Any] = {"line": line}
    for column, cell in zip(columns, cells, strict=True):
        parser = _FIELD_PARSERS.get(column)
        if parser is None:
            if column in _EXTRA_FIELDS and not cell.strip():
                continue  # an empty team is no team
            values[column] = cell
        elif cell.strip():
            try:
                values[column] = parser(cell)
            except ValueError as e:
                raise InputError(
                    f"{name}, line {line}, field {column}: {e} (got {cell.strip()!r})"
                ) from None
    try:
        return ResultRow.model_validate(values).to_parsed()
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        field = first["loc"][0] if first["loc"] else "row"
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "string_too_short":
            message = "may not be empty"
        raise InputError(f"{name}, line {line}, field {field}: {message}") from None


def parse_results(text: str, name: str = "results file") -> list[ParsedRow]:
    """Validate a results file's text: every row, or an InputError naming line and field."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise InputError(f"{name}, line 1: not valid CSV ({e})") from None
    if header is None or not any(cell.strip() for cell in header):
        raise InputError(
            f"{name}: empty file; the first line must be the header {','.join(RESULT_COLUMNS)}"
        )
    columns = [cell.strip().lower() for cell in header]
    for column in columns:
        if column not in RESULT_COLUMNS:
            raise InputError(
                f"{name}, line 1: unknown column {column!r} (columns: {', '.join(RESULT_COLUMNS)})"
            )
        if columns.count(column) > 1:
            raise InputError(f"{name}, line 1: column {column!r} appears twice")
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            raise InputError(f"{name}, line 1: required column {column!r} is missing")

    plain = _plain_reader(columns)
    quoted = "'" in text  # most files have no apostrophe at all: no row needs looking at
    rows: list[ParsedRow] = []
    seen: dict[tuple[str, str, str | None], int] = {}
    try:
        while True:
            # A quoted field may span lines: name the line the row starts on.
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if quoted and any(c[:1] == "'" for c in cells):  # a cell an export neutralised
                cells = [unneutralised(c) for c in cells]
            row = plain(line, cells)
            if row is None:
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                row = _checked_line(name, line, cells, columns)
            # The same text in Unicode is the same competitor: 'Chloé' composed or not.
            key = (row.race, canonical(row.competitor), row.nation)
            if key in seen:
                raise InputError(
                    f"{name}, line {line}: {row.competitor} has a second row for {row.race}"
                    f" (first on line {seen[key]})"
                )
            seen[key] = line
            rows.append(row)
    except csv.Error as e:
        raise InputError(f"{name}, line {reader.line_num}: not valid CSV ({e})") from None
    if not rows:
        raise InputError(f"{name}: no result rows after the header")
    return rows


def load_results(path: Path) -> list[ParsedRow]:
    """Read and validate a results file."""
    return parse_results(read_text(path), str(path))
