"""The past-tense facts the ledger records: one class per kind of event.

Every event is self-contained: who recorded it (``by``), the source document, the command
that wrote it (``command``: the log position of that command's first event), and the context
a reader years later needs without any other lookup (a race's season, id, cup and date; a
competitor's name and nation). Amendments carry their old and their new values, and why.
The library's event ``timestamp`` is the event's transaction time (``recorded_at``).

Topics are stable strings (``results-ledger:ResultRecorded``), independent of module paths.
Version 1 events (ledgers written before competitors had ids and commands were numbered)
are upcast on reading by ``upcast_v1_v2``; a test decodes stored version-1 events.

How each event changes the state of the ledger is written once, in ``ledger.fold``.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import DomainEvent
from eventsourcing.utils import register_topic

from ledger.identity import legacy_competitor_id

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

    Those ledgers' races keep it (events are never rewritten): the write side finds a race's
    id in the read model, whichever it is.
    """
    return uuid5(_NAMESPACE, f"race:{season}/{race}")


def command_uuid(command: int) -> UUID:
    """The aggregate id of the record that a command was reverted."""
    return uuid5(_NAMESPACE, f"command:{command}")


def cup_uuid(season: str, cup: str) -> UUID:
    """The stable aggregate id of a cup (its exclusions and deductions)."""
    return uuid5(_NAMESPACE, f"cup:{season}/{cup}")


def competitor_key(competitor: str, nation: str | None) -> str:
    """A competitor as people write it: name and nation."""
    return f"{competitor} ({nation})" if nation else competitor


class LedgerEvent(DomainEvent):
    """Base of every recorded fact: who recorded it, on what authority, in which command."""

    class_version: ClassVar[int] = 2
    TOPIC: ClassVar[str]
    WHAT: ClassVar[str]  # how the audit trail names it: "recorded", "corrected", ...
    by: str
    source: str | None
    command: int | None

    @property
    def recorded_at(self) -> datetime:
        """The event's transaction time."""
        return self.timestamp

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 events did not number their command (it is inferred from the log)."""
        state["command"] = None


class RaceEvent(LedgerEvent):
    """A fact about one race, carrying the race's context (its date as of this event)."""

    season: str
    race: str
    cup: str
    race_date: date


class ResultEvent(RaceEvent):
    """A fact about one competitor's result in one race."""

    competitor: str
    nation: str | None
    competitor_id: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 results named competitors by name and nation only."""
        state["command"] = None
        state["competitor_id"] = legacy_competitor_id(state["competitor"], state["nation"])


# --- seasons and races --------------------------------------------------------------------


class SeasonDeclared(LedgerEvent):
    """A season, its point tables and its cups were declared."""

    TOPIC = "results-ledger:SeasonDeclared"
    WHAT = "declared"
    season: str
    name: str
    tables: dict[str, list[Decimal]]
    cups: list[dict[str, Any]]

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 tables held whole numbers only."""
        state["command"] = None
        state["tables"] = {k: [Decimal(v) for v in vs] for k, vs in state["tables"].items()}


class RaceScheduled(RaceEvent):
    """A race was scheduled (with the season, or added later), with the table that scores it."""

    TOPIC = "results-ledger:RaceScheduled"
    WHAT = "scheduled"
    table: str
    points: list[Decimal]
    location: str | None
    venue: str | None
    reason: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 races were scheduled with their season only, scored in whole numbers."""
        state["command"] = None
        state["points"] = [Decimal(v) for v in state["points"]]
        state["reason"] = None


class RaceRescheduled(RaceEvent):
    """A race was moved to another date (``race_date`` is the new one)."""

    TOPIC = "results-ledger:RaceRescheduled"
    WHAT = "rescheduled"
    old_date: date
    reason: str


class RaceRetabled(RaceEvent):
    """A race is scored by another of its season's point tables from now on."""

    TOPIC = "results-ledger:RaceRetabled"
    WHAT = "retabled"
    old_table: str
    old_points: list[Decimal]
    table: str
    points: list[Decimal]
    reason: str


class RaceVoided(RaceEvent):
    """A race was annulled: nobody scores from it; its results stay in the history."""

    TOPIC = "results-ledger:RaceVoided"
    WHAT = "voided"
    reason: str


class RaceUnvoided(RaceEvent):
    """A voided race counts again, with its results as they stand."""

    TOPIC = "results-ledger:RaceUnvoided"
    WHAT = "unvoided"
    reason: str


# --- results -------------------------------------------------------------------------------


