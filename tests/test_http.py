"""`ledger serve`'s JSON API: every route answers with what the command line prints for
`--format json`, the published tables come back through HTTP, and caching, errors and the
read-only rule hold."""

from __future__ import annotations

import csv
import json
import os
import re
import stat
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.http.app import create_app
from cli.main import app
from ledger.bundled import MEN_500M, RELAYS, season_dir
from ledger.errors import StoreError

S = "isu-ss-wc-2013-14"
ST = "isu-st-wc-2013-14"
SEASON_FILES = season_dir(MEN_500M)


def cli(runner: CliRunner, db: str, *args: str) -> str:
    result = runner.invoke(app, [*args, "--db", db])
    assert result.exit_code == 0, result.output
    return result.stdout


def build(runner: CliRunner, db: str) -> None:
    """The README's tour: the men's 500 m, a correction, a disqualification, a rename; the
    relays season beside it."""
    cli(runner, db, "import", "season", str(SEASON_FILES / "season.toml"),
        "--recorded-at", "2013-11-01T09:00:00+00:00")  # fmt: skip
    cli(runner, db, "import", "results", str(SEASON_FILES / "results.csv"),
        "--recorded-at", "2014-03-16T21:00:00+00:00", "--source", "ISU results")  # fmt: skip
    cli(runner, db, "correct", "HVN2", "Michel Mulder", "--time", "34.94", "--reason",
        "transcription error", "--recorded-at", "2014-03-18T09:00:00+00:00")  # fmt: skip
    cli(runner, db, "disqualify", "HVN2", "POL #16", "--reason", "crossing-zone infringement",
        "--by", "jury", "--recorded-at", "2014-03-20T14:00:00+00:00")  # fmt: skip
    cli(runner, db, "rename", "Bai Quiming", "--to", "Bai Qiuming", "--reason", "misspelt",
        "--recorded-at", "2014-03-21T10:00:00+00:00")  # fmt: skip
    relays = season_dir(RELAYS)
    cli(runner, db, "import", "season", str(relays / "season.toml"))
    cli(runner, db, "import", "results", str(relays / "results.csv"))


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("http") / "ledger.db")
    build(CliRunner(), db)
    return db


@pytest.fixture(scope="module")
def client(book: str) -> Iterator[TestClient]:
    with TestClient(create_app(book)) as c:
        yield c


