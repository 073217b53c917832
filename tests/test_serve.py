"""`ledger serve` as a user starts it: worker processes, loopback, one line on the way."""

from __future__ import annotations

import http.client
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.test_http import SEASON_FILES, S, cli

LEDGER = str(Path(sys.executable).parent / "ledger")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def book(tmp_path: Path) -> str:
    db = str(tmp_path / "ledger.db")
    for kind, name in (("season", "season.toml"), ("results", "results.csv")):
        cli(CliRunner(), db, "import", kind, str(SEASON_FILES / name))
    return db


def test_two_workers_answer_at_once_on_a_kept_alive_connection(book: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [LEDGER, "serve", "--db", book, "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for _ in range(100):
            try:
                connection.request("GET", "/api/head")
                connection.getresponse().read()
                break
            except OSError:
                connection.close()
                time.sleep(0.1)
        times = []
        for _ in range(20):
            started = time.perf_counter()
            connection.request("GET", f"/api/standings/{S}/men-500m")
            response = connection.getresponse()
            body = response.read()
            times.append(time.perf_counter() - started)
            assert response.status == 200
        connection.close()
        assert b'"command": "standings"' in body
        # Nagle's algorithm left on would hold each response ~40 ms for the client's ACK.
        assert statistics.median(times) < 0.02, times
    finally:
        server.terminate()
        server.wait(timeout=20)
        assert server.stderr is not None
        first = server.stderr.readline().decode()
        server.stderr.close()
    assert first == f"serving {book} read-only on http://127.0.0.1:{port}/\n"


def test_an_address_it_cannot_listen_on_is_one_line(book: str) -> None:
    from cli.main import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--db", book, "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: --host 127.0.0.1 --port {port}: cannot listen there (Address already in use)\n"
    )