class ResultRecorded(ResultEvent):
    """A competitor's result in a race was recorded.

    ``competitor`` is the competitor's name as first written (a later spelling that is the
    same text in Unicode names the same competitor); ``athlete_id`` is a federation's own id,
    when the results file gives one; ``bonus`` is points outside the table (a fastest lap),
    ``team`` the competitor's team in that race.
    """

    TOPIC = "results-ledger:ResultRecorded"
    WHAT = "recorded"
    athlete_id: str | None
    place: int | None
    time: Decimal | None
    status: str | None
    bonus: Decimal | None
    team: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 results had no competitor id, federation id, bonus or team."""
        ResultEvent.upcast_v1_v2(state)
        state.update(athlete_id=None, bonus=None, team=None)


class ResultCorrected(ResultEvent):
    """A recorded result was corrected; carries the old and the new values, and why."""

    TOPIC = "results-ledger:ResultCorrected"
    WHAT = "corrected"
    old_place: int | None
    old_time: Decimal | None
    old_status: str | None
    old_bonus: Decimal | None
    old_team: str | None
    place: int | None
    time: Decimal | None
    status: str | None
    bonus: Decimal | None
    team: str | None
    reason: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 corrections had no competitor id, bonus or team."""
        ResultEvent.upcast_v1_v2(state)
        state.update(old_bonus=None, old_team=None, bonus=None, team=None)


class CompetitorDisqualified(ResultEvent):
    """A competitor was disqualified from a race; everyone behind moves up."""

    TOPIC = "results-ledger:CompetitorDisqualified"
    WHAT = "disqualified"
    reason: str


class DisqualificationWithdrawn(ResultEvent):
    """A disqualification was withdrawn (an appeal upheld); the result counts again."""

    TOPIC = "results-ledger:DisqualificationWithdrawn"
    WHAT = "reinstated"
    reason: str


class ResultWithdrawn(ResultEvent):
    """A result recorded in error was taken back: the competitor has no result in the race."""

    TOPIC = "results-ledger:ResultWithdrawn"
    WHAT = "withdrawn"
    old_place: int | None
    old_time: Decimal | None
    old_status: str | None
    old_bonus: Decimal | None
    old_team: str | None
    disqualified: bool
    reason: str


class ResultRestored(ResultEvent):
    """A withdrawn result was given back, with the values it had (reverting a withdrawal)."""

    TOPIC = "results-ledger:ResultRestored"
    WHAT = "restored"
    place: int | None
    time: Decimal | None
    status: str | None
    bonus: Decimal | None
    team: str | None
    disqualified: bool
    reason: str


# --- competitors -----------------------------------------------------------------------------


class CompetitorRenamed(LedgerEvent):
    """Every result held under (old name, old nation) is held under (name, nation) from now on.

    ``merged_into`` is set when another competitor already held the new name: the two are one
    competitor from now on. ``unmerged_from`` is set when this undoes such a merge.
    """

    TOPIC = "results-ledger:CompetitorRenamed"
    WHAT = "renamed"
    competitor_id: str
    old_name: str
    old_nation: str | None
    name: str
    nation: str | None
    merged_into: str | None
    unmerged_from: str | None
    reason: str


# --- cups ------------------------------------------------------------------------------------


class CupEvent(LedgerEvent):
    """A fact about one competitor's standing in one cup."""

    season: str
    cup: str
    competitor_id: str
    competitor: str
    nation: str | None


class CompetitorExcluded(CupEvent):
    """A competitor was removed from a cup's standings (its race results stand)."""

    TOPIC = "results-ledger:CompetitorExcluded"
    WHAT = "excluded"
    reason: str


class CompetitorReadmitted(CupEvent):
    """An exclusion from a cup's standings was lifted."""

    TOPIC = "results-ledger:CompetitorReadmitted"
    WHAT = "readmitted"
    reason: str


class PointsDeducted(CupEvent):
    """Points were deducted from a competitor's total in a cup (a penalty)."""

    TOPIC = "results-ledger:PointsDeducted"
    WHAT = "deducted"
    points: Decimal
    reason: str


class DeductionCancelled(CupEvent):
    """A points deduction (the event at ``deduction``) no longer applies."""

    TOPIC = "results-ledger:DeductionCancelled"
    WHAT = "cancelled deduction"
    deduction: int
    points: Decimal
    reason: str


# --- commands ----------------------------------------------------------------------------


class CommandReverted(LedgerEvent):
    """A whole command (positions ``reverted`` to ``last``) was undone; the events after
    this one, in the same command, compensate each of its events."""

    TOPIC = "results-ledger:CommandReverted"
    WHAT = "reverted"
    reverted: int
    last: int
    reason: str


EVENT_CLASSES: tuple[type[LedgerEvent], ...] = (
    SeasonDeclared,
    RaceScheduled,
    RaceRescheduled,
    RaceRetabled,
    RaceVoided,
    RaceUnvoided,
    ResultRecorded,
    ResultCorrected,
    CompetitorDisqualified,
    DisqualificationWithdrawn,
    ResultWithdrawn,
    ResultRestored,
    CompetitorRenamed,
    CompetitorExcluded,
    CompetitorReadmitted,
    PointsDeducted,
    DeductionCancelled,
    CommandReverted,
)
BY_TOPIC: dict[str, type[LedgerEvent]] = {cls.TOPIC: cls for cls in EVENT_CLASSES}


def _register_stable_topics() -> None:
    for cls in EVENT_CLASSES:
        register_topic(cls.TOPIC, cls)


_register_stable_topics()
