"""Benchmark the ledger at federation scale: every command as a user runs it, on a large ledger.

    .venv/bin/python benchmarks/run.py --workdir /tmp/bench --json benchmarks/out/1m.json

Generates a synthetic federation (up to ten seasons a year in parallel, 12 cups of 8 races of
24 competitors each, athletes who retire and are replaced so careers last a few seasons, 3%
dead heats and DNFs, corrections a race day later, disqualifications after later races, some
withdrawn on appeal, results withdrawn, races voided and moved, renames) of about N events,
through the ledger's own write path (the bulk path for each race day's results, the event
classes for the amendments, appended and indexed in the ledger's own transactions), and a small
ledger of N / 100 events (at least 10,000) built the same way.

Then every command is run **as a fresh process**, as a user's shell runs it (Python's bytecode
cache on), on the small and on the full ledger: wall time and peak memory (maximum resident
set size) of each, the median of three runs after one untimed run. Also: an import of a results
file of 50,000 rows (rows per second, start-up and data warnings included), `export events`
(events per second, memory), `history | head -1` (time to the first row), `verify`, and the
in-process figures of earlier runs (raw scan, rebuild, standings p50). Writes the figures as
JSON with the machine, the ratios and the target checks, and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cli.progress import progress  # noqa: E402
from ledger.application import Ledger  # noqa: E402
from ledger.bulk import Identity, recorded_results  # noqa: E402
from ledger.chain import format_recorded_at  # noqa: E402
from ledger.events import (  # noqa: E402
    CompetitorDisqualified,
    DisqualificationWithdrawn,
    LedgerEvent,
    RaceRescheduled,
    RaceScheduled,
    RaceVoided,
    ResultCorrected,
    ResultWithdrawn,
    SeasonDeclared,
    race_uuid,
    season_uuid,
)
from ledger.fold import RaceState, ResultState  # noqa: E402
from ledger.identity import competitor_id  # noqa: E402
from ledger.parallel import processes_for  # noqa: E402
from ledger.store import stored_columns, stored_events  # noqa: E402
from ledger.values import ParsedRow  # noqa: E402

CUPS = 12  # distances x genders, as a speed skating World Cup has
RACE_DAYS = 8  # one race of every cup on each race day
ENTRIES = 24  # competitors per race
POOL = 40  # athletes per cup and discipline
DISCIPLINES = 10  # at most this many seasons run in parallel each year
RETIRE = 0.2  # the share of a pool replaced each year: careers of about five seasons
SEASON_EVENTS = 1 + CUPS * RACE_DAYS * (1 + ENTRIES)
TABLE = [100, 80, 70, 60, 50, 45, 40, 36, 32, 28, 24, 21, 18, 16, 14, 12, 10, 8, 6, 5, 4, 3, 2, 1]
POINTS = [Decimal(p) for p in TABLE]
NATIONS = ["NED", "NOR", "USA", "CAN", "JPN", "KOR", "CHN", "GER", "ITA", "POL", "RUS", "KAZ"]
FIRST = ["Anna", "Bjorn", "Chen", "Dana", "Emil", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
LAST = ["Berg", "Kim", "Li", "Moss", "Novak", "Olsen", "Park", "Quist", "Rossi", "Sato", "Tan"]
IMPORT_ROWS = 50_000

TARGETS = {
    "command_s": 0.5,  # every read and every single write, wall
    "command_mb": 150,  # and peak memory
    "command_vs_small": 1.5,  # and against the same command on the small ledger
    "first_history_row_s": 0.5,
    "import_rows_per_s": 50_000,
    "export_events_per_s": 300_000,
    "query_ms_p50_large": 20.0,
    "query_large_vs_small": 2.0,
}


# --- generating a federation ----------------------------------------------------------------


@dataclass
class SeasonPlan:
    """A season being recorded: its races' state and the changes decided for later days."""

    slug: str
    first_day: date
    races: dict[str, RaceState] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    later: dict[int, list[tuple[str, str, str]]] = field(default_factory=dict)