# (route, the command line that prints the same JSON)
SAME = [
    (f"/api/standings/{S}/men-500m", ["standings", "men-500m", "--season", S]),
    (
        f"/api/standings/{S}/men-500m?as_of=2014-03-09&known_at=2014-03-17",
        [
            "standings",
            "men-500m",
            "--season",
            S,
            "--as-of",
            "2014-03-09",
            "--known-at",
            "2014-03-17",
        ],
    ),
    (
        f"/api/standings/{S}/men-500m?known_at=2014-03-20T13:00:00%2B00:00",
        ["standings", "men-500m", "--season", S, "--known-at", "2014-03-20T13:00:00+00:00"],
    ),
    (f"/api/standings/{ST}/men-5000m-relay", ["standings", "men-5000m-relay", "--season", ST]),
    (f"/api/results/{S}/HVN2", ["results", "HVN2", "--season", S]),
    (
        f"/api/results/{S}/HVN2?known_at=2014-03-17&as_of=2014-03-20",
        ["results", "HVN2", "--season", S, "--known-at", "2014-03-17", "--as-of", "2014-03-20"],
    ),
    ("/api/races", ["races"]),
    (f"/api/races?season={S}&as_of=2013-12-31", ["races", "--season", S, "--as-of", "2013-12-31"]),
    (f"/api/races?cup={ST}/men-5000m-relay", ["races", "--cup", f"{ST}/men-5000m-relay"]),
    ("/api/seasons", ["seasons"]),
    ("/api/seasons?known_at=2014-03-17", ["seasons", "--known-at", "2014-03-17"]),
    ("/api/cups", ["cups"]),
    (f"/api/cups?season={ST}", ["cups", "--season", ST]),
    ("/api/competitors?search=mulder", ["competitors", "mulder"]),
    (
        "/api/competitors?search=bai&known_at=2014-03-20",
        ["competitors", "bai", "--known-at", "2014-03-20"],
    ),
    ("/api/competitors?nation=ned", ["competitors", "--nation", "NED"]),
    ("/api/competitor/Michel%20Mulder", ["competitor", "Michel Mulder"]),
    (
        "/api/competitor/Michel%20Mulder?nation=NED&as_of=2014-03-09",
        ["competitor", "Michel Mulder", "--nation", "NED", "--as-of", "2014-03-09"],
    ),
    ("/api/history", ["history"]),
    ("/api/history?race=HVN2&changes=true", ["history", "--race", "HVN2", "--changes"]),
    ("/api/history?commands=true", ["history", "--commands"]),
    (
        "/api/history?by=jury&since=2014-03-17&until=2014-03-21",
        ["history", "--by", "jury", "--since", "2014-03-17", "--until", "2014-03-21"],
    ),
    ("/api/history?command=354", ["history", "--command", "354"]),
    (
        "/api/history?competitor=Michel%20Mulder&nation=NED&known_at=2014-03-19",
        ["history", "--competitor", "Michel Mulder", "--nation", "NED", "--known-at", "2014-03-19"],
    ),
    (
        f"/api/diff/{S}/men-500m?known_at=2014-03-17T00:00:00Z",
        ["diff", "men-500m", "--season", S, "--known-at", "2014-03-17T00:00:00Z"],
    ),
    (
        f"/api/diff/{S}/men-500m?known_at=2014-03-17&vs=2014-03-20T15:00:00Z",
        [
            "diff",
            "men-500m",
            "--season",
            S,
            "--known-at",
            "2014-03-17",
            "--vs",
            "2014-03-20T15:00:00Z",
        ],
    ),
    (
        f"/api/diff/{S}/men-500m?as_of=2014-03-09&vs_as_of=2014-03-16",
        ["diff", "men-500m", "--season", S, "--as-of", "2014-03-09", "--vs-as-of", "2014-03-16"],
    ),
    (
        f"/api/explain/{S}/men-500m/POL%20%2336",
        ["explain", "men-500m", "POL #36", "--season", S],
    ),
    (
        f"/api/explain/{S}/men-500m/Michel%20Mulder?nation=NED&as_of=2014-03-09",
        [
            "explain",
            "men-500m",
            "Michel Mulder",
            "--nation",
            "NED",
            "--season",
            S,
            "--as-of",
            "2014-03-09",
        ],
    ),
    ("/api/checks", ["check"]),
    (f"/api/checks?race={S}/HVN2", ["check", f"{S}/HVN2"]),
    ("/api/verify", ["verify"]),
    ("/api/export/results", ["export", "results"]),
    (
        f"/api/export/results?cup={S}/men-500m&as_of=2014-01-01&known_at=2014-03-17",
        [
            "export",
            "results",
            "--cup",
            f"{S}/men-500m",
            "--as-of",
            "2014-01-01",
            "--known-at",
            "2014-03-17",
        ],
    ),
]


def cli_json(runner: CliRunner, db: str, args: list[str]) -> Any:
    return json.loads(cli(runner, db, *args, "--format", "json"))


@pytest.mark.parametrize(("url", "args"), SAME, ids=[u for u, _ in SAME])
def test_every_route_answers_with_the_command_lines_json(
    client: TestClient, book: str, url: str, args: list[str]
) -> None:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    expected = cli_json(CliRunner(), book, args)
    if args[0] == "check":  # the command line's check takes the race as an argument
        expected["query"] = expected["query"] | {"season": None}
    assert response.json() == expected


def test_the_standings_are_byte_for_byte_what_the_command_line_prints(
    client: TestClient, book: str
) -> None:
    response = client.get(f"/api/standings/{S}/men-500m?as_of=2014-03-09")
    printed = cli(CliRunner(), book, "standings", "men-500m", "--season", S, "--as-of",
                  "2014-03-09", "--format", "json")  # fmt: skip
    assert response.text == printed


