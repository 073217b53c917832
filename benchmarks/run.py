"""Benchmark the ledger at federation scale: generate a synthetic ledger, then measure.

    .venv/bin/python benchmarks/run.py --events 1000000 --json benchmarks/out/1m.json

Generates a synthetic federation ledger of about N events (many seasons of many cups run in
parallel, ties, DNFs, corrections and disqualifications recorded after later races, withdrawn
disqualifications, voided races) through the ledger's own API (aggregates saved in one batch
per season and race day), and a small one of about N / 100 events. Then, in the same run:

- raw_scan_rows_per_s   sqlite3 SELECT of the stored events table, no decoding (best of 3)
- rebuild_events_per_s  read_model(ledger).rebuild(), what `ledger rebuild` runs (best of 2)
- query_ms_p50          one cup's standings as of a mid-season date, known at a mid-log time,
                        in process, on the small and on the full ledger (median of 50)
- cli_standings_s       wall time of `ledger standings SEASON/CUP` in a fresh process (median of 3,
                        after one untimed run; Python's bytecode cache on, as by default)
- verify_events_per_s   Ledger.verify(), what `ledger verify` runs, over the full ledger (on a
                        SQLite file this large, one process per CPU: verify_processes); and
                        verify_one_process_events_per_s, the same in one process
- import_rows_per_s     Ledger.import_results_file() of a large CSV, what `ledger import results`
                        runs, into the full ledger (a new season; CSV parsing included); the
                        median of three such files, each for its own season

and writes them as JSON (with the machine, the ratios and the target checks) and as a table.
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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cli.progress import progress  # noqa: E402
from ledger.application import Ledger  # noqa: E402
from ledger.chain import format_recorded_at  # noqa: E402
from ledger.domain import Race, Season  # noqa: E402
from ledger.verify import processes_for, verify_chain  # noqa: E402
from projections.read import query_standings  # noqa: E402
from projections.readmodel import read_model  # noqa: E402

CUPS = 12  # distances x genders, as a speed skating World Cup has
RACE_DAYS = 8  # one race of every cup on each race day
ENTRIES = 24  # competitors per race
POOL = 40  # athletes per cup
DISCIPLINES = 10  # at most this many seasons run in parallel each year (sports, levels)
SEASON_EVENTS = 1 + CUPS * RACE_DAYS * (1 + ENTRIES)
TABLE = [100, 80, 70, 60, 50, 45, 40, 36, 32, 28, 24, 21, 18, 16, 14, 12, 10, 8, 6, 5, 4, 3, 2, 1]
NATIONS = ["NED", "NOR", "USA", "CAN", "JPN", "KOR", "CHN", "GER", "ITA", "POL", "RUS", "KAZ"]
FIRST = ["Anna", "Bjorn", "Chen", "Dana", "Emil", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
LAST = ["Berg", "Kim", "Li", "Moss", "Novak", "Olsen", "Park", "Quist", "Rossi", "Sato", "Tan"]

TARGETS = {
    "rebuild_vs_raw_scan": 0.30,
    "query_ms_p50_large": 20.0,
    "query_large_vs_small": 2.0,
    "cli_standings_s": 0.6,
    "import_rows_per_s": 50_000,
    "verify_events_per_s": 300_000,
}


# --- generating a federation ----------------------------------------------------------------


@dataclass
class SeasonPlan:
    """A season being recorded: its aggregates and the changes decided for later race days."""

    slug: str
    first_day: date
    races: dict[str, Race] = field(default_factory=dict)
    later: dict[int, list[tuple[str, str, Any]]] = field(default_factory=dict)


def athletes(rng: random.Random, cup: int) -> list[tuple[str, str]]:
    people = set()
    while len(people) < POOL:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}-{cup}{rng.randrange(100)}"
        people.add((name, rng.choice(NATIONS)))
    return sorted(people)


def declare(ledger: Ledger, year: int, discipline: int, at: datetime) -> tuple[SeasonPlan, int]:
    slug = f"fed-{year}-d{discipline:02d}"
    first = date(year, 11, 1) + timedelta(days=discipline)
    plan = SeasonPlan(slug, first)
    cups = [{"id": f"cup{c:02d}", "name": f"Cup {c}"} for c in range(CUPS)]
    for c in cups[::3]:
        c["best"] = RACE_DAYS - 2
    season = Season.declare(
        season=slug,
        name=f"Federation {year} discipline {discipline}",
        tables={"A": TABLE},
        cups=cups,
        by="bench",
        source="synthetic",
        timestamp=at,
    )
    for day in range(RACE_DAYS):
        for c in range(CUPS):
            race_id = f"D{day + 1}-C{c:02d}"
            plan.races[race_id] = Race.schedule(
                season=slug,
                race=race_id,
                cup=f"cup{c:02d}",
                race_date=first + timedelta(days=14 * day),
                table="A",
                points=TABLE,
                location=None,
                venue=None,
                by="bench",
                source="synthetic",
                timestamp=at,
            )
    ledger.save(season, *plan.races.values(), recorded_at=format_recorded_at(at))
    return plan, 1 + len(plan.races)


def race_day(
    ledger: Ledger,
    rng: random.Random,
    plan: SeasonPlan,
    pools: list[list[tuple[str, str]]],
    day: int,
) -> int:
    """Record one race day of a season, and the changes to earlier races decided that day."""
    at = datetime.combine(plan.first_day + timedelta(days=14 * day), datetime.min.time(), UTC)
    at += timedelta(hours=21)
    touched: dict[str, Race] = {}
    for c in range(CUPS):
        race_id = f"D{day + 1}-C{c:02d}"
        race = touched[race_id] = plan.races[race_id]
        place = 0
        for rank, (name, nation) in enumerate(rng.sample(pools[c], ENTRIES), start=1):
            roll = rng.random()
            status = "DNF" if roll < 0.03 else None
            if status is None and not (roll < 0.06 and place):  # 3%: a dead heat
                place = rank
            race.record_result(
                competitor=name,
                nation=nation,
                place=None if status else place,
                time=None if status else Decimal(3400 + rank * 7 + rng.randrange(5)) / 100,
                status=status,
                by="bench",
                source="synthetic",
                timestamp=at,
            )
            if status is None and roll > 0.98:  # a correction, a race day later
                plan.later.setdefault(day + 1, []).append(("correct", race_id, (name, nation)))
            elif status is None and roll > 0.97:  # a disqualification, after later races
                plan.later.setdefault(day + 2 + rng.randrange(3), []).append(
                    ("disqualify", race_id, (name, nation))
                )
    for action, race_id, (name, nation) in plan.later.pop(day, []):
        race = touched[race_id] = plan.races[race_id]
        entry = race.entry(name, nation)
        assert entry is not None
        common = {"competitor": name, "nation": nation, "by": "jury", "source": "bench"}
        if action == "correct" and entry.place is not None:
            race.correct_result(
                **common,
                place=entry.place + 1,
                time=entry.time,
                status=None,
                reason="timing",
                timestamp=at,
            )
        elif action == "disqualify" and not entry.disqualified:
            race.disqualify(**common, reason="false start", timestamp=at)
            if rng.random() < 0.2:
                plan.later.setdefault(day + 2, []).append(("reinstate", race_id, (name, nation)))
        elif action == "reinstate" and entry.disqualified:
            race.reinstate(**common, reason="appeal upheld", timestamp=at)
    if day == RACE_DAYS - 1 and rng.random() < 0.3:
        voided = plan.races[f"D{rng.randrange(RACE_DAYS - 1) + 1}-C{rng.randrange(CUPS):02d}"]
        if not voided.voided:
            voided.void(reason="ice failure", by="jury", source="bench", timestamp=at)
            touched[f"{voided.race}"] = voided
    pending = sum(len(r.pending_events) for r in touched.values())
    ledger.save(*touched.values(), recorded_at=format_recorded_at(at))
    return pending


def generate(path: Path, events: int, label: str, seed: int = 6) -> dict[str, Any]:
    """Record about ``events`` events; returns where the middle of the log is."""
    rng = random.Random(seed)
    ledger = Ledger(str(path))
    total = 0
    seasons: list[str] = []
    pools = [athletes(rng, c) for c in range(CUPS)]
    # A small ledger is one season at a time; a large one runs several in parallel.
    parallel = max(1, min(DISCIPLINES, events // (4 * SEASON_EVENTS)))
    with progress(f"generating {label} ledger", events) as advance:
        year = 1960
        while total < events:
            at = datetime(year, 10, 1, 9, tzinfo=UTC)
            plans = []
            for discipline in range(parallel):
                plan, n = declare(ledger, year, discipline, at)
                plans.append(plan)
                seasons.append(plan.slug)
                total += n
                advance(n)
            days = sorted(
                (p.first_day + timedelta(days=14 * d), i, d)
                for i, p in enumerate(plans)
                for d in range(RACE_DAYS)
            )
            for _, i, d in days:
                if total >= events:
                    break
                n = race_day(ledger, rng, plans[i], pools, d)
                total += n
                advance(n)
            year += 1
    head = ledger.head().position
    ledger.close()
    return {"events": head, "seasons": len(seasons)}


def middle(path: Path) -> tuple[str, date, datetime]:
    """A cup being raced at the middle of the log, a mid-season date, and that moment."""
    ledger = Ledger(str(path))
    head = ledger.head().position
    row = ledger.chain.chain_rows(head // 2, 1)[0]
    moment = datetime.fromisoformat(row.recorded_at)
    ledger.close()
    db = sqlite3.connect(path)
    # The cup whose mid-season date is the latest one on or before that moment: its
    # standings as of that date hold half a season of results, known at mid-log.
    dates: dict[tuple[str, str], list[str]] = {}
    for season, cup, race_date in db.execute(
        "SELECT season, cup, race_date FROM read_races WHERE position <= ?", (row.position,)
    ):
        dates.setdefault((season, cup), []).append(race_date)
    db.close()
    day = moment.date().isoformat()
    middles = {key: sorted(days)[(len(days) - 1) // 2] for key, days in dates.items()}
    # A ledger younger than half a season: its first cup, as of that moment.
    first = (min(middles), day)
    (season, cup), as_of = max(
        ((key, mid) for key, mid in middles.items() if mid <= day),
        key=lambda item: (item[1], item[0]),
        default=first,
    )
    return f"{season}/{cup}", date.fromisoformat(as_of), moment


# --- measuring ------------------------------------------------------------------------------


def raw_scan(path: Path) -> float:
    best = 0.0
    for _ in range(3):
        db = sqlite3.connect(path)
        started = time.perf_counter()
        count = 0
        for _row in db.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events"
        ):
            count += 1
        best = max(best, count / (time.perf_counter() - started))
        db.close()
    return best


def rebuild(path: Path, runs: int = 2) -> tuple[float, int]:
    """Best of ``runs`` full rebuilds (the raw scan is a best of 3: the machine may be shared)."""
    ledger = Ledger(str(path))
    head = ledger.head().position
    best = 0.0
    for _ in range(runs):
        with progress("rebuilding the read model", head) as advance:
            started = time.perf_counter()
            read_model(ledger).rebuild(advance=advance)
            best = max(best, head / (time.perf_counter() - started))
    ledger.close()
    return best, head


def query_p50(path: Path, runs: int = 50) -> tuple[float, str]:
    cup, as_of, known_at = middle(path)
    ledger = Ledger(str(path))
    query_standings(ledger, cup, as_of=as_of, known_at=known_at)  # catch up, warm the cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        query_standings(ledger, cup, as_of=as_of, known_at=known_at)
        times.append((time.perf_counter() - started) * 1000)
    ledger.close()
    return statistics.median(times), f"{cup} --as-of {as_of} --known-at {known_at.isoformat()}"


def ledger_command() -> list[str]:
    script = Path(sys.executable).with_name("ledger")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def cli_standings(path: Path) -> tuple[float, str]:
    cup, _, _ = middle(path)
    # As a user's shell runs it: Python keeps its compiled bytecode (its default; a machine
    # set up with PYTHONDONTWRITEBYTECODE would compile every module on every run). One run
    # first, untimed, so that the cache is written.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [*ledger_command(), "standings", cup, "--db", str(path)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times), f"ledger standings {cup}"


def verify(path: Path, processes: int | None = None) -> float:
    """Events per second of a verification: as `ledger verify` runs it, or in ``processes``."""
    ledger = Ledger(str(path))
    head = ledger.head().position
    with progress("verifying", head) as advance:
        started = time.perf_counter()
        result = verify_chain(ledger.chain, advance=advance, processes=processes)
        seconds = time.perf_counter() - started
    ledger.close()
    return result.events / seconds


def import_csv(path: Path, rows: int, folder: Path, run: int) -> tuple[float, int]:
    """Import a results file of ``rows`` rows for a new season into the ledger at ``path``."""
    rng = random.Random(7 + run)
    per_race = ENTRIES
    races = max(1, rows // per_race)
    season = folder / f"import-season-{run}.toml"
    lines = [
        f'[season]\nid = "import-bench-{run}"\nname = "Import benchmark {run}"\n',
        f"[tables]\nA = {TABLE}\n",
        *(f'[[cups]]\nid = "imp{c:02d}"\nname = "Import cup {c}"\n' for c in range(CUPS)),
        *(
            f'[[races]]\nid = "I{run}R{r:05d}"\ncup = "imp{r % CUPS:02d}"\n'
            f'date = {date(2030 + run, 1, 1) + timedelta(days=r // CUPS)}\ntable = "A"\n'
            for r in range(races)
        ),
    ]
    season.write_text("".join(lines), encoding="utf-8")
    csv_path = folder / f"import-results-{run}.csv"
    pools = [athletes(rng, c) for c in range(CUPS)]
    with csv_path.open("w", encoding="utf-8") as out:
        out.write("race,place,competitor,nation,time,status\n")
        for r in range(races):
            for place, (name, nation) in enumerate(rng.sample(pools[r % CUPS], per_race), 1):
                out.write(f"I{run}R{r:05d},{place},{name},{nation},{34 + place / 10:.2f},\n")
    ledger = Ledger(str(path))
    ledger.import_season_file(season, by="bench")
    started = time.perf_counter()
    receipt = ledger.import_results_file(csv_path, by="bench")
    seconds = time.perf_counter() - started
    ledger.close()
    return receipt.events / seconds, receipt.events


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the full ledger")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the ledgers here")
    args = parser.parse_args(argv)

    scratch = (
        Path(tempfile.mkdtemp(prefix="ledger-bench-")) if args.workdir is None else args.workdir
    )
    scratch.mkdir(parents=True, exist_ok=True)
    full, small = scratch / "full.db", scratch / "small.db"
    for db in (full, small):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    try:
        started = time.perf_counter()
        generated = generate(full, args.events, "full")
        generate_s = time.perf_counter() - started
        small_info = generate(small, max(args.events // 100, 500), "small", seed=5)

        scan = raw_scan(full)
        rebuilt, _ = rebuild(full)
        rebuild(small)
        p50_small, _ = query_p50(small)
        p50_large, query = query_p50(full)
        cli_s, cli = cli_standings(full)
        verified = verify(full)
        verified_one = verify(full, processes=1)
        # Three files, each a new season: the median rate (one import is at the mercy of
        # whatever else the machine does in that second).
        size = min(50_000, max(2_000, args.events // 10))
        imports = [import_csv(full, size, scratch, run) for run in (1, 2, 3)]
        imported = statistics.median(rate for rate, _ in imports)
        import_rows = imports[0][1]
    finally:
        if args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)

    ratios = {
        "rebuild_vs_raw_scan": rebuilt / scan,
        "query_large_vs_small": p50_large / p50_small,
    }
    checks = {
        "rebuild_vs_raw_scan": (
            ratios["rebuild_vs_raw_scan"],
            ">=",
            TARGETS["rebuild_vs_raw_scan"],
        ),
        "query_ms_p50_large": (p50_large, "<=", TARGETS["query_ms_p50_large"]),
        "query_large_vs_small": (
            ratios["query_large_vs_small"],
            "<=",
            TARGETS["query_large_vs_small"],
        ),
        "cli_standings_s": (cli_s, "<=", TARGETS["cli_standings_s"]),
        "import_rows_per_s": (imported, ">=", TARGETS["import_rows_per_s"]),
        "verify_events_per_s": (verified, ">=", TARGETS["verify_events_per_s"]),
    }
    targets = {
        name: {
            "measured": round(value, 3),
            "target": f"{op} {limit}",
            "met": value >= limit if op == ">=" else value <= limit,
        }
        for name, (value, op, limit) in checks.items()
    }
    result = {
        "events": generated["events"],
        "seasons": generated["seasons"],
        "events_small": small_info["events"],
        "generate_s": round(generate_s, 1),
        "raw_scan_rows_per_s": round(scan),
        "rebuild_events_per_s": round(rebuilt),
        "import_rows_per_s": round(imported),
        "import_rows": import_rows,
        "import_runs_rows_per_s": [round(rate) for rate, _ in imports],
        "query_ms_p50": {"small": round(p50_small, 2), "large": round(p50_large, 2)},
        "query": query,
        "cli_standings_s": round(cli_s, 3),
        "cli_command": cli,
        "verify_events_per_s": round(verified),
        "verify_processes": processes_for(generated["events"]),
        "verify_one_process_events_per_s": round(verified_one),
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "targets": targets,
        "machine": machine(),
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    return 0


def table(r: dict[str, Any]) -> str:
    t = r["targets"]

    def mark(name: str) -> str:
        return "yes" if t[name]["met"] else "**no**"

    rows = [
        ("events (full / small ledger)", f"{r['events']:,} / {r['events_small']:,}", "", ""),
        ("raw sqlite3 scan, rows/s", f"{r['raw_scan_rows_per_s']:,}", "", ""),
        (
            "rebuild, events/s",
            f"{r['rebuild_events_per_s']:,} ({r['ratios']['rebuild_vs_raw_scan']:.2f} × scan)",
            "≥ 0.30 × scan",
            mark("rebuild_vs_raw_scan"),
        ),
        (
            "query p50, ms (small / full)",
            f"{r['query_ms_p50']['small']} / {r['query_ms_p50']['large']}"
            f" ({r['ratios']['query_large_vs_small']:.2f} ×)",
            "≤ 20 ms, ≤ 2 × small",
            "yes"
            if t["query_ms_p50_large"]["met"] and t["query_large_vs_small"]["met"]
            else "**no**",
        ),
        ("`ledger standings`, s wall", f"{r['cli_standings_s']}", "≤ 0.6", mark("cli_standings_s")),
        (
            "import results, rows/s",
            f"{r['import_rows_per_s']:,}",
            "≥ 50,000",
            mark("import_rows_per_s"),
        ),
        (
            "verify, events/s",
            f"{r['verify_events_per_s']:,} ({r['verify_processes']} processes;"
            f" {r['verify_one_process_events_per_s']:,} in one)",
            "≥ 300,000",
            mark("verify_events_per_s"),
        ),
    ]
    lines = ["| measure | result | target | met |", "|---|---:|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    m = r["machine"]
    lines.append("")
    lines.append(
        f"{m['nproc']} cores ({m['cpu']}), {m['memory']}, Python {m['python']},"
        f" SQLite {m['sqlite']}, eventsourcing {m['eventsourcing']};"
        f" generated in {r['generate_s']} s"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
