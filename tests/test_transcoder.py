"""The orjson transcoder writes the library's JSON format byte for byte.

Stored events are hashed as stored and decoded by the library's decoder, and the SQLite
rebuild reads them with ``json_extract``: a faster encoder may not change a single byte.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import DateAsISO, Ledger
from ledger.bundled import MEN_500M, load_bundled
from ledger.transcoder import OrjsonTranscoder


def _registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    # What Ledger.register_transcodings registers: the library's three, and dates.
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return transcoder


def _library() -> JSONTranscoder:
    return _registered(JSONTranscoder())


def _ours() -> JSONTranscoder:
    return _registered(OrjsonTranscoder())


def _outcome(transcoder: JSONTranscoder, state: Any) -> bytes | type[BaseException]:
    try:
        return transcoder.encode(state)
    except Exception as e:  # the same kind of failure counts as the same outcome
        return type(e)


scalars = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x7F)),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(places=2, min_value=0, max_value=1000),
    st.floats(),
    st.dates(),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), None])),
    st.uuids(),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5) | st.integers(0, 9), inner, max_size=4)
    ),
    max_leaves=12,
)
states = st.dictionaries(st.text(max_size=12), values, max_size=14)


@settings(max_examples=300, deadline=None, database=None)
@given(states)
def test_any_event_state_is_written_as_the_library_writes_it(state: dict[str, Any]) -> None:
    assert _outcome(_ours(), state) == _outcome(_library(), state)


def test_a_result_event_state_is_written_byte_for_byte_as_before() -> None:
    state = {
        "timestamp": datetime(2014, 3, 9, 18, 0, 0, 123456, tzinfo=UTC),
        "season": "2013-14",
        "race": "SLC1-M500",
        "cup": "men-500m",
        "race_date": date(2013, 11, 15),
        "competitor": 'Zoë "the rocket" Ødegård\\',
        "nation": "NOR",
        "place": 3,
        "time": Decimal("34.10"),
        "status": None,
        "by": "jury\n",
        "source": "rapport\u2028.csv",
    }
    expected = (
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2014-03-09T18:00:00.123456+00:00"},'
        '"season":"2013-14","race":"SLC1-M500","cup":"men-500m",'
        '"race_date":{"_type_":"date_iso","_data_":"2013-11-15"},'
        '"competitor":"Zoë \\"the rocket\\" Ødegård\\\\","nation":"NOR","place":3,'
        '"time":{"_type_":"decimal_str","_data_":"34.10"},"status":null,'
        '"by":"jury\\n","source":"rapport\u2028.csv"}'
    ).encode()
    assert _ours().encode(state) == expected
    assert _library().decode(expected) == state


def test_an_unregistered_type_is_refused_as_the_library_refuses_it() -> None:
    with pytest.raises(TranscodingNotRegisteredError):
        _ours().encode({"when": timedelta(seconds=1)})
    assert _ours().encode({"id": UUID(int=1)}) == _library().encode({"id": UUID(int=1)})


def test_a_recorded_season_stores_the_bytes_the_library_would_have_stored(
    tmp_path: Path,
) -> None:
    ledger = Ledger(str(tmp_path / "ledger.db"))
    load_bundled(ledger, MEN_500M)
    library = _library()
    count = 0
    for _, event in ledger.read_events():
        stored = ledger.mapper.to_stored_event(event)
        state = dict(vars(event))
        del state["originator_id"], state["originator_version"]
        if type(event).class_version > 1:  # the mapper writes the version last
            state["class_version"] = type(event).class_version
        assert stored.state == library.encode(state)
        count += 1
    assert isinstance(ledger.mapper.transcoder, OrjsonTranscoder)
    assert count > 300


def _decoded(transcoder: JSONTranscoder, data: bytes) -> str:
    try:
        return repr(transcoder.decode(data))  # repr: NaN is not equal to itself
    except Exception as e:  # the same kind of failure counts as the same outcome
        return type(e).__name__


# JSON the library's encoder never writes, but a stored state could hold.
odd_json = st.sampled_from(
    [
        b'{"a":1,"a":2}',
        b'{"x":NaN,"y":Infinity}',
        b'{"big":123456789012345678901234567890}',
        b'{"f":1e400,"g":-0.0,"h":1.5e-7}',
        b'{"s":"\\ud800"}',
        b'{"s":"\\ud83c\\udfc5 \\u00e9"}',
        b'{"_type_":"decimal_str","_data_":"1.5"}',
        b'{"_type_":"nope","_data_":"1"}',
        b'{"_type_":"decimal_str","_data_":"x"}',
        b'{"v":{"_type_":1,"_data_":"2"}}',
        b'{"v":{"_type_":"date_iso","_data_":{"_type_":"decimal_str","_data_":"1"}}}',
        b'{"v":{"_data_":"2","other":{"_type_":"decimal_str","_data_":"3"}}}',
        b'{"v":[{"_type_":"uuid_hex","_data_":"' + b"0" * 32 + b'"},[1,{"a":null}]]}',
        b'{"points":[{"_type_":"decimal_str","_data_":"2.5"},{"_type_":"nope","_data_":"1"}]}',
        b'{"points":[{"_type_":"decimal_str","_data_":"x"}]}',
        b'{"points":[{"_type_":"decimal_str","_data_":1},{"_type_":"decimal_str"}]}',
        b'{"p":[{"_type_":"decimal_str","_data_":"1.0"},{"_type_":"decimal_str","_data_":"1.00"},'
        b'{"_type_":"decimal_str","_data_":"1.0"}]}',
        b'{"p":[{"_type_":"decimal_str","_data_":"1"},{"_type_":"date_iso","_data_":"2014-03-09"}]}',
        b'{"p":[{"_type_":"decimal_str","_data_":"1"},{"_type_":"decimal_str","_data_":"2","x":1}]}',
        b'{"p":[{"_type_":"decimal_str","_data_":["1"]},{"_type_":"decimal_str","_data_":"2"}]}',
        b'{"p":[{"_type_":"decimal_str","_data_":"1"},{"_type_":"decimal_str","_data_":{"a":1}}]}',
        b'{"p":[{"_type_":"decimal_str","_data_":"1"},[{"_type_":"decimal_str","_data_":"2"}]]}',
        b'{"p":[{"_type_":"decimal_str","_data_":"1"},{"_type_":"decimal_str","_data_":"y"}]}',
        b'{"p":[{"_type_":"date_iso","_data_":"2014-03-09"},{"_type_":"date_iso","_data_":"x"}]}',
        b'{"p":[{"_type_":"uuid_hex","_data_":"' + b"0" * 32 + b'"}]}',
        b'{"p":[{"_type_":"decimal_str","_data_":"1"},1.5]}',
        b'{"a":1',
        b"\xff\xfe",
        b"[1,2]",
        b'"text"',
        b"",
    ]
)


# Points tables: lists of registered values of one type, read in one pass.
tables = st.dictionaries(
    st.text(max_size=3),
    st.lists(st.decimals(allow_nan=False, allow_infinity=False), min_size=1, max_size=30)
    | st.lists(st.dates(), min_size=1, max_size=5),
    max_size=3,
)

# What the library writes of any state it can write.
written = (
    st.one_of(states, tables)
    .map(lambda state: _outcome(_library(), state))
    .filter(lambda data: isinstance(data, bytes))
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(written, odd_json))
def test_any_stored_state_is_read_as_the_library_reads_it(data: bytes) -> None:
    assert _decoded(_ours(), data) == _decoded(_library(), data)


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.one_of(written, odd_json), max_size=8))
def test_one_transcoder_reads_each_of_many_states_as_the_library_reads_it(
    stored: list[bytes],
) -> None:
    # One transcoder revives each distinct value's text once and hands it out again: every
    # later state that holds the same text (1.0 is not 1.00) still reads as the library's.
    ours = _ours()
    assert [_decoded(ours, data) for data in stored * 2] == [
        _decoded(_library(), data) for data in stored * 2
    ]


def test_a_value_revived_before_is_handed_out_again_by_its_own_type_and_text() -> None:
    ours = _ours()
    first = ours.decode(b'{"t":{"_type_":"decimal_str","_data_":"1.0"}}')["t"]
    again = ours.decode(b'{"u":{"_type_":"decimal_str","_data_":"1.0"}}')["u"]
    other = ours.decode(b'{"u":{"_type_":"decimal_str","_data_":"1.00"}}')["u"]
    day = ours.decode(b'{"d":{"_type_":"date_iso","_data_":"2014-03-09"}}')["d"]
    assert again is first and repr(other) == "Decimal('1.00')"
    assert ours.decode(b'{"d":{"_type_":"datetime_iso","_data_":"2014-03-09"}}')["d"] != day
