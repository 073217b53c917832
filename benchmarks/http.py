"""Benchmark `ledger serve`: requests per second and p50/p99 latency of
`GET /api/standings/SEASON/CUP` on loopback, uncached and with `If-None-Match` hits (304),
with 1 and with 2 worker processes. "Uncached" (no If-None-Match) is measured twice: every
answer computed from the read model (`--keep 0`), and with the server's answers kept in memory
by URL and log head (the default).

    .venv/bin/python benchmarks/http.py --workdir /tmp/bench --events 1000000 --json out.json

The ledger is the synthetic federation of ``benchmarks/run.py`` (generated in ``--workdir``,
or reused from an earlier run there). The server runs in its own processes; the load comes from
`wrk` (Debian's package) in another process, or, without it, from a small Python client in
processes of its own. Every run is bounded by ``--seconds``; only 127.0.0.1 is addressed.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where its own name would hide
# the standard library's http: look there last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

ROOT = HERE.parent
sys.path[:0] = [str(ROOT)]
sys.path.append(str(HERE))

import run as federation  # noqa: E402  (benchmarks/run.py: the synthetic ledger)

LEDGER = str(Path(sys.executable).parent / "ledger")
TARGETS = {"uncached_rps": 500.0, "hits_rps": 2000.0, "uncached_p99_ms": 50.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def a_cup(db: Path) -> str:
    """The newest season's first cup, as SEASON/CUP."""
    out = subprocess.run(
        [LEDGER, "cups", "--format", "json", "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cups = json.loads(out)["data"]
    newest = max(cups, key=lambda c: (str(c["last"]), c["season"]))
    return f"{newest['season']}/{newest['cup']}"


def serve(db: Path, port: int, workers: int, keep: int) -> subprocess.Popen[bytes]:
    args = ["--port", str(port), "--workers", str(workers), "--keep", str(keep)]
    server = subprocess.Popen(
        [LEDGER, "serve", "--db", str(db), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/api/head")
            connection.getresponse().read()
            connection.close()
            return server
        except OSError:
            time.sleep(0.05)
    server.terminate()
    raise RuntimeError("the server did not start")


def etag(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return str(response.getheader("ETag"))


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def with_wrk(port: int, path: str, headers: dict[str, str], seconds: int, connections: int) -> Any:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    percentiles = {
        int(p): float(v) * _UNIT[u]
        for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = re.search(r"(\d+) requests in", out)
    return {
        "client": "wrk",
        "requests": int(requests.group(1)) if requests else None,
        "rps": rps,
        "p50_ms": percentiles.get(50),
        "p99_ms": percentiles.get(99),
        "bad_responses": int(errors.group(1)) if errors else 0,
    }


def _client(args: tuple[int, str, dict[str, str], float, Any]) -> list[float]:
    port, path, headers, until, _ = args
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    while time.monotonic() < until:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        if response.status not in (200, 304):
            raise RuntimeError(f"status {response.status}")
    connection.close()
    return times


def with_python(
    port: int, path: str, headers: dict[str, str], seconds: int, connections: int
) -> Any:
    until = time.monotonic() + seconds
    with multiprocessing.Pool(connections) as pool:
        runs = pool.map(_client, [(port, path, headers, until, i) for i in range(connections)])
    times = sorted(t for run in runs for t in run)
    return {
        "client": "python",
        "requests": len(times),
        "rps": len(times) / seconds,
        "p50_ms": statistics.median(times),
        "p99_ms": times[int(len(times) * 0.99) - 1],
        "bad_responses": 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the ledger")
    parser.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) it here")
    parser.add_argument("--seconds", type=int, default=5, help="each load run's length")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args(argv)
    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="ledger-http-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    name = "full" if args.events >= 500_000 else "small"
    db, info, _ = federation.prepare(scratch, name, args.events, 6, reuse=True)
    cup = a_cup(db)
    path = f"/api/standings/{cup}"
    load = (
        with_wrk
        if args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
        else with_python
    )
    runs: dict[str, Any] = {}
    try:
        for workers in (1, 2):
            for keep in (0, 256):
                port = free_port()
                server = serve(db, port, workers, keep)
                try:
                    load(port, path, {}, 1, args.connections)  # warm up every worker
                    if keep == 0:  # every answer computed from the read model
                        runs[f"{workers} worker(s), uncached"] = load(
                            port, path, {}, args.seconds, args.connections
                        ) | {"workers": workers, "kept": False, "if_none_match": False}
                        continue
                    runs[f"{workers} worker(s), uncached, answers kept in memory"] = load(
                        port, path, {}, args.seconds, args.connections
                    ) | {"workers": workers, "kept": True, "if_none_match": False}
                    tag = etag(port, path)
                    runs[f"{workers} worker(s), If-None-Match hits"] = load(
                        port, path, {"If-None-Match": tag}, args.seconds, args.connections
                    ) | {"workers": workers, "kept": True, "if_none_match": True}
                finally:
                    server.terminate()
                    server.wait(timeout=20)
    finally:
        if args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    two_uncached = runs["2 worker(s), uncached"]
    two_hits = runs["2 worker(s), If-None-Match hits"]
    two_kept = runs["2 worker(s), uncached, answers kept in memory"]
    checks = {
        "uncached, 2 workers, req/s": (two_uncached["rps"], ">=", TARGETS["uncached_rps"]),
        "uncached, kept, 2 workers, req/s": (two_kept["rps"], ">=", TARGETS["uncached_rps"]),
        "uncached, kept, 2 workers, p99 ms": (
            two_kept["p99_ms"],
            "<=",
            TARGETS["uncached_p99_ms"],
        ),
        "304 hits, 2 workers, req/s": (two_hits["rps"], ">=", TARGETS["hits_rps"]),
        "uncached, 2 workers, p99 ms": (two_uncached["p99_ms"], "<=", TARGETS["uncached_p99_ms"]),
    }
    result = {
        "route": path,
        "events": info["events"],
        "connections": args.connections,
        "seconds": args.seconds,
        "runs": runs,
        "targets": {
            k: {"value": v, "op": op, "target": t, "met": v >= t if op == ">=" else v <= t}
            for k, (v, op, t) in checks.items()
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{path} on {info['events']:,} events, {args.connections} connections")
    print("| run | req/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for label, r in runs.items():
        print(f"| {label} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    for label, t in result["targets"].items():
        print(f"{label}: {t['value']:,.1f} (target {t['op']} {t['target']:g}): "
              f"{'met' if t['met'] else 'NOT met'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
