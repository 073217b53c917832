"""Aggregates and their past-tense events: the facts the ledger records.

Every event is self-contained: it carries who recorded it (``by``), the optional source
document, and the race context (season, race, cup and race date) so that a reader years
later, or a projection, needs no other lookup. The library's event ``timestamp`` is the
event's transaction time (``recorded_at``).

Topics are stable strings (``results-ledger:ResultRecorded``), independent of module paths,
and every event class has ``class_version = 1`` so that upcasters can be added later.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

from ledger.errors import DuplicateError, StateError

STATUSES = ("DNF", "DNS", "DQ")

_NAMESPACE = uuid5(NAMESPACE_URL, "https://results-ledger.org/ids")


@functools.cache
def season_uuid(season: str) -> UUID:
    """The stable aggregate id of a season, from its slug."""
    return uuid5(_NAMESPACE, f"season:{season}")


def race_uuid(season: str, race: str) -> UUID:
    """The stable aggregate id of a race: its season's id's first half, then its own hash.

    The races of a season share a prefix, so their events sit together in the store's index
    of (aggregate id, version): a file of results for a season's races adds to one stretch
    of that index, not to a page at random per race (about 40% fewer pages written).
    """
    own = uuid5(_NAMESPACE, f"race:{season}/{race}")
    return UUID(bytes=season_uuid(season).bytes[:8] + own.bytes[8:])


def legacy_race_uuid(season: str, race: str) -> UUID:
    """The id ledgers gave a race before ``race_uuid`` kept a season's races together.

    Those ledgers' races keep it (events are never rewritten): the write side looks a race
    up by either id. The two can't meet: a season's races are all scheduled with it.
    """
    return uuid5(_NAMESPACE, f"race:{season}/{race}")


def competitor_key(competitor: str, nation: str | None) -> str:
    """How a competitor is identified in a race: name and nation."""
    return f"{competitor} ({nation})" if nation else competitor


class LedgerEvent(Aggregate.Event):
    """Base of every recorded fact: who recorded it and on what authority."""

    class_version: ClassVar[int] = 1
    by: str
    source: str | None

    @property
    def recorded_at(self) -> datetime:
        """The event's transaction time."""
        return self.timestamp


class RaceEvent(LedgerEvent):
    """A fact about one race, carrying the race's context."""

    season: str
    race: str
    cup: str
    race_date: date


class ResultEvent(RaceEvent):
    """A fact about one competitor's result in one race."""

    competitor: str
    nation: str | None


# --- Season -------------------------------------------------------------------------------


class SeasonDeclared(Aggregate.Created, LedgerEvent):
    """A season, its point tables and its cups were declared."""

    TOPIC = "results-ledger:SeasonDeclared"
    season: str
    name: str
    tables: dict[str, list[int]]
    cups: list[dict[str, Any]]


class Season(Aggregate):
    """A season: its point tables and cups. Races are aggregates of their own."""

    def __init__(
        self,
        season: str,
        name: str,
        tables: dict[str, list[int]],
        cups: list[dict[str, Any]],
        by: str,
        source: str | None,
    ) -> None:
        self.season = season
        self.name = name
        self.tables = tables
        self.cups = cups

    @classmethod
    def declare(
        cls,
        *,
        season: str,
        name: str,
        tables: dict[str, list[int]],
        cups: list[dict[str, Any]],
        by: str,
        source: str | None,
        timestamp: datetime,
    ) -> Season:
        """Declare a new season."""
        return cls._create(
            SeasonDeclared,
            id=season_uuid(season),
            season=season,
            name=name,
            tables=tables,
            cups=cups,
            by=by,
            source=source,
            timestamp=timestamp,
        )


# --- Race ---------------------------------------------------------------------------------


class RaceScheduled(Aggregate.Created, RaceEvent):
    """A race was scheduled, with the point table that scores it."""

    TOPIC = "results-ledger:RaceScheduled"
    table: str
    points: list[int]
    location: str | None
    venue: str | None


class ResultRecorded(ResultEvent):
    """A competitor's result in a race was recorded."""

    TOPIC = "results-ledger:ResultRecorded"
    place: int | None
    time: Decimal | None
    status: str | None

    def apply(self, aggregate: Any) -> None:
        """Add the result to the race."""
        aggregate.results[competitor_key(self.competitor, self.nation)] = Entry(
            self.competitor, self.nation, self.place, self.time, self.status
        )


