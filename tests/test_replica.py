"""Readers on a PostgreSQL streaming replica: a hot standby made by `pg_basebackup -R`
(`.ci/replica`) serves the standings the primary's command line prints, and `ledger verify
--expect-head` checks on the replica the head published from the primary.

Set LEDGER_TEST_REPLICA to the replica's URL (any database: each test uses its own, created
on the primary and replicated). Without it the test is skipped, except under CI, where it is
required.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.http.app import create_app
from cli.main import app
from ledger.bundled import MEN_500M, season_dir
from tests.conftest import POSTGRES

REPLICA = os.environ.get("LEDGER_TEST_REPLICA", "")
S = "isu-ss-wc-2013-14"

if not (REPLICA and POSTGRES):
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI needs LEDGER_TEST_REPLICA and LEDGER_TEST_POSTGRES (.ci/replica)")
    pytest.skip("no streaming replica (LEDGER_TEST_REPLICA)", allow_module_level=True)

pytestmark = pytest.mark.postgres


def on_replica(primary_url: str) -> str:
    """The same database's URL on the replica."""
    base, _, _ = REPLICA.rpartition("/")
    return f"{base}/{primary_url.rpartition('/')[2]}"


def caught_up(primary_url: str, replica_url: str, timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    import psycopg

    with psycopg.connect(primary_url, autocommit=True) as p:
        row = p.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    lsn = row[0]
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(replica_url, autocommit=True, connect_timeout=2) as r:
                done = r.execute(
                    "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (lsn,)
                ).fetchone()
                if done and done[0]:
                    return
        except psycopg.OperationalError:
            pass  # the database's creation is not replayed yet
        if time.monotonic() > deadline:
            raise AssertionError(f"the replica did not replay up to {lsn} in {timeout} s")
        time.sleep(0.1)


def run(db: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--db", db])
    return result.exit_code, result.stdout, result.stderr


def standings(db: str) -> Any:
    code, out, err = run(db, "standings", "men-500m", "--season", S, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_a_streaming_replica_serves_the_primarys_standings_and_verifies_its_head(
    postgres_database: str, tmp_path: Path
) -> None:
    primary, folder = postgres_database, season_dir(MEN_500M)
    for kind, name in (("season", "season.toml"), ("results", "results.csv")):
        assert run(primary, "import", kind, str(folder / name))[0] == 0
    replica = on_replica(primary)
    caught_up(primary, replica)
    with psycopg_connection(replica) as c:
        assert c.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)

    published = json.loads(run(primary, "verify", "--format", "json")[1])["head"]["hash"]
    code, out, err = run(replica, "verify", "--expect-head", published)
    assert code == 0, err
    assert out.endswith(f"353 events, head {published}\n")

    served = create_app(replica)
    try:
        with TestClient(served) as c:
            first = c.get(f"/api/standings/{S}/men-500m")
            assert first.status_code == 200
            assert first.json() == standings(primary)
            assert c.get("/api/verify").json()["verified"] is True

            # A write on the primary reaches the readers on the replica once it is replayed.
            assert run(primary, "disqualify", "HVN2", "Jan Smeekens", "--reason", "test")[0] == 0
            caught_up(primary, replica)
            second = c.get(
                f"/api/standings/{S}/men-500m", headers={"If-None-Match": first.headers["etag"]}
            )
            assert second.status_code == 200
            assert second.json() == standings(primary)
            assert second.json()["head"]["position"] == 354
            tag = second.headers["etag"]
            again = c.get(f"/api/standings/{S}/men-500m", headers={"If-None-Match": tag})
            assert again.status_code == 304
    finally:
        served.state.server.ledger.close()

    code, _, err = run(replica, "correct", "HVN2", "Ronald Mulder", "--place", "3", "--reason", "x")
    assert code == 1
    assert err.count("\n") == 1
    assert "read-only" in err and "write to the primary" in err
    newest = json.loads(run(primary, "verify", "--format", "json")[1])["head"]["hash"]
    code, out, _ = run(replica, "verify", "--expect-head", published)
    assert code == 0
    assert out == f"published head found at position 353\n354 events, head {newest}\n"


def psycopg_connection(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)
