"""`ledger serve`'s application: the JSON API under /api, the pages for people, OpenAPI.

It opens the ledger once, read-only (a SQLite file opened ``mode=ro``, a PostgreSQL role that
may only SELECT, a hot standby), and answers every request from the read model through the
same projections the command line calls: no request replays the log or writes anything.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from cli.http import caching
from cli.http.answers import Answer
from cli.http.params import Moment, moment
from ledger.application import Ledger
from ledger.errors import IntegrityViolation, LedgerError, StoreError, UnknownIdError
from projections.output import answer, answer_pieces, json_bytes

log = logging.getLogger("ledger.serve")

JSON = "application/json"
_OPTION = re.compile(r"--([a-z]+(?:-[a-z]+)*)")
_END = object()


def code_version() -> str:
    """The package's version: part of every ETag, since new code may answer differently."""
    try:
        return package_version("results-ledger")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "dev"


MOMENTS = ("known_at", "vs", "since", "until")


@dataclass(frozen=True)
class Kept:
    """An answer kept in memory: what its response is made of."""

    body: bytes
    media_type: str | None
    headers: dict[str, str]


class Server:
    """What every route shares: the read-only ledger, the code's version, and the answers
    kept in memory (``keep``: how many; 0 keeps none).

    An answer is kept under its URL and its ETag (the log position and hash it was computed
    at), so a kept answer is exactly what computing it again would give: a new event moves
    the head and the key with it. Answers to a moment that moves with the clock (``known_at=7d``)
    are never kept, since they echo the instant they used."""

    def __init__(self, ledger: Ledger, keep: int = 256) -> None:
        self.ledger = ledger
        self.version = code_version()
        self.keep = keep
        self._kept: OrderedDict[tuple[str, str, str], Kept] = OrderedDict()
        self._verified: dict[tuple[str, str | None, bool], Answer] = {}

    def _key(self, request: Request, tag: str) -> tuple[str, str, str] | None:
        if self.keep <= 0:
            return None
        for name in MOMENTS:
            value = request.query_params.get(name)
            if value is None:
                continue
            try:
                found = moment(value, name)
            except LedgerError:
                return None
            if found is not None and not found.absolute:
                return None
        return (request.url.path, request.url.query, tag)

    def _kept_answer(self, key: tuple[str, str, str] | None) -> Response | None:
        kept = self._kept.get(key) if key is not None else None
        if kept is None or key is None:
            return None
        self._kept.move_to_end(key)
        return Response(kept.body, media_type=kept.media_type, headers=kept.headers)

    def _keep(self, key: tuple[str, str, str] | None, response: Response) -> None:
        if key is None or isinstance(response, StreamingResponse):
            return
        headers = {k: response.headers[k] for k in ("etag", "cache-control")}
        self._kept[key] = Kept(bytes(response.body), response.media_type, headers)
        while len(self._kept) > self.keep:
            self._kept.popitem(last=False)

    async def reply(
        self,
        request: Request,
        known_at: Moment | None,
        compute: Callable[[], Answer],
        render: Callable[[Answer], Response] | None = None,
        *,
        heavy: bool = False,
    ) -> Response:
        """Answer a GET: 304 when the client holds the current answer, else compute it.

        The check is one indexed read of the head, made on the event loop (a thread would
        cost a 304 more than the read). An answer about one cup, race or competitor takes a
        few milliseconds and is computed there too (handing it to a thread costs a third of
        it again); a ``heavy`` one (the whole log, every season) is computed in a worker
        thread, so that the worker answers other requests meanwhile."""
        check = caching.validator(self.ledger, self.version, known_at)
        if caching.matches(request.headers.get("if-none-match"), check.etag):
            headers = {"ETag": check.etag, "Cache-Control": check.cache_control}
            return Response(status_code=304, headers=headers)
        key = self._key(request, check.etag)
        kept = self._kept_answer(key)
        if kept is not None:
            return kept
        found = await run_in_threadpool(lambda: started(compute())) if heavy else started(compute())
        tag = caching.etag(self.version, found.head)
        # A write between the check and the query: the answer's own head names it.
        headers = {
            "ETag": tag,
            "Cache-Control": check.cache_control if tag == check.etag else caching.LIVE,
        }
        response: Response
        if render is not None:
            response = await run_in_threadpool(render, found)
            response.headers.update(headers)
        elif found.rows is not None:
            return StreamingResponse(streamed(found), media_type=JSON, headers=headers)
        else:
            body = json_bytes(answer(found.command, found.query, found.head, found.data)) + b"\n"
            response = Response(body, media_type=JSON, headers=headers)
        if tag == check.etag:
            self._keep(key, response)
        return response

    def verified(self, expect_head: str | None, chain_only: bool) -> Answer:
        """A verification, done once per log head (it reads the whole log)."""
        from cli.http import answers

        key = (caching.validator(self.ledger, self.version, None).etag, expect_head, chain_only)
        if key not in self._verified:
            if len(self._verified) > 64:
                self._verified.clear()
            self._verified[key] = answers.verify(self.ledger, expect_head, chain_only)
        return self._verified[key]


