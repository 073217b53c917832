"""The HTTP protocol `ledger serve` runs: uvicorn's (httptools when installed, else h11),
with Nagle's algorithm off on every connection.

uvicorn's worker processes accept on a socket it made without naming TCP, which asyncio then
leaves with Nagle on: a response written in two parts waits for the client's delayed ACK,
about 40 ms a request on a kept-alive connection. Setting TCP_NODELAY here does what asyncio
does for the sockets it makes itself.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - without httptools
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]


class NoDelayProtocol(_Base):
    """uvicorn's HTTP protocol, sending each write at once."""

    def connection_made(self, transport: Any) -> None:
        """Turn Nagle's algorithm off, then serve the connection as uvicorn does."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
