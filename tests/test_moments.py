"""What users type for --known-at, --since, --vs and --recorded-at, as exact UTC instants."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from ledger.application import Ledger
from ledger.bundled import MEN_500M, load_bundled
from ledger.errors import InputError
from ledger.moments import parse_moment, rfc3339
from projections.api import as_datetime

# A Tuesday morning in Heerenveen, after the World Cup Final.
NOW = datetime(2014, 3, 18, 9, 30, 15, 250_000, tzinfo=UTC)
CET = timezone(timedelta(hours=1))

offsets = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
)
aware = st.datetimes(timezones=offsets)
EARLIEST, LATEST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
in_range = aware.filter(lambda d: EARLIEST <= d <= LATEST)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-03-17T09:00:00Z", datetime(2014, 3, 17, 9, tzinfo=UTC)),
        ("2014-03-17T10:00:00+01:00", datetime(2014, 3, 17, 9, tzinfo=UTC)),
        ("2014-03-17t09:00:00z", datetime(2014, 3, 17, 9, tzinfo=UTC)),
        (" 2014-03-17 09:00:00.5-02:30 ", datetime(2014, 3, 17, 11, 30, 0, 500_000, tzinfo=UTC)),
        ("2014-03-17", datetime(2014, 3, 17, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("now", NOW),
        ("NOW", NOW),
        ("today", datetime(2014, 3, 18, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("yesterday", datetime(2014, 3, 17, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("7d", datetime(2014, 3, 11, 9, 30, 15, 250_000, tzinfo=UTC)),
        ("7 days ago", datetime(2014, 3, 11, 9, 30, 15, 250_000, tzinfo=UTC)),
        ("2w", datetime(2014, 3, 4, 9, 30, 15, 250_000, tzinfo=UTC)),
        ("12h", datetime(2014, 3, 17, 21, 30, 15, 250_000, tzinfo=UTC)),
        ("30m", datetime(2014, 3, 18, 9, 0, 15, 250_000, tzinfo=UTC)),
        ("1 hour ago", datetime(2014, 3, 18, 8, 30, 15, 250_000, tzinfo=UTC)),
        ("0d", NOW),
    ],
)
def test_what_users_type_names_one_instant_in_utc(text: str, expected: datetime) -> None:
    moment = parse_moment(text, NOW)
    assert moment == expected
    assert moment.utcoffset() == timedelta(0)


def test_a_date_as_a_lower_bound_is_the_first_moment_of_the_day() -> None:
    assert parse_moment("2014-03-17", NOW, date_means="start") == datetime(2014, 3, 17, tzinfo=UTC)
    assert parse_moment("yesterday", NOW, date_means="start") == datetime(2014, 3, 17, tzinfo=UTC)
    assert parse_moment("7d", NOW, date_means="start") == parse_moment("7d", NOW)


def test_today_is_the_utc_date_even_where_it_is_already_tomorrow() -> None:
    # 23:30 UTC on 17 March is 00:30 on 18 March in Heerenveen: today is still the 17th in UTC.
    late = datetime(2014, 3, 18, 0, 30, tzinfo=CET)
    assert parse_moment("today", late) == datetime(2014, 3, 17, 23, 59, 59, 999_999, tzinfo=UTC)
    assert parse_moment("now", late) == datetime(2014, 3, 17, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2014-03-17T09:00:00", "add Z for UTC or an offset"),
        ("2014-03-17 09:00", "2014-03-17T09:00:00Z"),
        ("17 March 2014", "not a time"),
        ("soon", "ISO 8601"),
        ("", "not a time"),
        ("3 months ago", "no fixed length"),
        ("1y", "no fixed length"),
        ("7 fortnights", "unknown unit 'fortnights'"),
        ("2014-02-30", "not a time"),
        ("2014-03-17T24:00:01Z", "not a time"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
        ("9999-12-31T23:59:59-01:00", "out of range"),
        ("99999999999w", "out of range"),
        ("9" * 5000 + "d", "out of range"),
        ("7-d", "not a time"),
    ],
)
def test_what_names_no_exact_instant_is_one_line_saying_what_to_write(
    text: str, fragment: str
) -> None:
    with pytest.raises(InputError) as refused:
        parse_moment(text, NOW)
    message = str(refused.value)
    assert fragment in message
    assert "\n" not in message


def test_the_extremes_of_the_calendar_still_parse_when_they_exist_in_utc() -> None:
    assert parse_moment("9999-12-31", NOW) == LATEST
    assert parse_moment("0001-01-01", NOW, date_means="start") == EARLIEST
    assert parse_moment("99999d", NOW) == NOW - timedelta(days=99_999)  # 1740: in range


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2014, 3, 18, 9, tzinfo=UTC), "2014-03-18T09:00:00Z"),
        (datetime(2014, 3, 18, 10, tzinfo=CET), "2014-03-18T09:00:00Z"),
        (datetime(2014, 3, 18, 9, 0, 0, 1_000, tzinfo=UTC), "2014-03-18T09:00:00.001000Z"),
        (datetime(14, 1, 2, tzinfo=UTC), "0014-01-02T00:00:00Z"),
    ],
)
def test_machine_output_writes_instants_as_rfc3339_utc(moment: datetime, text: str) -> None:
    assert rfc3339(moment) == text


def test_an_instant_without_offset_or_outside_utc_years_cannot_be_written() -> None:
    with pytest.raises(InputError, match="offset"):
        rfc3339(datetime(2014, 3, 18, 9))
    with pytest.raises(InputError, match="out of range"):
        rfc3339(datetime(1, 1, 1, tzinfo=CET))


# --- properties ---------------------------------------------------------------------------


@given(moment=in_range)
def test_any_instant_written_as_rfc3339_reads_back_as_the_same_instant(moment: datetime) -> None:
    text = rfc3339(moment)
    assert text.endswith("Z")
    assert parse_moment(text, NOW) == moment


@given(day=st.dates())
def test_a_date_is_the_last_microsecond_of_that_utc_day(day: date) -> None:
    moment = parse_moment(day.isoformat(), NOW)
    assert moment.tzinfo is UTC
    assert moment.date() == day
    assert (moment.hour, moment.minute, moment.second, moment.microsecond) == (23, 59, 59, 999_999)
    if day < date.max:
        assert (moment + timedelta(microseconds=1)).date() == day + timedelta(days=1)


UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@given(
    count=st.integers(min_value=0, max_value=5_000),
    unit=st.sampled_from(sorted(UNITS)),
    spelled=st.booleans(),
    now=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=offsets),
)
def test_an_age_is_now_minus_exactly_that_much(
    count: int, unit: str, spelled: bool, now: datetime
) -> None:
    text = f"{count} {UNITS[unit]} ago" if spelled else f"{count}{unit}"
    assert parse_moment(text, now) == now - timedelta(**{UNITS[unit]: count})


@given(text=st.text(max_size=40), now=aware.filter(lambda d: 1 < d.year < 9999))
def test_garbage_is_refused_with_the_one_error_type_or_names_an_instant_in_utc(
    text: str, now: datetime
) -> None:
    try:
        moment = parse_moment(text, now)
    except InputError as e:
        assert "\n" not in str(e)
    else:
        assert moment.utcoffset() == timedelta(0)


@given(
    text=st.one_of(
        st.text(alphabet="0123456789-:T Z+.WdhmswagoNnTtYy", max_size=30),
        st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]{0,15}([+-][0-9:]{0,8}|Z)?)?\Z"),
    ),
    now=aware.filter(lambda d: 1 < d.year < 9999),
)
def test_near_misses_are_refused_with_the_one_error_type(text: str, now: datetime) -> None:
    try:
        moment = parse_moment(text, now)
    except InputError as e:
        assert "\n" not in str(e)
    else:
        assert moment.tzinfo is UTC


# --- the command line and the Python API read moments this way ----------------------------


@pytest.fixture
def season_db(sqlite_url: str) -> str:
    """The bundled men's 500 m season: each race day's results recorded at 21:00 UTC."""
    ledger = Ledger(sqlite_url)
    load_bundled(ledger, MEN_500M)
    ledger.close()
    return sqlite_url


def cli_json(runner: CliRunner, *args: str) -> Any:
    """A command's answer: an object's fields, or a list answer's data (docs/json.md)."""
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    return answer.get("data", answer)