class Writer:
    """Appends a generated federation through the ledger's own write path."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.head = ledger.head().position

    def append(self, at: datetime, commands: Sequence[list[Any]]) -> int:
        """Append commands (each a list of events, or one run of bulk results) in one
        transaction; events get their command numbers (their first positions) here."""
        stored = []
        position = self.head
        for command in commands:
            number = position + 1
            for item in command:
                if isinstance(item, LedgerEvent):
                    object.__setattr__(item, "command", number)
                    stored.append(self.ledger.mapper.to_stored_event(item))
                    position += 1
                else:  # a stored result of a prepared run, already numbered
                    stored.append(item)
                    position += 1
        recorded_at = format_recorded_at(at)
        with self.ledger.chain.writing() as writer:
            writer.append(stored_columns(stored), recorded_at)
        count = position - self.head
        self.head = position
        return count


def people(rng: random.Random, tag: str, count: int) -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    while len(found) < count:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}-{tag}{rng.randrange(10_000)}"
        found.add((name, rng.choice(NATIONS)))
    return sorted(found)


def event(
    cls: type[LedgerEvent], aggregate: UUID, version: int, at: datetime, **fields: Any
) -> Any:
    return cls(  # type: ignore[call-arg]
        originator_id=aggregate,
        originator_version=version,
        timestamp=at,
        by=fields.pop("by", "results office"),
        source=fields.pop("source", "synthetic"),
        command=None,
        **fields,
    )


def declare(writer: Writer, year: int, discipline: int, at: datetime) -> SeasonPlan:
    slug = f"fed-{year}-d{discipline:02d}"
    first = date(year, 11, 1) + timedelta(days=discipline)
    plan = SeasonPlan(slug, first)
    cups = [{"id": f"cup{c:02d}", "name": f"Cup {c}"} for c in range(CUPS)]
    for c in cups[::3]:
        c["best"] = RACE_DAYS - 2
    events: list[Any] = [
        event(
            SeasonDeclared,
            season_uuid(slug),
            1,
            at,
            season=slug,
            name=f"Federation {year} discipline {discipline}",
            tables={"A": POINTS},
            cups=cups,
        )
    ]
    for day in range(RACE_DAYS):
        for c in range(CUPS):
            race = f"D{day + 1}-C{c:02d}"
            when = first + timedelta(days=14 * day)
            events.append(
                event(
                    RaceScheduled,
                    race_uuid(slug, race),
                    1,
                    at,
                    season=slug,
                    race=race,
                    cup=f"cup{c:02d}",
                    race_date=when,
                    table="A",
                    points=POINTS,
                    location=f"Venue {day}",
                    venue=None,
                    reason=None,
                )
            )
            plan.races[race] = RaceState(
                slug, race, f"cup{c:02d}", when, "A", tuple(POINTS), None, None, 0
            )
            plan.versions[race] = 1
    writer.append(at, [events])
    return plan


def race_day(
    writer: Writer,
    rng: random.Random,
    plan: SeasonPlan,
    pools: list[list[tuple[str, str]]],
    day: int,
) -> None:
    """Record one race day of a season (one command), and the changes decided for that day
    (one command each)."""
    at = datetime.combine(plan.first_day + timedelta(days=14 * day), datetime.min.time(), UTC)
    at += timedelta(hours=21)
    rows: list[tuple[ParsedRow, RaceState, Identity]] = []
    for c in range(CUPS):
        race = plan.races[f"D{day + 1}-C{c:02d}"]
        place = 0
        for rank, (name, nation) in enumerate(rng.sample(pools[c], ENTRIES), start=1):
            roll = rng.random()
            status = "DNF" if roll < 0.03 else None
            if status is None and not (roll < 0.06 and place):  # 3%: a dead heat
                place = rank
            time_ = None if status else Decimal(3400 + rank * 7 + rng.randrange(5)) / 100
            row = ParsedRow(0, race.race, name, nation, None if status else place, time_, status)
            rows.append((row, race, Identity(competitor_id(name, nation), name)))
            if status is None and roll > 0.98:
                plan.later.setdefault(day + 1, []).append(("correct", race.race, name))
            elif status is None and roll > 0.97:
                plan.later.setdefault(day + 2 + rng.randrange(3), []).append(
                    ("disqualify", race.race, name)
                )
            elif status is None and roll > 0.965:
                plan.later.setdefault(day + 1, []).append(("withdraw", race.race, name))
    number = writer.head + 1
    touched = {race.race for _, race, _ in rows}
    ids = {race_uuid(plan.slug, name): name for name in touched}
    runs = list(
        recorded_results(
            rows,
            {
                (plan.slug, name): (race_uuid(plan.slug, name), plan.versions[name] + 1)
                for name in touched
            },
            writer.ledger.mapper,
            by="results office",
            source="synthetic",
            timestamp=at,
            command=number,
            file="synthetic.csv",
            progress=lambda done, total: None,
        )
    )
    for run in runs:
        plan.versions[ids[run.originator_id]] += len(run.states)
    commands: list[list[Any]] = [stored_events(runs)] if runs else []
    for action, race_id, name in plan.later.pop(day, []):
        race = plan.races[race_id]
        entry = next((r for r in race.results.values() if r.name == name), None)
        if entry is None:
            continue
        command = amend(rng, plan, race, entry, action, at)
        if command:
            commands.append(command)
            if action == "disqualify" and rng.random() < 0.2:
                plan.later.setdefault(day + 2, []).append(("reinstate", race_id, name))
    if day == RACE_DAYS - 1 and rng.random() < 0.3:
        race = plan.races[f"D{rng.randrange(RACE_DAYS - 1) + 1}-C{rng.randrange(CUPS):02d}"]
        if not race.voided:
            race.voided = True
            plan.versions[race.race] += 1
            commands.append(
                [
                    event(
                        RaceVoided,
                        race_uuid(plan.slug, race.race),
                        plan.versions[race.race],
                        at,
                        season=plan.slug,
                        race=race.race,
                        cup=race.cup,
                        race_date=race.date,
                        reason="ice failure",
                        by="jury",
                    )
                ]
            )
    if day == 0 and rng.random() < 0.3:  # a race postponed by a week, recorded that evening
        race = plan.races[f"D{RACE_DAYS}-C{rng.randrange(CUPS):02d}"]
        old, race.date = race.date, race.date + timedelta(days=7)
        plan.versions[race.race] += 1
        commands.append(
            [
                event(
                    RaceRescheduled,
                    race_uuid(plan.slug, race.race),
                    plan.versions[race.race],
                    at,
                    season=plan.slug,
                    race=race.race,
                    cup=race.cup,
                    race_date=race.date,
                    old_date=old,
                    reason="weather",
                )
            ]
        )
    writer.append(at, commands)


def amend(
    rng: random.Random,
    plan: SeasonPlan,
    race: RaceState,
    entry: ResultState,
    action: str,
    at: datetime,
) -> list[Any]:
    context = {"season": plan.slug, "race": race.race, "cup": race.cup, "race_date": race.date}
    who = {"competitor": entry.name, "nation": entry.nation, "competitor_id": entry.competitor_id}
    aggregate = race_uuid(plan.slug, race.race)
    plan.versions[race.race] += 1
    version = plan.versions[race.race]
    if action == "correct" and entry.place is not None and not entry.disqualified:
        new = ResultState(**{**entry.__dict__, "place": entry.place + 1})
        race.results[entry.competitor_id] = new
        return [
            event(
                ResultCorrected,
                aggregate,
                version,
                at,
                **context,
                **who,
                old_place=entry.place,
                old_time=entry.time,
                old_status=entry.status,
                old_bonus=None,
                old_team=None,
                place=entry.place + 1,
                time=entry.time,
                status=entry.status,
                bonus=None,
                team=None,
                reason="timing",
            )
        ]
    if action == "disqualify" and not entry.disqualified:
        race.results[entry.competitor_id] = ResultState(**{**entry.__dict__, "disqualified": True})
        return [
            event(
                CompetitorDisqualified,
                aggregate,
                version,
                at,
                **context,
                **who,
                reason="false start",
                by="jury",
            )
        ]
    if action == "reinstate" and entry.disqualified:
        race.results[entry.competitor_id] = ResultState(**{**entry.__dict__, "disqualified": False})
        return [
            event(
                DisqualificationWithdrawn,
                aggregate,
                version,
                at,
                **context,
                **who,
                reason="appeal upheld",
                by="appeals board",
            )
        ]
    if action == "withdraw":
        del race.results[entry.competitor_id]
        return [
            event(
                ResultWithdrawn,
                aggregate,
                version,
                at,
                **context,
                **who,
                old_place=entry.place,
                old_time=entry.time,
                old_status=entry.status,
                old_bonus=None,
                old_team=None,
                disqualified=entry.disqualified,
                reason="recorded in error",
            )
        ]
    plan.versions[race.race] -= 1
    return []


def generate(path: Path, events: int, label: str, seed: int = 6) -> dict[str, Any]:
    """Record about ``events`` events; returns what the commands will be run on."""
    rng = random.Random(seed)
    ledger = Ledger(str(path))
    writer = Writer(ledger)
    parallel = max(1, min(DISCIPLINES, events // (4 * SEASON_EVENTS)))
    pools = {d: [people(rng, f"{d}c{c}", POOL) for c in range(CUPS)] for d in range(parallel)}
    seasons = []
    with progress(f"generating the {label} ledger", events) as advance:
        year = 1960
        while writer.head < events:
            at = datetime(year, 10, 1, 9, tzinfo=UTC)
            plans = []
            for discipline in range(parallel):
                before = writer.head
                plans.append(declare(writer, year, discipline, at))
                seasons.append(plans[-1].slug)
                advance(writer.head - before)
            days = sorted(
                (p.first_day + timedelta(days=14 * d), i, d)
                for i, p in enumerate(plans)
                for d in range(RACE_DAYS)
            )
            for _, i, d in days:
                if writer.head >= events:
                    break
                before = writer.head
                race_day(writer, rng, plans[i], pools[i], d)
                advance(writer.head - before)
            # Careers end: a fifth of each pool retires, newcomers take their places.
            for discipline, cups in pools.items():
                for c, pool in enumerate(cups):
                    keep = rng.sample(pool, int(len(pool) * (1 - RETIRE)))
                    fresh = people(rng, f"{discipline}c{c}y{year}", POOL - len(keep))
                    cups[c] = sorted(set(keep) | set(fresh))
            year += 1
    head = ledger.head().position
    ledger.close()
    return {"events": head, "seasons": len(seasons), "last_season": seasons[-1]}


# --- choosing what to ask --------------------------------------------------------------------


RECENT = 5_000  # events back from the head that `history --since` asks about


def subjects(path: Path) -> dict[str, Any]:
    """A cup in the middle of the log, a race of it, a competitor in that race, times."""
    db = sqlite3.connect(path)
    head = db.execute("SELECT MAX(position) FROM ledger_chain").fetchone()[0]
    (middle_at,) = db.execute(
        "SELECT recorded_at FROM ledger_chain WHERE position = ?", (head // 2,)
    ).fetchone()
    season, cup = db.execute(
        "SELECT season, cup FROM read_races WHERE key <= ? ORDER BY key DESC LIMIT 1", (head // 2,)
    ).fetchone()
    dates = sorted(
        d
        for (d,) in db.execute(
            "SELECT race_date FROM read_races WHERE season = ? AND cup = ?", (season, cup)
        )
    )
    race = db.execute(
        "SELECT race FROM read_races WHERE season = ? AND cup = ? ORDER BY race_date LIMIT 1",
        (season, cup),
    ).fetchone()[0]
    (race_key,) = db.execute(
        "SELECT key FROM read_races WHERE season = ? AND race = ?", (season, race)
    ).fetchone()
    name = db.execute(
        "SELECT l.name FROM read_facts f JOIN read_labels l ON l.competitor = f.competitor"
        " WHERE f.race = ? AND f.kind = 3 ORDER BY f.position LIMIT 1",
        (race_key,),
    ).fetchone()[0]
    last_season, last_cup = db.execute(
        "SELECT season, cup FROM read_races ORDER BY key DESC LIMIT 1"
    ).fetchone()
    last_races = [
        r
        for (r,) in db.execute(
            "SELECT race FROM read_races WHERE season = ? ORDER BY key", (last_season,)
        )
    ]
    # Known-at: just after the results of the cup's as-of race were recorded, so that the
    # standings fold the same half a cup on a ledger of any size (the middle of the log may
    # fall before the cup has any result on one ledger and after its end on another).
    as_of = dates[len(dates) // 2]
    (recorded,) = db.execute(
        "SELECT MAX(f.position) FROM read_facts f JOIN read_races r ON r.key = f.race"
        " WHERE r.season = ? AND r.cup = ? AND r.race_date <= ?",
        (season, cup, as_of),
    ).fetchone()
    (known_at,) = db.execute(
        "SELECT recorded_at FROM ledger_chain WHERE position = ?", (recorded,)
    ).fetchone()
    # History since the last RECENT events: an answer of the same size on any ledger.
    (since,) = db.execute(
        "SELECT recorded_at FROM ledger_chain WHERE position = ?", (max(1, head - RECENT),)
    ).fetchone()
    amended = db.execute(
        "SELECT f.position FROM read_facts f JOIN read_races r ON r.key = f.race"
        " WHERE r.season = ? AND r.cup = ? AND f.kind IN (4, 5) ORDER BY f.position LIMIT 1",
        (season, cup),
    ).fetchone()
    before_change = (
        db.execute(
            "SELECT recorded_at FROM ledger_chain WHERE position = ?", (amended[0] - 1,)
        ).fetchone()[0]
        if amended
        else middle_at
    )
    (command,) = db.execute(
        "SELECT command FROM read_commands WHERE command <= ? ORDER BY command DESC LIMIT 1",
        (head // 2,),
    ).fetchone()
    db.close()
    return {
        "cup": f"{season}/{cup}",
        "race": f"{season}/{race}",
        "competitor": name,
        "as_of": as_of,
        "first_date": dates[0],
        "known_at": known_at,
        "since": since,
        "before_change": before_change,
        "command": command,
        "last_season": last_season,
        "last_races": last_races,
        "last_cup": f"{last_season}/{last_cup}",
    }


def commands(s: dict[str, Any], run: int) -> dict[str, list[str]]:
    """Every command, on these subjects; a write takes another race or result each run."""
    race = f"{s['last_season']}/{s['last_races'][run % len(s['last_races'])]}"
    other = f"{s['last_season']}/{s['last_races'][(run + 7) % len(s['last_races'])]}"
    return {
        "standings": ["standings", s["cup"]],
        "standings --as-of --known-at": [
            "standings", s["cup"], "--as-of", s["as_of"], "--known-at", s["known_at"],
        ],
        "results": ["results", s["race"]],
        "races --season": ["races", "--season", s["cup"].split("/")[0]],
        "seasons": ["seasons"],
        "cups --season": ["cups", "--season", s["cup"].split("/")[0]],
        "competitors TEXT": ["competitors", s["competitor"].split()[-1]],
        "competitor": ["competitor", s["competitor"]],
        "history --race": ["history", "--race", s["race"]],
        "history --competitor": ["history", "--competitor", s["competitor"]],
        "history --by": ["history", "--by", "appeals board", "--since", s["since"]],
        "history --command": ["history", "--command", str(s["command"])],
        "history --commands --race": ["history", "--commands", "--race", s["race"]],
        "diff --known-at": ["diff", s["cup"], "--known-at", s["before_change"]],
        "diff --as-of --vs-as-of": [
            "diff", s["cup"], "--as-of", s["first_date"], "--vs-as-of", s["as_of"],
        ],
        "explain": ["explain", s["cup"], s["competitor"]],
        "check": ["check", s["race"]],
        "export results --cup": ["export", "results", "--cup", s["cup"]],
        "record": ["record", race, f"Late Entry {run}", "--nation", "NOR", "--place", "25"],
        "correct": ["correct", race, f"Late Entry {run}", "--place", "24", "--reason", "photo"],
        "disqualify": ["disqualify", race, f"Late Entry {run}", "--reason", "false start"],
        "void": ["void", other, "--reason", "ice"],
    }  # fmt: skip


# --- measuring ------------------------------------------------------------------------------


def ledger_command() -> list[str]:
    script = Path(sys.executable).with_name("ledger")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["LEDGER_BY"] = "bench"


def timed(argv: Sequence[str], stdin_shell: str | None = None) -> tuple[float, float, str]:
    """One fresh process: wall seconds, peak resident memory in MB, and its output."""
    if stdin_shell is None:
        command = ["/usr/bin/time", "-f", "%e %M", *argv]
        done = subprocess.run(command, capture_output=True, text=True, env=ENV)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)}: {done.stderr.strip()[-500:]}")
        *_, last = done.stderr.strip().splitlines()
        seconds, kb = last.split()
        return float(seconds), int(kb) / 1024, done.stdout
    started = time.perf_counter()
    done = subprocess.run(["bash", "-c", stdin_shell], capture_output=True, text=True, env=ENV)
    return time.perf_counter() - started, 0.0, done.stdout


RUNS = 3  # timed fresh processes per command (--runs)


def median_run(make: Any, runs: int | None = None) -> tuple[float, float]:
    """The median wall time and peak memory of ``runs`` fresh processes, after one untimed."""
    runs = RUNS if runs is None else runs
    make(0)
    walls, peaks = [], []
    for n in range(1, runs + 1):
        wall, peak = make(n)
        walls.append(wall)
        peaks.append(peak)
    return statistics.median(walls), statistics.median(peaks)


def measure_commands(
    path: Path, s: dict[str, Any], only: set[str] | None = None
) -> dict[str, dict[str, float]]:
    base = [*ledger_command()]
    figures: dict[str, dict[str, float]] = {}
    names = [name for name in commands(s, 0) if only is None or name in only]
    for name in names:

        def make(n: int, name: str = name) -> tuple[float, float]:
            wall, peak, _ = timed([*base, *commands(s, n)[name], "--db", str(path)])
            return wall, peak

        wall, peak = median_run(make)
        figures[name] = {"s": round(wall, 3), "mb": round(peak, 1)}
    shell = f"{' '.join(base)} history --db {path} | head -1"
    first = statistics.median(timed([], shell)[0] for _ in range(RUNS))
    figures["history | head -1"] = {"s": round(first, 3), "mb": 0.0}
    return figures


def import_file(path: Path, folder: Path, rows: int, run: int) -> dict[str, float]:
    """`ledger import season` then `ledger import results` of ``rows`` rows for a new season."""
    rng = random.Random(7 + run)
    races = max(1, rows // ENTRIES)
    season = folder / f"import-season-{run}.toml"
    lines = [
        f'[season]\nid = "import-bench-{run}"\nname = "Import benchmark {run}"\n',
        f"[tables]\nA = {TABLE}\n",
        *(f'[[cups]]\nid = "imp{c:02d}"\nname = "Import cup {c}"\n' for c in range(CUPS)),
        *(
            f'[[races]]\nid = "I{run}R{r:05d}"\ncup = "imp{r % CUPS:02d}"\n'
            f'date = {date(2400 + run, 1, 1) + timedelta(days=r // CUPS)}\ntable = "A"\n'
            for r in range(races)
        ),
    ]
    season.write_text("".join(lines), encoding="utf-8")
    csv_path = folder / f"import-results-{run}.csv"
    pools = [people(rng, f"imp{c}", POOL) for c in range(CUPS)]
    with csv_path.open("w", encoding="utf-8") as out:
        out.write("race,place,competitor,nation,time,status\n")
        for r in range(races):
            for place, (name, nation) in enumerate(rng.sample(pools[r % CUPS], ENTRIES), 1):
                out.write(f"I{run}R{r:05d},{place},{name},{nation},{34 + place / 10:.2f},\n")
    base = ledger_command()
    season_s, season_mb, _ = timed([*base, "import", "season", str(season), "--db", str(path)])
    wall, peak, _ = timed([*base, "import", "results", str(csv_path), "--db", str(path)])
    return {
        "season_s": round(season_s, 3),
        "season_mb": round(season_mb, 1),
        "results_s": round(wall, 3),
        "results_mb": round(peak, 1),
        "rows_per_s": round(races * ENTRIES / wall),
    }


def export_events(path: Path) -> dict[str, float]:
    head = sqlite3.connect(path).execute("SELECT MAX(position) FROM ledger_chain").fetchone()[0]
    wall, peak, _ = timed([*ledger_command(), "export", "events", "--db", str(path), "--output",
                           os.devnull])  # fmt: skip
    return {"s": round(wall, 3), "mb": round(peak, 1), "events_per_s": round(head / wall)}


def export_results(path: Path) -> dict[str, float]:
    """``export results`` of every race, as CSV: the whole ledger's results, in date order."""
    target = path.with_name(f"{path.stem}-results.csv")
    target.unlink(missing_ok=True)
    wall, peak, _ = timed([*ledger_command(), "export", "results", "--db", str(path), "--output",
                           str(target)])  # fmt: skip
    with target.open("rb") as f:
        rows = sum(1 for _ in f) - 1  # the header
    target.unlink()
    return {"s": round(wall, 3), "mb": round(peak, 1), "results_per_s": round(rows / wall)}


