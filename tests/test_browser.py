"""The pages in a real browser (Debian's chromium, driven by Playwright), used by clicking:
change the as-of date, follow a competitor, open a race's history. Each page's table is
compared with what the command line prints for the same question."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.test_http import S, build, cli

ROOT = Path(__file__).resolve().parent.parent
LEDGER = str(Path(sys.executable).parent / "ledger")
CHROMIUM = os.environ.get("LEDGER_TEST_CHROMIUM") or shutil.which("chromium") or ""
SCREENSHOT = ROOT / "docs" / "img" / "standings.png"

if not CHROMIUM:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI needs chromium for the browser tests (apt-get install chromium)")
    pytest.skip("no chromium on this machine (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("browser") / "ledger.db")
    build(CliRunner(), db)
    return db


@pytest.fixture(scope="module")
def site(book: str) -> Iterator[str]:
    """`ledger serve` in its own process, on a free loopback port."""
    port = free_port()
    server = subprocess.Popen(
        [LEDGER, "serve", "--db", book, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/api/head", timeout=1):
                    break
            except OSError:
                if server.poll() is not None:
                    error = server.stderr.read().decode() if server.stderr else ""
                    raise RuntimeError(error) from None
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr:
            server.stderr.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    opened = context.new_page()
    yield opened
    context.close()


def table(page: Any, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tbody tr")
    return [
        [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def cli_json(book: str, *args: str) -> Any:
    return json.loads(cli(CliRunner(), book, *args, "--format", "json"))


def standings_rows(book: str, *extra: str) -> list[list[str]]:
    data = cli_json(book, "standings", "men-500m", "--season", S, *extra)
    return [
        [str(r["rank"]), r["competitor"], r["nation"] or "", str(r["points"])]
        for r in data["standings"]
    ]


def test_changing_the_as_of_date_shows_the_standings_of_that_day(
    site: str, page: Any, book: str
) -> None:
    page.goto(f"{site}/standings/{S}/men-500m")
    assert table(page, "#standings") == standings_rows(book)
    page.fill("#as_of", "2014-03-09")
    page.click("#show")
    page.wait_for_url("**as_of=2014-03-09**")
    assert table(page, "#standings") == standings_rows(book, "--as-of", "2014-03-09")
    assert table(page, "#standings")[0][:2] == ["1", "Michel Mulder"]
    head = cli_json(book, "verify")["head"]
    assert f"log head {head['position']} {head['hash']}" in page.inner_text("#log-head")
    page.set_viewport_size({"width": 1000, "height": 900})
    shot = page.screenshot()
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    if not SCREENSHOT.exists() or os.environ.get("LEDGER_UPDATE_SCREENSHOT"):
        SCREENSHOT.write_bytes(shot)  # the README's picture


def test_the_known_at_control_and_the_permalink_freeze_what_was_known(
    site: str, page: Any, book: str
) -> None:
    page.goto(f"{site}/standings/{S}/men-500m")
    page.fill("#known_at", "2014-03-20")
    page.click("#show")
    page.wait_for_url("**known_at=2014-03-20**")
    known = standings_rows(book, "--known-at", "2014-03-20")
    assert table(page, "#standings") == known
    assert ["40", "Bai Quiming", "CHN", "17"] in known  # before the rename
    page.click("#permalink")
    page.wait_for_url("**known_at=2014-03-20T14%3A00%3A00Z**")
    assert table(page, "#standings") == known


def test_following_a_competitor_explains_the_standing_and_leads_to_the_career(
    site: str, page: Any, book: str
) -> None:
    page.goto(f"{site}/standings/{S}/men-500m?as_of=2014-03-09")
    page.click("#standings >> text=Michel Mulder")
    page.wait_for_url("**/explain/**")
    x = cli_json(book, "explain", "men-500m", "Michel Mulder", "--season", S, "--as-of",
                 "2014-03-09", "--nation", "NED")  # fmt: skip
    assert [r[0] for r in table(page, "#explained")] == [r["race"] for r in x["results"]]
    assert [r[-1] for r in table(page, "#explained")] == [r["note"] for r in x["results"]]
    assert "Rank 1, 578 points" in page.inner_text("main")
    page.click("#career")
    page.wait_for_url("**/competitor/Michel%20Mulder**")
    assert "Men's 500 m" in page.inner_text("main")


def test_opening_a_race_shows_its_classification_and_its_audit_trail(
    site: str, page: Any, book: str
) -> None:
    page.goto(f"{site}/standings/{S}/men-500m")
    page.click("main >> text=HVN2")
    page.wait_for_url("**/results/**/HVN2**")
    race = cli_json(book, "results", "HVN2", "--season", S)
    shown = table(page, "#classification")
    assert [r[1] for r in shown] == [r["competitor"] for r in race["results"]]
    trail = table(page, "#trail")
    changes = [r[5] for r in trail]
    assert "time 34.64 → 34.94" in changes
    assert "6th → disqualified" in changes
    history = cli_json(book, "history", "--race", f"{S}/HVN2")["data"]
    assert [int(r[0]) for r in trail] == [r["position"] for r in history]


def test_the_diff_page_compares_two_knowledge_times(site: str, page: Any, book: str) -> None:
    page.goto(f"{site}/standings/{S}/men-500m")
    page.click("text=What changed")
    page.fill("#known_at", "2014-03-17T00:00:00Z")
    page.click("#compare")
    page.wait_for_url("**known_at=2014-03-17**")
    moves = cli_json(book, "diff", "men-500m", "--season", S, "--known-at",
                     "2014-03-17T00:00:00Z")["moves"]  # fmt: skip
    assert len(moves) > 5  # the disqualification and the rename moved people
    assert [r[1].split(" (")[0] for r in table(page, "#moves")] == [m["competitor"] for m in moves]


def test_the_chart_is_an_svg_drawn_without_javascript(site: str, page: Any) -> None:
    page.goto(f"{site}/standings/{S}/men-500m")
    image = page.locator("img.chart")
    image.wait_for()
    assert page.evaluate("document.querySelector('img.chart').naturalWidth") > 0
    with urllib.request.urlopen(site + image.get_attribute("src")) as r:
        assert r.headers["content-type"] == "image/svg+xml"
        body = r.read().decode()
    assert body.count("<polyline") == 10
    assert "Michel Mulder" in body


def test_the_pages_work_on_a_phone_without_javascript(browser: Any, site: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=False, is_mobile=True
    )
    try:
        phone = context.new_page()
        phone.goto(f"{site}/")
        phone.click("text=Men's 500 m")
        phone.fill("#as_of", "2014-03-09")
        phone.click("#show")
        phone.wait_for_url("**as_of=2014-03-09**")
        assert "Michel Mulder" in phone.inner_text("#standings")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing but a table's own scroller is wider than the phone
    finally:
        context.close()


def test_swagger_ui_lists_every_route_and_tries_one(site: str, page: Any) -> None:
    """The API's own interactive documentation, with nothing loaded from elsewhere."""
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(site) else elsewhere.append(r.url))
    page.goto(f"{site}/docs")
    page.locator(".opblock").first.wait_for()
    with urllib.request.urlopen(f"{site}/openapi.json") as r:
        paths = json.load(r)["paths"]
    assert page.locator(".opblock").count() == sum(len(methods) for methods in paths.values())
    head = page.locator(".opblock", has_text="/api/head")
    head.locator(".opblock-summary").click()
    page.click("text=Try it out")
    page.click("text=Execute")
    body = page.locator(".responses-wrapper .response .microlight").first
    body.wait_for()
    assert '"position"' in body.inner_text()
    assert elsewhere == []