def streamed(found: Answer) -> Iterator[bytes]:
    """A list answer's envelope as ``ledger history --format json`` prints it, row by row,
    sent 500 rows at a time."""
    lines = (json_bytes(item, indent=False) for item in found.rows or ())
    pieces = answer_pieces(found.command, found.query, found.head, lines)
    while batch := list(itertools.islice(pieces, 500)):
        yield b"".join(batch)


def started(found: Answer) -> Answer:
    """The answer with its first row read: a bad filter is a 400 or 404, not a cut stream."""
    if found.rows is None:
        return found
    first = next(found.rows, _END)
    found.rows = iter(()) if first is _END else itertools.chain([first], found.rows)
    return found


def public_message(error: Exception) -> str:
    """An error's one line, in the API's words: ``known_at``, not ``--known-at``."""
    text = " ".join(str(error).splitlines())
    text = re.sub(r"^--db \S+: ", "", text)
    return _OPTION.sub(lambda m: m[1].replace("-", "_"), text)


def status_of(error: LedgerError) -> int:
    """The status of a refused read: unknown ids 404, a failed check 409, the store 503."""
    if isinstance(error, UnknownIdError):
        return 404
    if isinstance(error, IntegrityViolation):
        return 409
    if isinstance(error, StoreError):
        return 503
    return 400


def validation_message(errors: Any) -> str:
    """FastAPI's validation errors as one line: ``query.command: Input should be ...``."""
    parts = []
    for e in list(errors)[:3]:
        where = ".".join(str(x) for x in e.get("loc", ()))
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "bad request"


CSP = (
    b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self';"
    b" frame-ancestors 'none'"
)
DOCS = "/docs"  # Swagger UI, and its assets under /docs/assets
# Swagger UI's page runs its own scripts (its one inline script starts it) and fetches the
# OpenAPI document and the answers it tries out; still nothing from another origin.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    b" img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


class SafeHeaders:
    """Headers every answer gets: no content sniffing, and pages that load nothing but their
    own pictures (a plain ASGI middleware: it costs a 304 next to nothing)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((b"x-content-type-options", b"nosniff"))
                kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if kind.startswith(b"text/html"):
                    policy = DOCS_CSP if scope["path"] == DOCS else CSP
                    headers.append((b"content-security-policy", policy))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


class _Answered(Exception):
    """A HEAD's headers are sent: the answer's body is not needed."""


class HeadAsGet:
    """HEAD answered as GET without the body: the same status and headers (ETag, length,
    type), for link checkers, monitors and ``curl -I`` (the routes are declared for GET). A
    streamed answer (the history, the event log) stops once its headers are out."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] != "http.response.body":
                await send(message)
                return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            raise _Answered

        with contextlib.suppress(_Answered):
            await self.app({**scope, "method": "GET"}, receive, sending)


DECODED_KEPT = 20_000  # events a worker keeps decoded: some 200 cups, about 50 MB


def create_app(db: str | None = None, *, keep: int = 256) -> FastAPI:
    """The application serving the ledger at ``db`` (default: $LEDGER_DB, else ./ledger.db),
    keeping up to ``keep`` answers in memory (0: compute every answer)."""
    from cli.http.pages import error_page, pages
    from cli.http.routes import api

    # Events never change: a worker keeps those it decoded (a few cups' worth), whatever --keep.
    server = Server(Ledger(db, readonly=True, keep_decoded=DECODED_KEPT), keep)
    app = FastAPIOffline(
        title="results ledger",
        version=server.version,
        summary="Standings, results and the audit trail of an event-sourced results ledger.",
        description=(
            "Read-only. Every answer is the JSON envelope of `ledger COMMAND --format json`"
            " (docs/json.md), with an ETag from the log head (304 on If-None-Match). Errors"
            ' are `{"error": "..."}`: 400 for a bad parameter, 404 for an unknown id.'
        ),
        openapi_url="/openapi.json",
        # Swagger UI's page, its scripts and styles served from the package (never a CDN).
        docs_url=DOCS,
        redoc_url=None,
        static_url=f"{DOCS}/assets",
        favicon_url=f"{DOCS}/assets/favicon.png",
    )
    app.state.server = server

    def error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api") or request.url.path == "/openapi.json":
            return JSONResponse({"error": message}, status_code=status)
        return error_page(request, status, message)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> Response:
        return error(request, 400, validation_message(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        response = error(request, exc.status_code, detail)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(LedgerError)
    async def refused(request: Request, exc: LedgerError) -> Response:
        status = status_of(exc)
        if status == 503:
            log.warning("the store could not be read: %s", exc)
        return error(request, status, public_message(exc))

    app.add_middleware(SafeHeaders)
    app.add_middleware(HeadAsGet)
    app.include_router(api(server))
    app.include_router(pages(server))
    return app


def app_from_environment() -> FastAPI:
    """The app for a uvicorn worker process: the ledger named by $LEDGER_DB, keeping the
    number of answers $LEDGER_SERVE_KEEP says."""
    keep = os.environ.get("LEDGER_SERVE_KEEP", "").strip()
    return create_app(os.environ.get("LEDGER_DB"), keep=int(keep) if keep.isdigit() else 256)