def verify_cli(path: Path) -> dict[str, float]:
    head = sqlite3.connect(path).execute("SELECT MAX(position) FROM ledger_chain").fetchone()[0]
    wall, peak, _ = timed([*ledger_command(), "verify", "--db", str(path)])
    chain_wall, _chain_peak, _ = timed([*ledger_command(), "verify", "--chain-only", "--db",
                                       str(path)])  # fmt: skip
    return {
        "s": round(wall, 3),
        "mb": round(peak, 1),
        "events_per_s": round(head / wall),
        "chain_only_s": round(chain_wall, 3),
        "chain_only_events_per_s": round(head / chain_wall),
        "processes": processes_for(head),
    }


def raw_scan(path: Path) -> float:
    best = 0.0
    for _ in range(3):
        db = sqlite3.connect(path)
        started = time.perf_counter()
        count = sum(1 for _ in db.execute("SELECT originator_id, originator_version, topic,"
                                          " state FROM stored_events"))  # fmt: skip
        best = max(best, count / (time.perf_counter() - started))
        db.close()
    return best


def rebuild(path: Path) -> float:
    ledger = Ledger(str(path))
    head = ledger.head().position
    started = time.perf_counter()
    ledger.rebuild()
    rate = head / (time.perf_counter() - started)
    ledger.close()
    return rate


