"""The JSON API: one GET route per read of the command line, each answering with the JSON
of ``ledger COMMAND --format json``. No route writes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from cli.http import answers, params
from cli.http.app import Server

AsOf = Annotated[
    str | None,
    Query(
        description="Count only races on or before this date (YYYY-MM-DD).", examples=["2014-03-09"]
    ),
]
KnownAt = Annotated[
    str | None,
    Query(
        description="Use only what was recorded by this moment: ISO 8601 with offset, a date,"
        " now, today, yesterday, or an age (7d). An instant before the log head's freezes the"
        " answer (a permalink).",
        examples=["2014-03-17T00:00:00Z"],
    ),
]
Nation = Annotated[
    str | None, Query(description="The competitor's nation, when the name is shared.")
]
Season = Annotated[str, Path(description="Season id, e.g. isu-ss-wc-2013-14.")]
Cup = Annotated[str, Path(description="Cup id within the season, e.g. men-500m.")]
Race = Annotated[str, Path(description="Race id within the season, e.g. HVN2.")]
Name = Annotated[str, Path(description="The competitor's name, e.g. Michel Mulder.")]
SeasonFilter = Annotated[str | None, Query(description="Only this season's.")]

ANSWER = {
    200: {"description": "The answer: the envelope of docs/json.md."},
    304: {"description": "Not modified: the client's ETag is the current answer's."},
    400: {"description": 'A bad parameter: {"error": "..."}'},
    404: {"description": 'An unknown id: {"error": "..."}'},
}


def api(server: Server) -> APIRouter:
    """The /api routes over one server's ledger."""
    router = APIRouter(prefix="/api", tags=["api"], responses=ANSWER)  # type: ignore[arg-type]
    book = server.ledger

    @router.get("/standings/{season}/{cup}", summary="A cup's standings (contract §4)")
    async def standings(
        request: Request, season: Season, cup: Cup, as_of: AsOf = None, known_at: KnownAt = None
    ) -> Response:
        """``ledger standings CUP --season SEASON --format json``."""
        day, moment, at = params.asked(as_of, known_at)
        return await server.reply(
            request, moment, lambda: answers.standings(book, season, cup, day, at)
        )

    @router.get("/results/{season}/{race}", summary="A race's classification")
    async def results(
        request: Request, season: Season, race: Race, as_of: AsOf = None, known_at: KnownAt = None
    ) -> Response:
        """``ledger results RACE --season SEASON --format json``."""
        day, moment, at = params.asked(as_of, known_at)
        return await server.reply(
            request, moment, lambda: answers.results(book, season, race, day, at)
        )

    @router.get("/races", summary="The race calendar")
    async def races(
        request: Request,
        season: SeasonFilter = None,
        cup: Annotated[str | None, Query(description="Only this cup's (or SEASON/CUP).")] = None,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Response:
        """``ledger races [--season S] [--cup C] --format json``."""
        day, moment, at = params.asked(as_of, known_at)
        which, only = params.text(season), params.text(cup)
        return await server.reply(
            request, moment, lambda: answers.races(book, which, only, day, at)
        )

    @router.get("/seasons", summary="The seasons the ledger holds")
    async def seasons(request: Request, known_at: KnownAt = None) -> Response:
        """``ledger seasons --format json``."""
        _, moment, at = params.asked(None, known_at)
        return await server.reply(request, moment, lambda: answers.seasons(book, at), heavy=True)

    @router.get("/cups", summary="The cups of every season, or of one")
    async def cups(
        request: Request, season: SeasonFilter = None, known_at: KnownAt = None
    ) -> Response:
        """``ledger cups [--season S] --format json``."""
        _, moment, at = params.asked(None, known_at)
        which = params.text(season)
        return await server.reply(
            request, moment, lambda: answers.cups(book, which, at), heavy=True
        )

    @router.get("/competitors", summary="Find competitors by part of a name")
    async def competitors(
        request: Request,
        search: Annotated[str | None, Query(description="Part of a name, any case.")] = None,
        nation: Nation = None,
        known_at: KnownAt = None,
    ) -> Response:
        """``ledger competitors [SEARCH] [--nation N] --format json``."""
        _, moment, at = params.asked(None, known_at)
        text, country = params.text(search), params.nation(nation)
        return await server.reply(
            request, moment, lambda: answers.competitors(book, text, country, at)
        )

    @router.get("/competitor/{name:path}", summary="A competitor's career across seasons")
    async def competitor(
        request: Request,
        name: Name,
        nation: Nation = None,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Response:
        """``ledger competitor NAME [--nation N] --format json``."""
        day, moment, at = params.asked(as_of, known_at)
        country = params.nation(nation)
        return await server.reply(
            request, moment, lambda: answers.competitor(book, name, country, day, at)
        )

    @router.get("/history", summary="The audit trail")
    async def history(
        request: Request,
        race: Annotated[str | None, Query(description="Only this race's events.")] = None,
        competitor: Annotated[
            str | None, Query(description="Only this competitor's events.")
        ] = None,
        nation: Nation = None,
        by: Annotated[str | None, Query(description="Only this author's commands.")] = None,
        command: Annotated[
            int | None,
            Query(ge=1, le=2**62, description="Only the command that wrote this position."),
        ] = None,
        since: Annotated[
            str | None, Query(description="Only events recorded at or after (a date: its start).")
        ] = None,
        until: Annotated[
            str | None, Query(description="Only events recorded at or before (a date: its end).")
        ] = None,
        changes: Annotated[bool, Query(description="Only amendments.")] = False,
        commands: Annotated[bool, Query(description="One row per command.")] = False,
        season: Annotated[
            str | None, Query(description="The season an unqualified race id names.")
        ] = None,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Response:
        """``ledger history [filters] --format json``, streamed row by row."""
        _, moment, at = params.asked(None, known_at)
        filters = {
            "race": params.text(race),
            "competitor": params.text(competitor),
            "nation": params.nation(nation),
            "by": params.text(by),
            "command": command,
            "since": params.instant(since, "since"),
            "until": params.instant(until, "until"),
            "as_of": params.day(as_of),
        }
        which = params.text(season)
        return await server.reply(
            request,
            moment,
            lambda: answers.history(
                book, filters, season=which, known_at=at, changes=changes, commands=commands
            ),
            heavy=True,
        )

    @router.get("/diff/{season}/{cup}", summary="How a cup's standings changed, and why")
    async def diff(
        request: Request,
        season: Season,
        cup: Cup,
        known_at: KnownAt = None,
        vs: Annotated[
            str | None, Query(description="Compare with what was known then (default: now).")
        ] = None,
        as_of: AsOf = None,
        vs_as_of: Annotated[
            str | None, Query(description="Compare with the standings as of this date.")
        ] = None,
    ) -> Response:
        """``ledger diff CUP --season SEASON --known-at T1 [--vs T2] --format json``."""
        asked = params.compared(known_at, vs, as_of, vs_as_of)
        return await server.reply(
            request,
            asked.upto,
            lambda: answers.diff(book, season, cup, asked),
        )

    @router.get("/explain/{season}/{cup}/{name:path}", summary="A competitor's standing, explained")
    async def explain(
        request: Request,
        season: Season,
        cup: Cup,
        name: Name,
        nation: Nation = None,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Response:
        """``ledger explain CUP NAME --season SEASON [--nation N] --format json``."""
        day, moment, at = params.asked(as_of, known_at)
        country = params.nation(nation)
        return await server.reply(
            request,
            moment,
            lambda: answers.explain(book, season, cup, name, country, day, at),
        )

    @router.get("/checks", summary="Data warnings: of a race, a season, or every race")
    async def checks(
        request: Request,
        season: SeasonFilter = None,
        race: Annotated[str | None, Query(description="Only this race (or SEASON/RACE).")] = None,
        known_at: KnownAt = None,
    ) -> Response:
        """``ledger check [RACE] --format json``."""
        _, moment, at = params.asked(None, known_at)
        which, only = params.text(season), params.text(race)
        return await server.reply(request, moment, lambda: answers.checks(book, which, only, at))

    @router.get("/head", summary="The log head: position, hash, when it was recorded")
    async def head(request: Request) -> Response:
        """The newest event: what to publish beside the standings."""
        return await server.reply(request, None, lambda: answers.head(book))

    @router.get("/verify", summary="Recompute the hash chain and check the read model")
    async def verify(
        request: Request,
        expect_head: Annotated[
            str | None,
            Query(
                description="A head published earlier: fail (409) unless the log holds it.",
                pattern="^[0-9a-fA-F]{1,64}$",
            ),
        ] = None,
        chain_only: Annotated[bool, Query(description="The hash chain only.")] = False,
    ) -> Response:
        """``ledger verify --format json``; done once per log head, then remembered."""
        expected = params.text(expect_head)
        return await server.reply(
            request, None, lambda: server.verified(expected, chain_only), heavy=True
        )

    @router.get("/export/results", summary="The results as they stand, as the importer reads them")
    async def export_results(
        request: Request,
        cup: Annotated[str | None, Query(description="Only this cup (or SEASON/CUP).")] = None,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Response:
        """``ledger export results [--cup C] --format json``."""
        day, moment, at = params.asked(as_of, known_at)
        only = params.text(cup)
        return await server.reply(
            request, moment, lambda: answers.export_results(book, only, day, at), heavy=not only
        )

    @router.get(
        "/export/events",
        summary="The whole event log as JSON Lines, with hashes (an archive)",
        responses={200: {"content": {NDJSON: {}}, "description": "One event a line."}},
    )
    async def export_events(request: Request, known_at: KnownAt = None) -> Response:
        """``ledger export events``: every event of the log (up to ``known_at``), one a line."""
        _, moment, at = params.asked(None, known_at)
        return await server.reply(
            request, moment, lambda: answers.export_events(book, at), render=lines, heavy=True
        )

    return router


NDJSON = "application/x-ndjson"


def lines(found: answers.Answer) -> Response:
    """JSON Lines, sent as they are read, a block of lines at a time."""

    def chunks() -> Iterator[bytes]:
        for block in found.rows or ():
            yield block + b"\n"

    return StreamingResponse(chunks(), media_type=NDJSON)