class ResultCorrected(ResultEvent):
    """A recorded result was corrected; carries the old and the new values, and why."""

    TOPIC = "results-ledger:ResultCorrected"
    old_place: int | None
    old_time: Decimal | None
    old_status: str | None
    place: int | None
    time: Decimal | None
    status: str | None
    reason: str

    def apply(self, aggregate: Any) -> None:
        """Replace the result's values."""
        entry = aggregate.results[competitor_key(self.competitor, self.nation)]
        entry.place, entry.time, entry.status = self.place, self.time, self.status


class CompetitorDisqualified(ResultEvent):
    """A competitor was disqualified from a race; everyone behind moves up."""

    TOPIC = "results-ledger:CompetitorDisqualified"
    reason: str

    def apply(self, aggregate: Any) -> None:
        """Mark the competitor disqualified."""
        aggregate.results[competitor_key(self.competitor, self.nation)].disqualified = True


class DisqualificationWithdrawn(ResultEvent):
    """A disqualification was withdrawn (an appeal upheld); the result counts again."""

    TOPIC = "results-ledger:DisqualificationWithdrawn"
    reason: str

    def apply(self, aggregate: Any) -> None:
        """Clear the disqualification."""
        aggregate.results[competitor_key(self.competitor, self.nation)].disqualified = False


class RaceVoided(RaceEvent):
    """A race was annulled: nobody scores from it; its results stay in the history."""

    TOPIC = "results-ledger:RaceVoided"
    reason: str

    def apply(self, aggregate: Any) -> None:
        """Mark the race void."""
        aggregate.voided = True


class Entry:
    """A competitor's current result in a race, as the write side sees it."""

    __slots__ = ("competitor", "disqualified", "nation", "place", "status", "time")

    def __init__(
        self,
        competitor: str,
        nation: str | None,
        place: int | None,
        time: Decimal | None,
        status: str | None,
    ) -> None:
        self.competitor = competitor
        self.nation = nation
        self.place = place
        self.time = time
        self.status = status
        self.disqualified = False