def test_the_history_streams_the_same_text_as_the_command_line(
    client: TestClient, book: str
) -> None:
    printed = cli(CliRunner(), book, "history", "--race", "HVN2", "--format", "json")
    assert client.get("/api/history?race=HVN2").text == printed


def test_the_head_route_names_the_log_head(client: TestClient, book: str) -> None:
    data = client.get("/api/head").json()
    verify = cli_json(CliRunner(), book, ["verify"])
    assert data["command"] == "head"
    assert data["head"] == verify["head"]
    assert data["events"] == verify["events"]
    assert data["recorded_at"].endswith("Z")


# --- the published tables, through HTTP --------------------------------------------------


def published(path: Path) -> dict[int, set[tuple[str, str, Decimal]]]:
    by_rank: dict[int, set[tuple[str, str, Decimal]]] = defaultdict(set)
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_rank[int(row["rank"])].add(
                (row["competitor"], row["nation"], Decimal(row["points"]))
            )
    return dict(by_rank)


def served(rows: list[dict[str, Any]]) -> dict[int, set[tuple[str, str, Decimal]]]:
    by_rank: dict[int, set[tuple[str, str, Decimal]]] = defaultdict(set)
    for row in rows:
        by_rank[row["rank"]].add(
            (row["competitor"], row["nation"] or "", Decimal(str(row["points"])))
        )
    return dict(by_rank)


def test_the_men_500m_published_table_comes_back_through_http(db_url: str) -> None:
    runner = CliRunner()
    for kind, name in (("season", "season.toml"), ("results", "results.csv")):
        cli(runner, db_url, "import", kind, str(SEASON_FILES / name))
    with TestClient(create_app(db_url)) as c:
        response = c.get(f"/api/standings/{S}/men-500m")
    assert response.status_code == 200
    rows = response.json()["standings"]
    assert len(rows) == 55
    assert served(rows) == published(SEASON_FILES / "published-standings.csv")
    expected = cli_json(runner, db_url, ["standings", "men-500m", "--season", S])
    assert response.json() == expected


@pytest.mark.parametrize("cup", ["men-5000m-relay", "women-3000m-relay"])
def test_the_relays_published_top_five_come_back_through_http(client: TestClient, cup: str) -> None:
    rows = client.get(f"/api/standings/{ST}/{cup}").json()["standings"]
    assert served(rows[:5]) == published(season_dir(RELAYS) / f"published-standings-{cup}.csv")


def rounds(path: Path) -> dict[date, dict[int, set[tuple[str, str, Decimal]]]]:
    """A published file's rounds: each round's ranked rows above 0 points."""
    found: dict[date, dict[int, set[tuple[str, str, Decimal]]]] = defaultdict(dict)
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            points = Decimal(row["points"])
            if row["rank"] and points > 0:
                table = found[date.fromisoformat(row["date"])]
                table.setdefault(int(row["rank"]), set()).add(
                    (row["competitor"], row["nation"], points)
                )
    return found


@pytest.mark.parametrize(
    ("season", "cup"), [("f1-1988", "drivers"), ("f1-2021", "drivers"), ("f1-2021", "constructors")]
)
def test_every_f1_round_comes_back_through_http(tmp_path: Path, season: str, cup: str) -> None:
    runner = CliRunner()
    db = str(tmp_path / "f1.db")
    folder = season_dir(season)
    for kind, name in (("season", "season.toml"), ("results", "results.csv")):
        cli(runner, db, "import", kind, str(folder / name))
    with TestClient(create_app(db)) as c:
        for day, table in rounds(folder / f"published-standings-{cup}.csv").items():
            rows = c.get(f"/api/standings/{season}/{cup}?as_of={day}").json()["standings"]
            assert served([r for r in rows if Decimal(str(r["points"])) > 0]) == table, day


# --- caching ---------------------------------------------------------------------------------