def query_p50(path: Path, s: dict[str, Any], runs: int = 50) -> float:
    from projections.standings import query_standings

    ledger = Ledger(str(path), readonly=True)
    known = datetime.fromisoformat(s["known_at"])
    day = date.fromisoformat(s["as_of"])
    query_standings(ledger, s["cup"], as_of=day, known_at=known)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        query_standings(ledger, s["cup"], as_of=day, known_at=known)
        times.append((time.perf_counter() - started) * 1000)
    ledger.close()
    return statistics.median(times)


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    from importlib.metadata import version

    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "eventsourcing": version("eventsourcing"),
        "platform": platform.platform(),
    }


# --- the run --------------------------------------------------------------------------------


def prepare(
    scratch: Path, name: str, events: int, seed: int, reuse: bool
) -> tuple[Path, dict[str, Any], float]:
    path = scratch / f"{name}.db"
    meta = scratch / f"{name}.json"
    if reuse and path.exists() and meta.exists():
        saved = json.loads(meta.read_text())
        if saved.get("asked") == events:
            return path, saved, 0.0
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    info = generate(path, events, name, seed=seed)
    seconds = time.perf_counter() - started
    info["asked"] = events
    meta.write_text(json.dumps(info))
    # A copy of the freshly generated ledger, so that repeated runs start from the same log.
    shutil.copyfile(path, scratch / f"{name}.pristine.db")
    return path, info, seconds


