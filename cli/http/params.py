"""Query parameters as the command line takes them, parsed once for every route.

The forms are the command line's (docs/json.md): ``as_of`` is ``YYYY-MM-DD``; ``known_at``,
``vs``, ``since`` and ``until`` are ISO 8601 with an offset, a date, ``now``, ``today``,
``yesterday`` or an age (``7d``). A bad value is an ``InputError`` naming the parameter,
which the app answers with 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from ledger.errors import InputError
from ledger.moments import DateMeans, parse_moment
from ledger.values import parse_nation

# Two clocks a day apart: a moment that parses the same under both names an instant of its
# own (an ISO date-time or a date), not one that moves with the clock (now, 7d, today).
_CLOCKS = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC))


@dataclass(frozen=True)
class Moment:
    """A parsed moment: the exact instant used, and whether the text pins it down."""

    instant: datetime
    absolute: bool


def moment(value: str | None, name: str, *, now: datetime | None = None) -> Moment | None:
    """Parse a moment parameter (``since``: a date means its first instant)."""
    if value is None or not value.strip():
        return None
    means: DateMeans = "start" if name == "since" else "end"
    try:
        instant = parse_moment(value, now or datetime.now(UTC), date_means=means)
        fixed = {parse_moment(value, clock, date_means=means) for clock in _CLOCKS}
    except InputError as e:
        raise InputError(f"{name} {value!r}: {e}") from None
    return Moment(instant, len(fixed) == 1)


def instant(value: str | None, name: str) -> datetime | None:
    """A moment parameter's instant (None when absent)."""
    found = moment(value, name)
    return None if found is None else found.instant


def day(value: str | None, name: str = "as_of") -> date | None:
    """A YYYY-MM-DD parameter."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{name} {value!r}: not a date; use YYYY-MM-DD") from None


def asked(
    as_of: str | None, known_at: str | None
) -> tuple[date | None, Moment | None, datetime | None]:
    """What most answers are asked at: the ``as_of`` day, the ``known_at`` moment and its
    instant (None for each not given)."""
    day_asked, moment_asked = day(as_of), moment(known_at, "known_at")
    return day_asked, moment_asked, moment_asked.instant if moment_asked else None


@dataclass(frozen=True)
class Compared:
    """What a diff is asked: two knowledge times and two days (None for each not given)."""

    first: Moment | None
    second: Moment | None
    as_of: date | None
    vs_as_of: date | None

    @property
    def known_at(self) -> datetime | None:
        """The first knowledge time's instant."""
        return self.first.instant if self.first else None

    @property
    def vs(self) -> datetime | None:
        """The second knowledge time's instant."""
        return self.second.instant if self.second else None

    @property
    def upto(self) -> Moment | None:
        """What the answer reads up to (``later``)."""
        return later(self.first, self.second)


def compared(
    known_at: str | None, vs: str | None, as_of: str | None, vs_as_of: str | None
) -> Compared:
    """A diff's four parameters, parsed."""
    return Compared(
        moment(known_at, "known_at"), moment(vs, "vs"), day(as_of), day(vs_as_of, "vs_as_of")
    )


def nation(value: str | None) -> str | None:
    """A nation parameter (three letters, any case)."""
    if value is None or not value.strip():
        return None
    try:
        return parse_nation(value)
    except ValueError as e:
        raise InputError(f"nation {value!r}: {e}") from None


def text(value: str | None) -> str | None:
    """A free-text parameter: stripped, empty as absent."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def later(first: Moment | None, second: Moment | None) -> Moment | None:
    """What a comparison of two knowledge times reads up to: the later of the two, or the
    whole log (None) when either side is the head."""
    if first is None or second is None:
        return None
    return Moment(max(first.instant, second.instant), first.absolute and second.absolute)
