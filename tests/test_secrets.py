"""A password in a --db URL never appears in any output, whatever the URL's spelling."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.store import redact, redact_text

SECRET = "s3cr3tPW"
# Mistyped and odd spellings, with a host that answers quickly (refused or no such role).
URLS = [
    f"POSTGRESQL://u:{SECRET}@127.0.0.1:5432/x",
    f"PostgreSQL://u:{SECRET}@127.0.0.1:1/x",
    f"postgresql+psycopg://u:{SECRET}@127.0.0.1/x",
    f"postgresq://u:{SECRET}@127.0.0.1/x",
    f"postgresql:/u:{SECRET}@127.0.0.1/x",
    f"postgresql:u:{SECRET}@127.0.0.1/x",
    f"postgres:///u:{SECRET}@127.0.0.1/x",
    f"mysql://u:{SECRET}@127.0.0.1/x",
    f"http://u:{SECRET}@127.0.0.1/x",
    f"postgresql://u:{SECRET}@[::1/x",
    f"postgresql://u:{SECRET}@[zz]:5432/x",
    f"postgresql://u:{SECRET}@127.0.0.1:54x/x",
    f"postgresql://u:{SECRET}@127.0.0.1/",
    f"postgresql://u:{SECRET}@ho@st:1/x",
    f"postgresql://u:{SECRET}@127.0.0.1:1/x",
    f"postgresql://127.0.0.1:1/x?password={SECRET}",
    f"postgresql://127.0.0.1:1/x?sslmode=disable&PASSWORD={SECRET}",
]
COMMANDS = [
    ["standings", "men-500m"],
    ["verify", "--format", "json"],
    ["init"],
    ["history", "--format", "json"],
    ["record", "HVN2", "X", "--place", "1"],
    ["export", "events"],
]


@pytest.mark.parametrize("url", URLS)
def test_no_output_shows_the_password(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a spelling taken for a file path lands here, if anywhere
    runner = CliRunner()
    local = str(tmp_path / "local.db")
    runs = [[*command, "--db", url] for command in COMMANDS]
    runs += [["copy", "--from", url, "--to", local], ["copy", "--from", local, "--to", url]]
    runs += [["standings", "men-500m", "extra", url]]  # a usage error quoting it
    for args in runs:
        result = runner.invoke(app, args)
        assert result.exit_code != 0
        assert SECRET not in result.stdout + result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    # From the environment too.
    result = runner.invoke(app, ["standings", "men-500m"], env={"LEDGER_DB": url})
    assert SECRET not in result.stdout + result.stderr
    assert result.exit_code == 1


@pytest.mark.parametrize("url", URLS)
def test_a_url_fit_to_print_has_no_password(url: str) -> None:
    assert SECRET not in redact(url)
    assert SECRET not in redact_text(f"could not open {url}: refused")
    assert "***" in redact(url)


def test_a_url_without_a_password_and_a_file_path_print_as_they_are() -> None:
    for db in ("postgresql://postgres@127.0.0.1:5432/results", "2013-14.db", "/tmp/a:b@c.db"):
        assert redact(db) == db
