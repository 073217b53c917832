"""`ledger serve`: the ledger read-only over HTTP, a JSON API and pages (contract §7)."""

from __future__ import annotations

import os
import socket
from typing import Annotated, Any

import typer

from cli.common import DbOption, fail, handles_errors, note, open_reader
from ledger.store import redact, resolve_db


def register(app: typer.Typer) -> None:
    """Mount serve on the app."""
    app.command("serve")(serve)


@handles_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="The port to listen on.")
    ] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Worker processes (one per core).")
    ] = 1,
    keep: Annotated[
        int,
        typer.Option(
            "--keep",
            min=0,
            help="Answers each worker keeps in memory, by URL and log head (0: none).",
        ),
    ] = 256,
    db: DbOption = None,
) -> None:
    """Serve the ledger read-only over HTTP: a JSON API under /api, pages for people.

    Every answer is the JSON of the matching command's --format json, with an ETag from the
    log head (304 on If-None-Match). It opens the ledger read-only, so it runs as a role that
    may only SELECT and on a streaming replica. The OpenAPI document is at /openapi.json.

    Example: ledger serve --db 2013-14.db --port 8000
    """
    try:
        import uvicorn
    except ImportError:
        raise fail("serve needs uvicorn and fastapi: pip install results-ledger") from None
    where = resolve_db(db)
    open_reader(where).close()  # a missing ledger is one line now, not a worker's traceback
    _can_listen(host, port)
    os.environ["LEDGER_DB"] = where  # the workers open it from there
    os.environ["LEDGER_SERVE_KEEP"] = str(keep)
    note(f"serving {redact(where)} read-only on http://{host}:{port}/")
    if workers > 1 and port and hasattr(socket, "SO_REUSEPORT"):
        _serve_workers(host, port, workers)
        return
    uvicorn.run(**UVICORN, host=host, port=port, workers=workers)


UVICORN: dict[str, Any] = {
    "app": "cli.http.app:app_from_environment",
    "factory": True,
    "log_level": "warning",
    "access_log": False,
    "server_header": False,
    "http": "cli.http.protocol:NoDelayProtocol",
}


def _serve_workers(host: str, port: int, workers: int) -> None:
    """Worker processes that each listen on the port with SO_REUSEPORT, so the kernel deals
    the connections out among them (on one shared socket, the first worker awake takes
    every connection a client opens at once, and the others idle)."""
    import multiprocessing
    import signal

    context = multiprocessing.get_context("spawn")  # fresh interpreters, as uvicorn's workers
    processes = [context.Process(target=_worker, args=(host, port)) for _ in range(workers)]
    for process in processes:
        process.start()

    def stop(*_: object) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:  # Ctrl-C reached every worker too: they finish their requests
        for process in processes:
            process.join(timeout=10)
        stop()


def _worker(host: str, port: int) -> None:
    """One worker: its own listening socket on the shared port, and uvicorn serving it."""
    import uvicorn

    family, kind, proto, address = _address(host, port)
    listening = socket.socket(family, kind, proto)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listening.bind(address)
    listening.listen(2048)
    uvicorn.Server(uvicorn.Config(**UVICORN)).run(sockets=[listening])


def _can_listen(host: str, port: int) -> None:
    """Refuse, in one line, an address the server could not listen on (uvicorn would say it
    in its own words and exit 3)."""
    try:
        family, kind, proto, address = _address(host, port)
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as e:
        raise fail(
            f"--host {host} --port {port}: cannot listen there ({e.strerror or e})"
        ) from None


def _address(host: str, port: int) -> tuple[int, int, int, Any]:
    """Where to listen: the first TCP address ``host`` and ``port`` resolve to."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return family, kind, proto, address
