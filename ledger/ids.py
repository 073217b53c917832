"""Resolving the ids users type (``CAL1-A``, ``isu-ss-wc-2013-14/CAL1-A``) to qualified keys."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ledger.errors import AmbiguousIdError, UnknownIdError


def suggest(ref: str, choices: Iterable[str], limit: int = 3) -> str:
    """A ' (did you mean X?)' hint, or an empty string when nothing is close."""
    close = difflib.get_close_matches(ref, sorted(set(choices)), n=limit, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[c] for c in difflib.get_close_matches(ref.lower(), lowered, n=limit)]
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def resolve(ref: str, keys: Iterable[tuple[str, str]], kind: str) -> tuple[str, str]:
    """The (season, id) that ``ref`` names; unknown and ambiguous ids are one-line errors."""
    keys = list(keys)
    ref = ref.strip()
    if "/" in ref:
        season, _, item = ref.partition("/")
        if (season, item) in keys:
            return season, item
        qualified = [f"{s}/{i}" for s, i in keys]
        raise UnknownIdError(f"unknown {kind} {ref!r}{suggest(ref, qualified)}")
    matches = [key for key in keys if key[1] == ref]
    if len(matches) == 1:
        return matches[0]
    if matches:
        choices = ", ".join(sorted(f"{s}/{i}" for s, i in matches))
        raise AmbiguousIdError(f"{kind} {ref!r} is in several seasons; say which: {choices}")
    if not keys:
        raise UnknownIdError(f"unknown {kind} {ref!r}: the ledger has no seasons yet")
    raise UnknownIdError(f"unknown {kind} {ref!r}{suggest(ref, [i for _, i in keys])}")
