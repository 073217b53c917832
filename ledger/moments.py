"""What a user types for a moment (``--known-at``, ``--since``, ``--vs``, ``--recorded-at``),
as one exact instant in UTC; and the one way machine output writes an instant (pure, no clock).

Accepted, case and surrounding spaces aside:

- an ISO 8601 / RFC 3339 date-time with ``Z`` or an offset: ``2014-03-17T09:00:00+01:00``;
  without one it is refused, as the instant it names would depend on the reader's zone;
- an ISO 8601 date, ``2014-03-17``: the whole UTC day, so as an upper bound (the default) its
  last microsecond, ``2014-03-17T23:59:59.999999Z``, and as a lower bound its first;
- ``today`` and ``yesterday``: the UTC date of ``now`` (or the day before), under the same
  rule as any date; so ``--known-at today`` is everything recorded today, and
  ``--since yesterday`` starts at yesterday's midnight UTC;
- ``now``, and an age: ``30s``, ``30m``, ``12h``, ``7d``, ``2w`` (also ``7 days``,
  ``7 days ago``), which is exactly ``now`` minus that much. ``m`` is minutes: months and
  years have no fixed length, so they are refused.

Everything else, including an instant outside years 1 to 9999 in UTC, raises ``InputError``
with a one-line message to which a caller prefixes the option and the value.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal

from ledger.errors import InputError

DateMeans = Literal["end", "start"]

# Digits are ASCII only (\d would take any script's digits); the units are English words.
_AGE = re.compile(r"(?P<count>[0-9]+)\s*(?P<unit>[a-z]+)(?:\s+ago)?", re.ASCII | re.IGNORECASE)
_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), timedelta(weeks=1)),
}
_INEXACT = ("mo", "mon", "month", "months", "y", "yr", "yrs", "year", "years")
# More digits than this is beyond any timedelta, and int() of thousands of digits is refused.
_MAX_DIGITS = 12
EXAMPLES = (
    "an ISO 8601 date-time with Z or an offset (2014-03-17T09:00:00Z), a date (2014-03-17),"
    " now, today, yesterday, or an age such as 30m, 12h, 7d, 2w"
)
OUT_OF_RANGE = "out of range: the instant must fall in years 1 to 9999 in UTC"


def parse_moment(text: str, now: datetime, *, date_means: DateMeans = "end") -> datetime:
    """The exact UTC instant a user's text names, ``now`` being the current time (aware)."""
    value = text.strip()
    word = value.lower()
    if word == "now":
        return _utc(now)
    if word in ("today", "yesterday"):
        day = _utc(now).date() - timedelta(days=1 if word == "yesterday" else 0)
        return _whole_day(day, date_means)
    age = _AGE.fullmatch(value)
    if age is not None:
        return _ago(_utc(now), age["count"], age["unit"].lower())
    return _iso(value, date_means)


@lru_cache(maxsize=4096)  # a command's events share its time: a long listing repeats it
def rfc3339(moment: datetime) -> str:
    """An aware instant as RFC 3339 UTC text: ``2014-03-18T09:00:00Z`` (microseconds if any)."""
    utc = _utc(moment).replace(tzinfo=None)
    # isoformat, unlike strftime("%Y"), pads years before 1000 to four digits.
    return utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds") + "Z"


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise InputError("no UTC offset: add Z for UTC or an offset such as +01:00")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InputError(OUT_OF_RANGE) from None


def _whole_day(day: date, date_means: DateMeans) -> datetime:
    return datetime.combine(day, time.max if date_means == "end" else time.min, UTC)


def _ago(now: datetime, count: str, unit: str) -> datetime:
    if unit in _INEXACT:
        raise InputError(
            f"{unit!r}: months and years have no fixed length; give a date or days (90d)"
        )
    if unit not in _UNITS:
        raise InputError(f"unknown unit {unit!r}; use {EXAMPLES} (m is minutes)")
    if len(count.lstrip("0")) > _MAX_DIGITS:
        raise InputError(OUT_OF_RANGE)
    try:
        return now - int(count) * _UNITS[unit]
    except OverflowError:
        raise InputError(OUT_OF_RANGE) from None


def _iso(value: str, date_means: DateMeans) -> datetime:
    # RFC 3339 allows a lowercase t and z, which fromisoformat does not read.
    upper = value.upper()
    try:
        return _whole_day(date.fromisoformat(upper), date_means)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(upper)
    except ValueError:
        raise InputError(f"not a time; use {EXAMPLES}") from None
    if moment.utcoffset() is None:
        raise InputError(
            "no UTC offset, so the instant is ambiguous: add Z for UTC or an offset,"
            f" e.g. {moment.isoformat()}Z or {moment.isoformat()}+01:00"
        )
    return _utc(moment)