def test_a_matching_if_none_match_is_answered_304_without_a_body(client: TestClient) -> None:
    url = f"/api/standings/{S}/men-500m"
    first = client.get(url)
    tag = first.headers["etag"]
    assert tag.startswith('W/"')
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    strong = tag.removeprefix("W/")
    assert client.get(url, headers={"If-None-Match": f'"x", {strong}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize(
    "url", [f"/api/standings/{S}/men-500m", "/api/head", f"/standings/{S}/men-500m"]
)
def test_head_answers_as_get_without_the_body(client: TestClient, url: str) -> None:
    got = client.get(url)
    head = client.head(url)
    assert (head.status_code, got.status_code) == (200, 200)
    assert head.content == b""
    for name in ("etag", "content-type", "content-length", "cache-control"):
        assert head.headers.get(name) == got.headers.get(name), name
    assert int(head.headers["content-length"]) == len(got.content) > 0
    unchanged = client.head(url, headers={"if-none-match": got.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert client.head("/api/nothing-here").status_code == 404


@pytest.mark.parametrize("url", ["/api/history", "/api/export/events"])
def test_head_of_a_streamed_answer_is_its_headers(client: TestClient, url: str) -> None:
    got = client.get(url)
    head = client.head(url)
    assert (head.status_code, got.status_code) == (200, 200)
    assert head.content == b"" and len(got.content) > 0
    assert head.headers["content-type"] == got.headers["content-type"]


def test_swagger_ui_is_served_from_the_package_and_loads_nothing_from_elsewhere(
    client: TestClient,
) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(loaded) == [
        "/docs/assets/favicon.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    assert "url: '/openapi.json'" in page.text and "//" not in "".join(loaded)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline'" in policy and "connect-src 'self'" in policy
    for asset, kind in [("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css")]:
        got = client.get(f"/docs/assets/{asset}")
        assert got.status_code == 200 and kind in got.headers["content-type"]
        assert len(got.content) > 100_000
    # Every other page keeps its policy: no script at all.
    assert "script-src" not in client.get("/").headers["content-security-policy"]
    assert client.get("/docs/assets/missing.js").status_code == 404
    # Nothing outside the assets' folder is served, and the page is read-only.
    for outside in ("/docs/assets/..%2F..%2F__init__.py", "/docs/assets/%00", "/docs/assets/"):
        assert client.get(outside).status_code == 404, outside
    assert client.post("/docs").status_code == 405


def test_the_etag_names_the_head_the_answer_was_computed_at(client: TestClient) -> None:
    live = client.get(f"/api/standings/{S}/men-500m")
    then = client.get(f"/api/standings/{S}/men-500m?known_at=2014-03-17")
    head, past = live.json()["head"], then.json()["head"]
    assert f"-{head['position']}-{head['hash'][:20]}" in live.headers["etag"]
    assert f"-{past['position']}-{past['hash'][:20]}" in then.headers["etag"]
    assert live.headers["etag"] != then.headers["etag"]


def test_a_known_at_before_the_head_is_frozen_and_a_live_answer_is_revalidated(
    client: TestClient,
) -> None:
    frozen = client.get(f"/api/standings/{S}/men-500m?known_at=2014-03-17")
    assert frozen.headers["cache-control"] == "public, max-age=31536000, immutable"
    live = client.get(f"/api/standings/{S}/men-500m")
    assert live.headers["cache-control"] == "public, no-cache"
    moving = client.get(f"/api/standings/{S}/men-500m?known_at=7d")  # moves with the clock
    assert moving.headers["cache-control"] == "public, no-cache"
    future = client.get(f"/api/standings/{S}/men-500m?known_at=2999-01-01")
    assert future.headers["cache-control"] == "public, no-cache"


def test_a_write_changes_the_etag_and_the_answer(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "ledger.db")
    for kind, name in (("season", "season.toml"), ("results", "results.csv")):
        cli(runner, db, "import", kind, str(SEASON_FILES / name),
            "--recorded-at", "2014-03-16T21:00:00+00:00")  # fmt: skip
    with TestClient(create_app(db)) as c:
        url = f"/api/standings/{S}/men-500m"
        before = c.get(url)
        tag = before.headers["etag"]
        cli(runner, db, "disqualify", "HVN2", "Jan Smeekens", "--reason", "test")
        after = c.get(url, headers={"If-None-Match": tag})
        assert after.status_code == 200
        assert after.headers["etag"] != tag
        assert after.json()["head"]["position"] == before.json()["head"]["position"] + 1
        assert after.json() == cli_json(runner, db, ["standings", "men-500m", "--season", S])


# --- errors ----------------------------------------------------------------------------------

ERRORS = [
    (f"/api/standings/{S}/men-500m?as_of=2014-13-01", 400, "as_of '2014-13-01': not a date"),
    (f"/api/standings/{S}/men-500m?known_at=soon", 400, "known_at 'soon'"),
    (f"/api/standings/{S}/men-500m?known_at=2014-03-17T09:00:00", 400, "known_at"),
    (f"/api/standings/{S}/men-500", 404, "unknown cup"),
    ("/api/standings/no-such-season/men-500m", 404, "unknown"),
    (f"/api/results/{S}/HVN9", 404, "unknown race"),
    ("/api/competitor/Nobody", 404, "Nobody"),
    ("/api/competitors?nation=1", 400, "nation"),
    (f"/api/explain/{S}/men-500m/Nobody", 404, "Nobody"),
    (f"/api/diff/{S}/men-500m", 400, "say what to compare"),
    (f"/api/diff/{S}/men-500m?known_at=2014-03-17&vs=never", 400, "vs 'never'"),
    ("/api/history?command=abc", 400, "command"),
    ("/api/history?command=0", 400, "command"),
    ("/api/history?since=tomorrowish", 400, "since"),
    ("/api/history?race=HVN9", 404, "unknown race"),
    ("/api/history?changes=maybe", 400, "changes"),
    ("/api/races?season=nope", 404, "unknown season 'nope'"),
    ("/api/checks?race=HVN9", 404, "unknown race"),
    ("/api/verify?expect_head=zz", 400, "expect_head"),
    ("/api/verify?expect_head=" + "ab" * 32, 409, "ab"),
    ("/api/nothing-here", 404, "Not Found"),
]


@pytest.mark.parametrize(("url", "status", "words"), ERRORS, ids=[u for u, _, _ in ERRORS])
def test_bad_parameters_are_400_and_unknown_ids_404_with_one_line_of_json(
    client: TestClient, url: str, status: int, words: str
) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    assert words in body["error"]
    assert "\n" not in body["error"]
    assert "--" not in body["error"]  # the API's words, not the command line's


def test_no_route_writes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    methods = {m for path in document["paths"].values() for m in path}
    assert methods == {"get"}
    assert client.post(f"/api/standings/{S}/men-500m").status_code == 405
    assert client.delete("/api/head").json() == {"error": "Method Not Allowed"}


def test_the_openapi_document_lists_every_route(client: TestClient) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert paths == {
        "/api/standings/{season}/{cup}",
        "/api/results/{season}/{race}",
        "/api/races",
        "/api/seasons",
        "/api/cups",
        "/api/competitors",
        "/api/competitor/{name}",
        "/api/history",
        "/api/diff/{season}/{cup}",
        "/api/explain/{season}/{cup}/{name}",
        "/api/checks",
        "/api/head",
        "/api/verify",
        "/api/export/results",
        "/api/export/events",
    }


def test_it_serves_a_ledger_file_it_may_not_write(tmp_path: Path, book: str) -> None:
    copy = tmp_path / "read-only.db"
    copy.write_bytes(Path(book).read_bytes())
    copy.chmod(stat.S_IRUSR | stat.S_IRGRP)
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)  # no journal file can be made beside it
    try:
        with TestClient(create_app(str(copy))) as c:
            assert c.get(f"/api/standings/{S}/men-500m").status_code == 200
    finally:
        tmp_path.chmod(stat.S_IRWXU)


def test_a_missing_ledger_is_refused_and_never_created(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    with pytest.raises(StoreError, match="no ledger there"):
        create_app(str(typo))
    result = CliRunner().invoke(app, ["serve", "--db", str(typo)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "no ledger there" in result.stderr
    assert not typo.exists()
    assert os.listdir(tmp_path) == []


# --- pages -----------------------------------------------------------------------------------


def test_every_page_names_its_log_head_and_escapes_what_it_shows(
    client: TestClient, book: str
) -> None:
    head = cli_json(CliRunner(), book, ["verify"])["head"]
    for url in [
        "/",
        f"/seasons/{S}",
        f"/standings/{S}/men-500m?as_of=2014-03-09",
        f"/results/{S}/HVN2",
        "/competitor/Michel%20Mulder?nation=NED",
        f"/explain/{S}/men-500m/POL%20%2336",
        f"/diff/{S}/men-500m?known_at=2014-03-17",
        f"/diff/{S}/men-500m",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("text/html")
        assert '<meta name="viewport"' in response.text
        assert "<script" not in response.text
        assert f"<strong>{head['position']}</strong> <code>{head['hash']}</code>" in response.text
    assert "Men&#39;s 500 m" in client.get(f"/standings/{S}/men-500m").text


def test_a_page_for_an_unknown_id_is_a_404_page(client: TestClient) -> None:
    response = client.get(f"/standings/{S}/%3Cb%3Enope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "&lt;b&gt;nope" in response.text
    assert client.get(f"/standings/{S}/men-500m?as_of=someday").status_code == 400


def test_the_http_edge_imports_no_typer_nor_rich() -> None:
    from tests.test_architecture import imported_modules

    found = {(f, m) for f, m in imported_modules("cli") if f.startswith("cli/http/")}
    assert found, "the check sees the HTTP edge's imports"
    assert not {(f, m) for f, m in found if m in ("typer", "rich")}


def test_a_kept_answer_is_the_computed_one_and_a_moving_moment_is_never_kept(
    book: str,
) -> None:
    computing = TestClient(create_app(book, keep=0))
    keeping = TestClient(create_app(book, keep=2))
    for url in [
        f"/api/standings/{S}/men-500m",
        f"/api/standings/{S}/men-500m?known_at=2014-03-17",
        f"/standings/{S}/men-500m?as_of=2014-03-09",
        f"/api/explain/{S}/men-500m/POL%20%2336",
    ]:
        first, again = keeping.get(url), keeping.get(url)
        assert first.content == again.content == computing.get(url).content
        assert first.headers["etag"] == again.headers["etag"]
        assert first.headers["cache-control"] == again.headers["cache-control"]
    server = keeping.app.state.server  # type: ignore[attr-defined]
    assert len(server._kept) == 2  # the newest two
    moving = [keeping.get(f"/api/standings/{S}/men-500m?known_at=1s").json() for _ in range(2)]
    assert moving[0]["query"]["known_at"] != moving[1]["query"]["known_at"]


def test_no_request_replays_the_log(book: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.application import Ledger

    def replay(*args: object, **kwargs: object) -> None:
        raise AssertionError("a request replayed the log")

    monkeypatch.setattr(Ledger, "read_log", replay)
    monkeypatch.setattr(Ledger, "read_events", replay)
    with TestClient(create_app(book, keep=0)) as c:
        for url, _ in SAME:
            if url.startswith("/api/verify"):
                continue  # verifying is reading the whole log, by definition
            assert c.get(url).status_code == 200, url
        assert c.get(f"/standings/{S}/men-500m").status_code == 200
        assert c.get(f"/chart/{S}/men-500m.svg").status_code == 200


def test_the_event_log_downloads_as_the_command_line_archives_it(
    client: TestClient, book: str
) -> None:
    for query, extra in (("", []), ("?known_at=2014-03-17", ["--known-at", "2014-03-17"])):
        response = client.get("/api/export/events" + query)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        assert response.text == cli(CliRunner(), book, "export", "events", *extra)
    tag = client.get("/api/export/events?known_at=2014-03-17").headers["etag"]
    hit = client.get("/api/export/events?known_at=2014-03-17", headers={"If-None-Match": tag})
    assert hit.status_code == 304
