"""Reverting a command: new events that compensate each of its events, never a deletion.

A command's events are read back; each one touched a *subject* (a competitor's result in a
race, a race's date, table or voiding, a competitor's name, an exclusion, a deduction). If an
event recorded after the command touched one of those subjects, the revert is refused, naming
that event: the later change would otherwise be silently undone or contradicted (revert it
first). Otherwise the subjects stand exactly as the command left them, and each event gets its
opposite: a recorded result is withdrawn, a correction is corrected back, a disqualification is
withdrawn, a withdrawn result is restored, a date or table is set back, a rename is renamed
back (and a merge undone), an exclusion lifted, a deduction cancelled. Declarations (a season,
a scheduled race) cannot be reverted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from ledger.errors import StateError
from ledger.events import (
    CommandReverted,
    CompetitorDisqualified,
    CompetitorExcluded,
    CompetitorReadmitted,
    CompetitorRenamed,
    CupEvent,
    DeductionCancelled,
    DisqualificationWithdrawn,
    LedgerEvent,
    PointsDeducted,
    RaceEvent,
    RaceRescheduled,
    RaceRetabled,
    RaceScheduled,
    RaceUnvoided,
    RaceVoided,
    ResultCorrected,
    ResultEvent,
    ResultRecorded,
    ResultRestored,
    ResultWithdrawn,
    SeasonDeclared,
    command_uuid,
    competitor_key,
)
from ledger.reader import Command, Positioned, Reader

Subject = tuple[Any, ...]

_VALUES = ("place", "time", "status", "bonus", "team")


def subjects(position: int, event: LedgerEvent) -> set[Subject]:
    """What an event changed, for telling whether a later event changed it again."""
    if isinstance(event, ResultEvent):
        return {("result", event.season, event.race, event.competitor_id)}
    if isinstance(event, RaceVoided | RaceUnvoided):
        return {("void", event.season, event.race)}
    if isinstance(event, RaceRescheduled):
        return {("date", event.season, event.race)}
    if isinstance(event, RaceRetabled):
        return {("table", event.season, event.race)}
    if isinstance(event, CompetitorRenamed):
        others = {event.merged_into, event.unmerged_from} - {None}
        return {("name", event.competitor_id)} | {("name", other) for other in others}
    if isinstance(event, CompetitorExcluded | CompetitorReadmitted):
        return {("excluded", event.season, event.cup, event.competitor_id)}
    if isinstance(event, PointsDeducted):
        return {("deduction", position)}
    if isinstance(event, DeductionCancelled):
        return {("deduction", event.deduction)}
    if isinstance(event, CommandReverted):
        return {("command", event.reverted)}
    return set()


def _describe(event: LedgerEvent) -> str:
    if isinstance(event, ResultEvent):
        who = competitor_key(event.competitor, event.nation)
        return f"{event.WHAT} {event.season}/{event.race} {who}"
    if isinstance(event, RaceEvent):
        return f"{event.WHAT} {event.season}/{event.race}"
    if isinstance(event, CompetitorRenamed):
        return f"{event.WHAT} {competitor_key(event.old_name, event.old_nation)}"
    if isinstance(event, CupEvent):
        return f"{event.WHAT} {competitor_key(event.competitor, event.nation)} in {event.cup}"
    return event.WHAT


def compensate(
    reader: Reader, meta: Any, command: Command, why: str, draft_of: Callable[..., Any]
) -> Any:
    """The events that undo ``command``, decided against the ledger at its head."""
    upto = meta.command - 1
    events = reader.events("f.position >= ? AND f.position <= ?", (command.command, command.last))
    for position, event in events:
        if isinstance(event, SeasonDeclared | RaceScheduled):
            raise StateError(
                f"position {position}: {event.WHAT} {event.season}"
                f"{'/' + event.race if isinstance(event, RaceScheduled) else ''} is a declaration,"
                " which cannot be reverted (void a race instead)"
            )
    touched = set().union(*(subjects(p, e) for p, e in events))
    world, seen = _state(reader, events, upto)
    later = [(p, e) for p, e in seen if p > command.last and subjects(p, e) & touched]
    undone = _undone(reader, {e.command or p for p, e in later}, upto)
    for position, event in later:
        if (event.command or position) not in undone:
            raise StateError(
                f"position {position} ({_describe(event)}, recorded after command"
                f" #{command.command}) changed the same thing; revert it first"
            )
    for position, event in events:
        if isinstance(event, CompetitorRenamed):
            holder = reader.label_holder(event.old_name, event.old_nation)
            mine = {event.competitor_id, event.unmerged_from}
            if holder is not None and holder.competitor_id not in mine:
                raise StateError(
                    f"position {position}: {competitor_key(event.old_name, event.old_nation)}"
                    " is another competitor's name since; rename that one first"
                )
    draft = draft_of(reader, meta, world)
    draft.add(
        CommandReverted,
        command_uuid(command.command),
        reverted=command.command,
        last=command.last,
        reason=why,
    )
    for position, event in reversed(events):
        _opposite(draft, position, event, why)
    return draft.built()


def _undone(reader: Reader, commands: set[int], upto: int) -> set[int]:
    """Which of these commands no longer count: reverted by a revert that still stands, and
    those reverts themselves (a change and its undoing cancel out; a revert reverted in turn
    leaves the change standing)."""
    reverter = reader.reverts_of(commands, upto)
    cancelled: dict[int, bool] = {}

    def is_cancelled(command: int, depth: int = 0) -> bool:
        if command not in cancelled:
            by = reverter.get(command)
            cancelled[command] = by is not None and depth < 50 and not is_cancelled(by, depth + 1)
        return cancelled[command]

    gone = {c for c in commands if is_cancelled(c)}
    return gone | {reverter[c] for c in gone}


def _state(reader: Reader, events: list[Positioned], upto: int) -> tuple[Any, list[Positioned]]:
    """The state of everything the command touched, at the head, and every event that
    touched it (before and after the command)."""
    races = {(e.season, e.race) for _, e in events if isinstance(e, RaceEvent)}
    keys = [k for race in races if (k := reader.race_key(race)) is not None]
    race_events = reader.race_events(keys, upto)
    ids = {i for _, e in [*events, *race_events] for i in _competitor_ids(e)}
    competitors = reader.competitor_keys(ids).values()
    renames = reader.renames(competitors, upto)
    cups = {(e.season, e.cup) for _, e in events if isinstance(e, CupEvent)}
    cup_events: list[Positioned] = []
    for cup in cups:
        key = reader.cup_key(cup)
        if key is not None:
            cup_events += reader.events("f.cup = ? AND f.position <= ?", (key, upto))
    seasons = {e.season for _, e in [*events, *race_events] if hasattr(e, "season")}
    season_events = reader.events_at(
        p for s in seasons if (p := reader.season_position(s, upto)) is not None
    )
    world = reader.fold(season_events, race_events, renames, cup_events)
    return world, reader.fold_events(race_events, renames, cup_events)


def _competitor_ids(event: LedgerEvent) -> Iterable[str]:
    for name in ("competitor_id", "merged_into", "unmerged_from"):
        value = getattr(event, name, None)
        if value:
            yield value


def _opposite(draft: Any, position: int, event: LedgerEvent, why: str) -> None:
    """Decide the event that undoes one event of the reverted command."""
    aggregate: UUID = event.originator_id
    if isinstance(event, ResultEvent):
        context = {
            "season": event.season,
            "race": event.race,
            "cup": event.cup,
            "race_date": draft.world.races[(event.season, event.race)].date,
        }
        entry = draft.world.races[(event.season, event.race)].results.get(event.competitor_id)
        if entry is not None:
            name, nation = entry.name, entry.nation
        elif (state := draft.world.competitors.get(event.competitor_id)) is not None:
            # A result that comes back carries the label its competitor's renames since gave it.
            name, nation = state.label(event.competitor, event.nation, position)
        else:
            name, nation = event.competitor, event.nation
        who = {"competitor": name, "nation": nation, "competitor_id": event.competitor_id}
        if isinstance(event, ResultRecorded | ResultRestored):
            draft.add(
                ResultWithdrawn,
                aggregate,
                **context,
                **who,
                **{f"old_{k}": getattr(entry, k) for k in _VALUES},
                disqualified=entry.disqualified,
                reason=why,
            )
        elif isinstance(event, ResultWithdrawn):
            draft.add(
                ResultRestored,
                aggregate,
                **context,
                **who,
                **{k: getattr(event, f"old_{k}") for k in _VALUES},
                disqualified=event.disqualified,
                reason=why,
            )
        elif isinstance(event, ResultCorrected):
            draft.add(
                ResultCorrected,
                aggregate,
                **context,
                **who,
                **{f"old_{k}": getattr(entry, k) for k in _VALUES},
                **{k: getattr(event, f"old_{k}") for k in _VALUES},
                reason=why,
            )
        elif isinstance(event, CompetitorDisqualified):
            draft.add(DisqualificationWithdrawn, aggregate, **context, **who, reason=why)
        elif isinstance(event, DisqualificationWithdrawn):
            draft.add(CompetitorDisqualified, aggregate, **context, **who, reason=why)
        return
    if isinstance(event, RaceEvent):
        race = draft.world.races[(event.season, event.race)]
        context = {
            "season": race.season,
            "race": race.race,
            "cup": race.cup,
            "race_date": race.date,
        }
        if isinstance(event, RaceVoided):
            draft.add(RaceUnvoided, aggregate, **context, reason=why)
        elif isinstance(event, RaceUnvoided):
            draft.add(RaceVoided, aggregate, **context, reason=why)
        elif isinstance(event, RaceRescheduled):
            draft.add(
                RaceRescheduled,
                aggregate,
                **{**context, "race_date": event.old_date},
                old_date=race.date,
                reason=why,
            )
        elif isinstance(event, RaceRetabled):
            draft.add(
                RaceRetabled,
                aggregate,
                **context,
                old_table=race.table,
                old_points=list(race.points),
                table=event.old_table,
                points=list(event.old_points),
                reason=why,
            )
        return
    if isinstance(event, CompetitorRenamed):
        draft.add(
            CompetitorRenamed,
            aggregate,
            competitor_id=event.competitor_id,
            old_name=event.name,
            old_nation=event.nation,
            name=event.old_name,
            nation=event.old_nation,
            merged_into=event.unmerged_from,
            unmerged_from=event.merged_into,
            reason=why,
        )
        return
    if isinstance(event, CupEvent):
        context = {
            "season": event.season,
            "cup": event.cup,
            "competitor_id": event.competitor_id,
            "competitor": event.competitor,
            "nation": event.nation,
        }
        if isinstance(event, CompetitorExcluded):
            draft.add(CompetitorReadmitted, aggregate, **context, reason=why)
        elif isinstance(event, CompetitorReadmitted):
            draft.add(CompetitorExcluded, aggregate, **context, reason=why)
        elif isinstance(event, PointsDeducted):
            draft.add(
                DeductionCancelled,
                aggregate,
                **context,
                deduction=position,
                points=event.points,
                reason=why,
            )
        elif isinstance(event, DeductionCancelled):
            draft.add(PointsDeducted, aggregate, **context, points=event.points, reason=why)