class Race(Aggregate):
    """A scheduled race and the results recorded, corrected and disqualified in it."""

    def __init__(
        self,
        season: str,
        race: str,
        cup: str,
        race_date: date,
        table: str,
        points: list[int],
        location: str | None,
        venue: str | None,
        by: str,
        source: str | None,
    ) -> None:
        self.season = season
        self.race = race
        self.cup = cup
        self.race_date = race_date
        self.table = table
        self.points = points
        self.location = location
        self.venue = venue
        self.voided = False
        self.results: dict[str, Entry] = {}

    @classmethod
    def schedule(
        cls,
        *,
        season: str,
        race: str,
        cup: str,
        race_date: date,
        table: str,
        points: list[int],
        location: str | None,
        venue: str | None,
        by: str,
        source: str | None,
        timestamp: datetime,
    ) -> Race:
        """Schedule a new race."""
        return cls._create(
            RaceScheduled,
            id=race_uuid(season, race),
            season=season,
            race=race,
            cup=cup,
            race_date=race_date,
            table=table,
            points=points,
            location=location,
            venue=venue,
            by=by,
            source=source,
            timestamp=timestamp,
        )

    @property
    def label(self) -> str:
        """The race's qualified id, as users type it."""
        return f"{self.season}/{self.race}"

    def _context(self) -> dict[str, Any]:
        return {
            "season": self.season,
            "race": self.race,
            "cup": self.cup,
            "race_date": self.race_date,
        }

    def entry(self, competitor: str, nation: str | None) -> Entry | None:
        """The competitor's current result, if any."""
        return self.results.get(competitor_key(competitor, nation))

    def second_result(self, who: str) -> DuplicateError:
        """The error for a competitor who already has a result in this race."""
        return DuplicateError(
            f"{self.label}: {who} already has a result; use `ledger correct` to change it"
        )

    def record_result(
        self,
        *,
        competitor: str,
        nation: str | None,
        place: int | None,
        time: Decimal | None,
        status: str | None,
        by: str,
        source: str | None,
        timestamp: datetime,
    ) -> None:
        """Record a competitor's result; a second result for the same competitor is refused."""
        if self.entry(competitor, nation) is not None:
            raise self.second_result(competitor_key(competitor, nation))
        self._trigger(
            ResultRecorded,
            **self._context(),
            competitor=competitor,
            nation=nation,
            place=place,
            time=time,
            status=status,
            by=by,
            source=source,
            timestamp=timestamp,
        )

    def _trigger(self, event_class: type[RaceEvent], **fields: Any) -> None:
        """``trigger_event`` for a bulk import: the same event, built without ``__init__``.

        The event's ``__dict__`` is filled in the dataclass's field order, as ``__init__``
        would fill it (the stored JSON keeps that order), the way the library's own decoder
        builds events; then the library's ``mutate`` checks and applies it as usual.
        """
        fields["originator_id"] = self.id
        fields["originator_version"] = self.version + 1
        if fields.get("timestamp") is None:
            fields["timestamp"] = event_class.create_timestamp()
        event = object.__new__(event_class)
        object.__setattr__(event, "__dict__", {name: fields[name] for name in _fields(event_class)})
        event.mutate(self)
        self._pending_events.append(event)

    def _require_entry(self, competitor: str, nation: str | None) -> Entry:
        entry = self.entry(competitor, nation)
        if entry is None:
            who = competitor_key(competitor, nation)
            raise StateError(
                f"{self.label}: {who} has no result to change; use `ledger record` to add one"
            )
        return entry

    def correct_result(
        self,
        *,
        competitor: str,
        nation: str | None,
        place: int | None,
        time: Decimal | None,
        status: str | None,
        reason: str,
        by: str,
        source: str | None,
        timestamp: datetime,
    ) -> None:
        """Correct a recorded result to the given (complete) values."""
        entry = self._require_entry(competitor, nation)
        if (entry.place, entry.time, entry.status) == (place, time, status):
            raise StateError(
                f"{self.label}: {competitor_key(competitor, nation)} already has these values;"
                " nothing to correct"
            )
        self.trigger_event(
            ResultCorrected,
            **self._context(),
            competitor=competitor,
            nation=nation,
            old_place=entry.place,
            old_time=entry.time,
            old_status=entry.status,
            place=place,
            time=time,
            status=status,
            reason=reason,
            by=by,
            source=source,
            timestamp=timestamp,
        )

    def disqualify(
        self,
        *,
        competitor: str,
        nation: str | None,
        reason: str,
        by: str,
        source: str | None,
        timestamp: datetime,
    ) -> None:
        """Disqualify a competitor; disqualifying twice is refused."""
        if self._require_entry(competitor, nation).disqualified:
            raise DuplicateError(
                f"{self.label}: {competitor_key(competitor, nation)} is already disqualified"
            )
        self.trigger_event(
            CompetitorDisqualified,
            **self._context(),
            competitor=competitor,
            nation=nation,
            reason=reason,
            by=by,
            source=source,
            timestamp=timestamp,
        )

    def reinstate(
        self,
        *,
        competitor: str,
        nation: str | None,
        reason: str,
        by: str,
        source: str | None,
        timestamp: datetime,
    ) -> None:
        """Withdraw a disqualification; refused if the competitor is not disqualified."""
        if not self._require_entry(competitor, nation).disqualified:
            raise StateError(
                f"{self.label}: {competitor_key(competitor, nation)} is not disqualified;"
                " nothing to reinstate"
            )
        self.trigger_event(
            DisqualificationWithdrawn,
            **self._context(),
            competitor=competitor,
            nation=nation,
            reason=reason,
            by=by,
            source=source,
            timestamp=timestamp,
        )

    def void(self, *, reason: str, by: str, source: str | None, timestamp: datetime) -> None:
        """Annul the race; voiding twice is refused."""
        if self.voided:
            raise DuplicateError(f"{self.label} is already void")
        self.trigger_event(
            RaceVoided,
            **self._context(),
            reason=reason,
            by=by,
            source=source,
            timestamp=timestamp,
        )


@functools.cache
def _fields(event_class: type[RaceEvent]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(event_class))


def _register_stable_topics() -> None:
    # Declaring TOPIC in an aggregate's body makes the library demand topics for the base
    # classes it generates; setting it afterwards keeps stored topics independent of module
    # paths without that ceremony.
    Season.TOPIC = "results-ledger:Season"  # type: ignore[attr-defined]
    Race.TOPIC = "results-ledger:Race"  # type: ignore[attr-defined]
    classes: tuple[type, ...] = (Season, Race, *EVENT_CLASSES)
    for cls in classes:
        register_topic(getattr(cls, "TOPIC"), cls)  # noqa: B009


EVENT_CLASSES: tuple[type[LedgerEvent], ...] = (
    SeasonDeclared,
    RaceScheduled,
    ResultRecorded,
    ResultCorrected,
    CompetitorDisqualified,
    DisqualificationWithdrawn,
    RaceVoided,
)


_register_stable_topics()
