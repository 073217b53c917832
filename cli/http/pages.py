"""Pages for people: server-rendered HTML (Jinja2), no JavaScript, readable on a phone.

Each page is computed like its API route (same projections, same ETag and caching) and
names the log head it was computed from. Forms are plain GETs, so every view is a URL; the
"permalink" of a page fixes ``known_at`` at the log head's recorded time, so a published
table stays reproducible.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from cli.http import answers, params
from cli.http.answers import Answer
from cli.http.app import Server
from ledger.chain import parse_recorded_at
from ledger.moments import rfc3339
from ledger.values import format_points, format_time
from projections.models import HeadRef
from projections.races import known_season

TEMPLATES = Path(__file__).parent / "templates"


def _moment(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _points(value: Any) -> str:
    return "" if value is None else format_points(value)


def _time(value: Any) -> str:
    return "" if value is None else format_time(value)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(points=_points, time=_time, moment=_moment, seg=_segment)
    return env


templates = Jinja2Templates(env=_environment())


def link(path: str, **query: Any) -> str:
    """A URL with the query parameters that are set."""
    given = {k: str(v) for k, v in query.items() if v not in (None, "", False)}
    return path + ("?" + urlencode(given) if given else "")


def error_page(request: Request, status: int, message: str) -> Response:
    """An error as a page: one line, and the way back."""
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message, "head": None},
        status_code=status,
    )  # fmt: skip


def pages(server: Server) -> APIRouter:
    """The page routes over one server's ledger."""
    router = APIRouter(include_in_schema=False)
    book = server.ledger

    def recorded(head: HeadRef | None) -> str | None:
        """The recorded time of the head's event, as a permalink's known_at."""
        if head is None:
            return None
        with book.reading() as reader:
            text = reader.recorded_at(head.position)
        return rfc3339(parse_recorded_at(text)) if text else None

    def page(name: str, **context: Any) -> Any:
        def render(found: Answer) -> Response:
            context.update(answer=found, head=found.head, link=link)
            request = context["request"]
            return templates.TemplateResponse(request, name, context)

        return render

    @router.get("/", response_class=HTMLResponse)
    async def index(request: Request, known_at: str | None = None) -> Response:
        _, moment, at = params.asked(None, known_at)
        return await server.reply(
            request,
            moment,
            lambda: answers.seasons(book, at),
            page("index.html", request=request, known_at=known_at),
        )

    @router.get("/seasons/{season}", response_class=HTMLResponse)
    async def season(request: Request, season: str, known_at: str | None = None) -> Response:
        _, moment, at = params.asked(None, known_at)

        def compute() -> Answer:
            listed = answers.seasons(book, at)
            found = [s for s in listed.data if s.season == season]
            if not found:
                known_season(book, season)
            calendar = answers.races(book, season, None, None, at)
            data = {"season": found[0] if found else None, "races": calendar.data}
            return Answer("season", {}, listed.head, data)

        return await server.reply(
            request, moment, compute, page("season.html", request=request, known_at=known_at)
        )

    @router.get("/standings/{season}/{cup}", response_class=HTMLResponse)
    async def standings(
        request: Request,
        season: str,
        cup: str,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> Response:
        day, moment, at = params.asked(as_of, known_at)

        def compute() -> Answer:
            found = answers.standings(book, season, cup, day, at)
            found.query["permalink"] = recorded(found.head)
            return found

        return await server.reply(
            request,
            moment,
            compute,
            page(
                "standings.html",
                request=request,
                season=season,
                cup=cup,
                as_of=as_of or "",
                known_at=known_at or "",
            ),
        )

    @router.get("/chart/{season}/{cup}.svg")
    async def chart(
        request: Request,
        season: str,
        cup: str,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> Response:
        from cli.http.svg import chart_svg
        from projections.progression import query_progression

        day, moment, at = params.asked(as_of, known_at)

        def compute() -> Answer:
            drawn = query_progression(book, f"{season}/{cup}", as_of=day, known_at=at)
            return Answer("chart", {}, drawn.head, drawn)

        def render(found: Answer) -> Response:
            return Response(chart_svg(found.data), media_type="image/svg+xml")

        return await server.reply(request, moment, compute, render)

    @router.get("/results/{season}/{race}", response_class=HTMLResponse)
    async def results(
        request: Request,
        season: str,
        race: str,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> Response:
        day, moment, at = params.asked(as_of, known_at)

        def compute() -> Answer:
            from projections.history import query_history

            found = answers.results(book, season, race, day, at)
            trail = query_history(book, known_at=at, race=f"{season}/{race}")
            upto = found.head.position if found.head else 0
            found.data = {"race": found.data, "trail": [r for r in trail if r.position <= upto]}
            return found

        return await server.reply(
            request,
            moment,
            compute,
            page("results.html", request=request, season=season, known_at=known_at or ""),
        )

    @router.get("/competitor/{name:path}", response_class=HTMLResponse)
    async def competitor(
        request: Request,
        name: str,
        nation: str | None = None,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> Response:
        day, moment, at = params.asked(as_of, known_at)
        country = params.nation(nation)
        return await server.reply(
            request,
            moment,
            lambda: answers.competitor(book, name, country, day, at),
            page("competitor.html", request=request, as_of=as_of or "", known_at=known_at or ""),
        )

    @router.get("/explain/{season}/{cup}/{name:path}", response_class=HTMLResponse)
    async def explain(
        request: Request,
        season: str,
        cup: str,
        name: str,
        nation: str | None = None,
        as_of: str | None = None,
        known_at: str | None = None,
    ) -> Response:
        day, moment, at = params.asked(as_of, known_at)
        country = params.nation(nation)
        return await server.reply(
            request,
            moment,
            lambda: answers.explain(book, season, cup, name, country, day, at),
            page(
                "explain.html",
                request=request,
                season=season,
                cup=cup,
                as_of=as_of or "",
                known_at=known_at or "",
            ),
        )

    @router.get("/diff/{season}/{cup}", response_class=HTMLResponse)
    async def diff(
        request: Request,
        season: str,
        cup: str,
        known_at: str | None = None,
        vs: str | None = None,
        as_of: str | None = None,
        vs_as_of: str | None = None,
    ) -> Response:
        asked = params.compared(known_at, vs, as_of, vs_as_of)

        def compute() -> Answer:
            if asked.first is None and asked.vs_as_of is None:
                return Answer("diff", {}, answers.head(book).head, None)  # the form alone
            return answers.diff(book, season, cup, asked)

        return await server.reply(
            request,
            asked.upto,
            compute,
            page(
                "diff.html",
                request=request,
                season=season,
                cup=cup,
                form={
                    "known_at": known_at or "",
                    "vs": vs or "",
                    "as_of": as_of or "",
                    "vs_as_of": vs_as_of or "",
                },
            ),
        )

    return router
