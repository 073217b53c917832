"""Properties of amendments on random logs (the logs of ``tests/test_read_path.py``).

- Reverting any accepted command restores the standings of every cup at every as-of date.
- Renaming a competitor and renaming it back restores them.
- Reconciling the ledger with its own export is refused as a no-op; reconciling it with an
  export of the same season changed by other amendments makes it export exactly that file.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.errors import LedgerError, StateError
from ledger.fold import replay
from projections.export import query_results_export, results_text
from projections.output import ExportFormat
from projections.standings import query_standings, standings
from tests.test_read_path import CUPS, PEOPLE, RACES, START, fresh, logs, ops, play, run

DAYS = [None, *(date(2020, 1, 1) + timedelta(days=32 * n) for n in range(RACES + 1))]


def tables(ledger: Ledger) -> list[Any]:
    """Every cup's standings at every as-of date (no heads: those move)."""
    return [
        [
            (r.rank, r.competitor_id, r.competitor, r.nation, r.points)
            for r in query_standings(ledger, "/".join(cup), as_of=day).standings
        ]
        for cup in CUPS
        for day in DAYS
    ]


def commands_of(ledger: Ledger) -> list[int]:
    with ledger.reading() as reader:
        return [c.command for c in reader.commands(upto=reader.head().position)][1:]


def without(events: list[tuple[int, Any]], dropped: int) -> list[tuple[int, Any]]:
    """The events of the log had command `dropped` never been recorded: a revert's events are
    left out, and so is every command a standing revert reverted (a revert stands unless a
    standing revert reverted it), which is what compensating events amount to."""
    reverts = {
        e.command: e.reverted
        for _, e in events
        if type(e).__name__ == "CommandReverted" and e.command != dropped
    }
    reverted_by = {target: by for by, target in reverts.items()}

    def stands(command: int) -> bool:
        by = reverted_by.get(command)
        return by is None or not stands(by)

    kept = [(e.command or p, p, e) for p, e in events]
    return [(p, e) for c, p, e in kept if c != dropped and c not in reverts and stands(c)]


settings_for_logs = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@settings_for_logs
@given(log=logs, pick=st.integers(0, 100))
def test_reverting_any_accepted_command_restores_every_cups_standings_at_every_date(
    log: list[tuple[Any, ...]], pick: int
) -> None:
    """What the standings would be had the command never been recorded: the fold of every
    other command's events that still stand (when a later event changed what it changed, the
    revert is refused)."""
    ledger = fresh()
    play(ledger, log)
    commands = commands_of(ledger)
    if not commands:
        return
    with ledger.reading() as reader:
        command = reader.command_of(commands[pick % len(commands)])
    assert command is not None
    world = replay(without(list(ledger.read_events()), command.command))
    expected = [
        [
            (r.rank, r.competitor_id, r.competitor, r.nation, r.points)
            for r in standings(world, cup, as_of=day).standings
        ]
        for cup in CUPS
        for day in DAYS
    ]
    try:
        ledger.revert(command.command, reason="property")
    except StateError as e:
        assert any(why in str(e) for why in ("revert it first", "declaration", "name since")), e
        return
    assert tables(ledger) == expected
    ledger.close()


@settings_for_logs
@given(log=logs, extra=st.lists(ops, max_size=4), pick=st.integers(0, 100))
def test_a_revert_restores_the_standings_whatever_came_after_it_that_it_did_not_touch(
    log: list[tuple[Any, ...]], extra: list[tuple[Any, ...]], pick: int
) -> None:
    """Revert a command in the middle: the result equals the same log with that command's
    effect removed, which is what replaying all other commands gives when none of them
    touched what it changed (the revert is refused otherwise)."""
    ledger = fresh()
    play(ledger, log)
    commands = commands_of(ledger)
    if not commands:
        return
    target = commands[pick % len(commands)]
    before = tables(ledger)
    try:
        receipt = ledger.revert(target, reason="property")
    except StateError:
        return
    # Reverting the revert brings back exactly the standings before it.
    ledger.revert(receipt.command, reason="undo the undo")
    assert tables(ledger) == before
    ledger.close()


@settings_for_logs
@given(log=logs, who=st.integers(0, len(PEOPLE) - 1), to=st.sampled_from(["Zed", "Bob"]))
def test_renaming_and_renaming_back_restores_every_cups_standings(
    log: list[tuple[Any, ...]], who: int, to: str
) -> None:
    ledger = fresh()
    play(ledger, log)
    name, nation = PEOPLE[who]
    before = tables(ledger)
    try:
        there = ledger.rename_competitor(name, nation=nation, to=to, reason="there")
    except LedgerError:
        return
    (_, renamed), *_ = there.written
    if getattr(renamed, "merged_into", None) is not None:
        # Into a name someone held: the two are one now, and renaming back would rename
        # both; undoing the merge is reverting it.
        ledger.revert(there.command, reason="undo the merge")
    else:
        try:
            ledger.rename_competitor(to, nation=nation, to=name, reason="and back")
        except LedgerError as e:  # the name back names several (no nation to tell them)
            assert "give --nation" in str(e), e
            ledger.revert(there.command, reason="back")
    assert [[row[2:] for row in t] for t in tables(ledger)] == [
        [row[2:] for row in t] for t in before
    ]
    ledger.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    log=logs,
    # What a results file can say: not that a race is void (an export leaves its results out)
    # nor when it is run (an export is in date order, and has no dates).
    more=st.lists(
        ops.filter(lambda op: op[0] not in ("void", "unvoid", "reschedule")),
        min_size=1,
        max_size=6,
    ),
)
def test_reconciling_an_export_makes_the_ledger_export_exactly_that_file(
    log: list[tuple[Any, ...]], more: list[tuple[Any, ...]]
) -> None:
    original, changed = fresh(), fresh()
    play(original, log)
    play(changed, log)
    own = export_text(original)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "results.csv"
        if own.count("\n") > 1:
            path.write_text(own, encoding="utf-8")
            with pytest.raises(StateError, match="nothing to reconcile"):
                original.reconcile_results_file(path, reason="same file")
        # The same season changed by more amendments, exported: the re-published file.
        commands: list[int] = []
        for index, op in enumerate(more):
            run(changed, op, START + timedelta(days=400 + index), commands)
        published = export_text(changed)
        if published == own or published.count("\n") <= 1:
            return
        if not named(own) <= named(published):
            return  # a file says nothing of a race it leaves out: it cannot empty one
        path.write_text(published, encoding="utf-8")
        try:
            original.reconcile_results_file(path, reason="re-published")
        except StateError as e:
            assert "nothing to reconcile" in str(e)
            assert export_text(original) == published
            return
    assert export_text(original) == published
    original.close()
    changed.close()


def named(export: str) -> set[str]:
    """The races an exported file names."""
    return {line.split(",", 1)[0] for line in export.splitlines()[1:]}


def export_text(ledger: Ledger) -> str:
    return results_text(query_results_export(ledger), ExportFormat.csv)