def fresh_copy(scratch: Path, name: str) -> Path:
    target = scratch / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(scratch / f"{name}.pristine.db", target)
    return target


def main(argv: list[str] | None = None) -> int:
    global RUNS
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the full ledger")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the ledgers here")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse ledgers generated in --workdir before"
    )
    parser.add_argument(
        "--runs", type=int, default=RUNS, help="timed fresh processes per command (median)"
    )
    parser.add_argument(
        "--only", default=None, help="time only these commands (comma-separated names)"
    )
    args = parser.parse_args(argv)
    RUNS = max(1, args.runs)
    only = None if args.only is None else {n.strip() for n in args.only.split(",")}
    scratch = (
        Path(tempfile.mkdtemp(prefix="ledger-bench-")) if args.workdir is None else args.workdir
    )
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        full, info, generate_s = prepare(scratch, "full", args.events, 6, args.reuse)
        small, small_info, _ = prepare(
            scratch, "small", max(args.events // 100, 10_000), 5, args.reuse
        )
        full, small = fresh_copy(scratch, "full"), fresh_copy(scratch, "small")
        sides = {"small": small, "full": full}
        asked = {side: subjects(path) for side, path in sides.items()}
        figures = {side: measure_commands(path, asked[side], only) for side, path in sides.items()}
        exports = {side: export_events(path) for side, path in sides.items()}
        everything = {side: export_results(path) for side, path in sides.items()}
        verified = {side: verify_cli(path) for side, path in sides.items()}
        size = IMPORT_ROWS if args.events >= 500_000 else max(2_400, args.events // 20)
        imports = [import_file(full, scratch, size, run) for run in range(1, RUNS + 1)]
        p50 = {side: query_p50(path, asked[side]) for side, path in sides.items()}
        scan = raw_scan(full)
        rebuilt = rebuild(fresh_copy(scratch, "full"))
    finally:
        if args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)

    import_rate = statistics.median(i["rows_per_s"] for i in imports)
    checks: dict[str, tuple[float, str, float]] = {}
    for name, got in figures["full"].items():
        if name == "history | head -1":
            checks[name] = (got["s"], "<=", TARGETS["first_history_row_s"])
            continue
        small_s = figures["small"][name]["s"]
        checks[f"{name}: s"] = (got["s"], "<=", TARGETS["command_s"])
        checks[f"{name}: MB"] = (got["mb"], "<=", TARGETS["command_mb"])
        checks[f"{name}: vs small"] = (got["s"] / small_s, "<=", TARGETS["command_vs_small"])
    checks["import results, rows/s"] = (import_rate, ">=", TARGETS["import_rows_per_s"])
    checks["export events, events/s"] = (
        exports["full"]["events_per_s"], ">=", TARGETS["export_events_per_s"]
    )  # fmt: skip
    checks["export events: MB"] = (exports["full"]["mb"], "<=", TARGETS["command_mb"])
    checks["export results: MB"] = (everything["full"]["mb"], "<=", TARGETS["command_mb"])
    checks["standings p50, ms"] = (p50["full"], "<=", TARGETS["query_ms_p50_large"])
    checks["standings p50 vs small"] = (
        p50["full"] / p50["small"],
        "<=",
        TARGETS["query_large_vs_small"],
    )
    targets = {
        name: {
            "measured": round(value, 3),
            "target": f"{op} {limit}",
            "met": value >= limit if op == ">=" else value <= limit,
        }
        for name, (value, op, limit) in checks.items()
    }
    result = {
        "events": info["events"],
        "seasons": info["seasons"],
        "events_small": small_info["events"],
        "generate_s": round(generate_s, 1),
        "commands": figures,
        "import": {"rows": size, "runs": imports, "rows_per_s": import_rate},
        "export_events": exports,
        "export_results": everything,
        "verify": verified,
        "query_ms_p50": {k: round(v, 2) for k, v in p50.items()},
        "raw_scan_rows_per_s": round(scan),
        "rebuild_events_per_s": round(rebuilt),
        "targets": targets,
        "all_met": all(t["met"] for t in targets.values()),
        "machine": machine(),
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    return 0


def table(r: dict[str, Any]) -> str:
    small, full = r["commands"]["small"], r["commands"]["full"]
    lines = [
        f"| command | {r['events_small']:,} events | {r['events']:,} events | ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, got in full.items():
        mine = small[name]
        memory = f", {got['mb']:.0f} MB" if got["mb"] else ""
        lines.append(
            f"| `ledger {name}` | {mine['s']:.3f} s | {got['s']:.3f} s{memory} |"
            f" {got['s'] / mine['s']:.2f} |"
        )
    imp = r["import"]
    lines.append(
        f"| `ledger import season` ({imp['rows'] // ENTRIES:,} races) | |"
        f" {statistics.median(i['season_s'] for i in imp['runs']):.2f} s,"
        f" {statistics.median(i['season_mb'] for i in imp['runs']):.0f} MB | |"
    )
    lines.append(
        f"| `ledger import results` ({imp['rows']:,} rows) | |"
        f" {statistics.median(i['results_s'] for i in imp['runs']):.2f} s,"
        f" {imp['rows_per_s']:,} rows/s,"
        f" {statistics.median(i['results_mb'] for i in imp['runs']):.0f} MB | |"
    )
    ex = r["export_events"]
    lines.append(
        f"| `ledger export events` | {ex['small']['s']:.2f} s | {ex['full']['s']:.2f} s,"
        f" {ex['full']['events_per_s']:,} events/s, {ex['full']['mb']:.0f} MB | |"
    )
    er = r.get("export_results")
    if er is not None:
        lines.append(
            f"| `ledger export results` (every race) | {er['small']['s']:.2f} s |"
            f" {er['full']['s']:.2f} s, {er['full']['results_per_s']:,} results/s,"
            f" {er['full']['mb']:.0f} MB | |"
        )
    ve = r["verify"]
    lines.append(
        f"| `ledger verify` | {ve['small']['s']:.2f} s | {ve['full']['s']:.2f} s,"
        f" {ve['full']['events_per_s']:,} events/s ({ve['full']['chain_only_events_per_s']:,}"
        f" chain only) | |"
    )
    missed = [name for name, t in r["targets"].items() if not t["met"]]
    lines.append("")
    lines.append("Every target met." if not missed else "Missed: " + "; ".join(missed))
    m = r["machine"]
    lines.append(
        f"{m['nproc']} cores ({m['cpu']}), {m['memory']}, Python {m['python']},"
        f" SQLite {m['sqlite']}; generated in {r['generate_s']} s; standings p50"
        f" {r['query_ms_p50']['small']} / {r['query_ms_p50']['full']} ms in process"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
