"""Validators and caching for readers behind a CDN.

An answer is a function of its URL and of the log up to the position its query reads to
(the head, or the last event recorded by ``known_at``): that position and its hash are the
answer's ``ETag``. It is weak (``W/"..."``) because an answer to a moving moment (``known_at=7d``)
echoes the exact instant it used, so two equivalent answers may differ in that byte range.

A ``known_at`` that names an instant before the log head's own recorded time can never take
in another event (recorded times never go backwards), so its answer is frozen: it is sent as
``public, max-age=31536000, immutable``. Every other answer may change with the next write
and is sent as ``public, no-cache``: a CDN keeps it and asks again each time, which a matching
``If-None-Match`` answers with ``304 Not Modified`` after one indexed read of the head.
"""

from __future__ import annotations

from dataclasses import dataclass

from cli.http.params import Moment
from ledger.application import Ledger
from ledger.chain import format_recorded_at
from ledger.errors import InputError
from projections.models import HeadRef

FROZEN = "public, max-age=31536000, immutable"
LIVE = "public, no-cache"


@dataclass(frozen=True)
class Validator:
    """The ETag and Cache-Control of an answer, known before it is computed."""

    etag: str
    cache_control: str


def etag(version: str, head: HeadRef | None) -> str:
    """The weak entity tag of an answer computed at ``head`` (None: the empty log)."""
    if head is None:
        return f'W/"{version}-0"'
    return f'W/"{version}-{head.position}-{head.hash[:20]}"'


def validator(ledger: Ledger, version: str, known_at: Moment | None) -> Validator:
    """The answer's validator: where its query reads to, and whether that can still move."""
    with ledger.reading() as reader:
        newest = reader.head()
        if known_at is None:
            position, digest = newest.position, newest.hash
            frozen = False
        else:
            try:
                at = format_recorded_at(known_at.instant)
            except (OverflowError, ValueError):
                raise InputError(f"known_at {known_at.instant!r} is out of range") from None
            position = reader.position_at(at)
            digest = (reader.hash_at(position) or "") if position else ""
            frozen = known_at.absolute and newest.recorded_at is not None
            frozen = frozen and at < (newest.recorded_at or "")
    head = HeadRef(position=position, hash=digest) if position else None
    return Validator(etag(version, head), FROZEN if frozen else LIVE)


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an If-None-Match header names this tag (weak comparison, RFC 9110 §13.1.2)."""
    if not if_none_match:
        return False
    opaque = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False