def leader(runner: CliRunner, db: str, known_at: str) -> tuple[str, int]:
    table = cli_json(runner, "standings", "men-500m", "--known-at", known_at, "--db", db)
    top = table["standings"][0]
    return top["competitor"], top["points"]


def test_known_at_a_date_includes_what_was_recorded_that_evening(
    runner: CliRunner, season_db: str
) -> None:
    # The Final (HVN2, 16 March) was recorded at 21:00 UTC: Ronald Mulder's 2nd place there
    # (120 points) lifts him from 662 to 782.
    assert leader(runner, season_db, "2014-03-16") == ("Ronald Mulder", 782)
    assert leader(runner, season_db, "2014-03-16T20:00:00Z") == ("Ronald Mulder", 662)
    assert leader(runner, season_db, "2014-03-16t21:00:00+00:00") == ("Ronald Mulder", 782)


def test_since_a_date_starts_at_its_first_moment(runner: CliRunner, season_db: str) -> None:
    rows = cli_json(runner, "history", "--race", "HVN2", "--since", "2014-03-16", "--db", season_db)
    assert {r["recorded_at"] for r in rows} == {"2014-03-16T21:00:00Z"}
    assert len(rows) == 20  # HVN2's twenty results
    later = cli_json(
        runner, "history", "--race", "HVN2", "--since", "2014-03-17", "--db", season_db
    )
    assert later == []


def test_recorded_at_a_date_is_its_last_moment_and_today_is_still_the_future(
    runner: CliRunner, season_db: str
) -> None:
    change = ["correct", "HVN2", "Michel Mulder", "--time", "34.94", "--reason", "timing sheet"]
    refused = runner.invoke(app, [*change, "--recorded-at", "today", "--db", season_db])
    assert refused.exit_code == 1
    assert "in the future" in refused.stderr
    done = runner.invoke(app, [*change, "--recorded-at", "2014-03-18", "--db", season_db])
    assert done.exit_code == 0, done.stderr
    rows = cli_json(runner, "history", "--race", "HVN2", "--changes", "--db", season_db)
    assert [r["recorded_at"] for r in rows] == ["2014-03-18T23:59:59.999999Z"]
    known = cli_json(
        runner, "history", "--race", "HVN2", "--changes", "--known-at", "2014-03-18",
        "--db", season_db,
    )  # fmt: skip
    assert known == rows


def test_the_python_api_reads_text_moments_as_the_command_line_does() -> None:
    assert as_datetime("2014-03-17") == datetime(2014, 3, 17, 23, 59, 59, 999_999, tzinfo=UTC)
    assert as_datetime("2014-03-17T10:00:00+01:00") == datetime(2014, 3, 17, 9, tzinfo=UTC)
    with pytest.raises(InputError, match=r"^known_at '2014-03-17T10:00': no UTC offset"):
        as_datetime("2014-03-17T10:00")
    with pytest.raises(InputError, match=r"^vs 'soon': not a time"):
        as_datetime("soon", "vs")
