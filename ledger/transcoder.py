"""Event state to bytes: eventsourcing's JSON format, written by orjson.

The stored bytes are the ones the library's ``JSONTranscoder`` writes (compact separators,
UTF-8 text unescaped, keys in insertion order, registered types as
``{"_type_": name, "_data_": value}``), so every stored event decodes as before, the chain
hashes the same kind of bytes, and SQLite's ``json_extract`` reads the state as before. Only
values whose JSON orjson writes exactly as the standard library does go through orjson;
anything else (a float, a UUID, an unregistered type, an integer beyond 64 bits) is written
by the library's encoder, unchanged.

Decoding reads the JSON with orjson, then revives the registered types as the library's
decoder does (its object hook, applied to every object, innermost first). JSON that orjson
refuses but the standard library may take (NaN, an escaped lone surrogate), and any number
that orjson reads as a float (it reads an integer beyond 64 bits as one, the standard library
as an int; no event of the ledger holds a float), goes to the library's decoder, which takes
it or raises as before.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder

# Written by orjson as the standard library writes them (checked in tests/test_transcoder.py).
_NATIVE = frozenset({str, int, bool, type(None)})
# Handed back to the registered transcodings (orjson would otherwise write its own format).
_REGISTERED = frozenset({Decimal, datetime, date})
_CONTAINERS = frozenset({dict, list})
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def _plain(value: Any) -> bool:
    """Whether orjson writes ``value`` byte for byte as the standard library would."""
    kind = type(value)
    if kind in _NATIVE or kind in _REGISTERED:
        return True
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if kind is list:
        return all(_plain(v) for v in value)
    return False


_KNOWN = 4096  # distinct values of lists kept revived, at most (points tables have a few dozen)
_TABLES = 8  # lists kept revived whole, of each length: a ledger's points tables repeat
_NOT_ONE = object()  # what ``_value`` gives for an object that is no registered value


class _HasFloat(Exception):
    """A number orjson read as a float: the library's decoder reads it instead."""


class OrjsonTranscoder(JSONTranscoder):
    """The library's JSON transcoder, encoding with orjson where the bytes are the same."""

    def __init__(self) -> None:
        super().__init__()
        self._known: dict[str, dict[str, Any]] = {}  # type name -> text -> revived value
        # length -> [(the list as read, revived)]: every race scheduled on one points table
        # holds the same list, and comparing it with one read before costs a tenth of
        # reviving its values again (the comparison, of plain dicts of text, is exact).
        self._tables: dict[int, list[tuple[list[Any], list[Any]]]] = {}

    def encode(self, obj: Any) -> bytes:
        """Encode an event's state as the library's JSON, as UTF-8 bytes."""
        if type(obj) is dict:
            # A result event's state is one flat dict: check it without a call per value.
            for key, value in obj.items():
                kind = type(value)
                if type(key) is not str or not (
                    kind in _NATIVE
                    or kind in _REGISTERED
                    or (kind in _CONTAINERS and _plain(value))
                ):
                    return super().encode(obj)
            try:
                return orjson.dumps(obj, default=self._encode_obj, option=_OPTIONS)
            except orjson.JSONEncodeError:
                pass  # a lone surrogate or a huge integer: the library decides what happens
        return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        """Decode the library's JSON into what the library's decoder would give."""
        try:
            return self._revive(orjson.loads(data))
        except (orjson.JSONDecodeError, _HasFloat):
            return super().decode(data)

    def _revive(self, obj: Any) -> Any:
        """What the library's object hook makes of ``obj`` and every object inside it."""
        kind = type(obj)
        if kind is dict:
            for key, value in obj.items():
                kind = type(value)
                if kind is dict and (revived := self._value(value)) is not _NOT_ONE:
                    # A registered type's value, the common case: nothing inside to revive.
                    obj[key] = revived  # the same keys: the size is kept
                elif kind in _CONTAINERS:
                    obj[key] = self._revive(value)
                elif kind is float:
                    raise _HasFloat
            return self._decode_obj(obj) if len(obj) == 2 else obj
        if kind is list:
            if obj and (values := self._values(obj)) is not None:
                return values  # a points table's, the common case
            for index, value in enumerate(obj):
                kind = type(value)
                if kind is dict and (revived := self._value(value)) is not _NOT_ONE:
                    obj[index] = revived  # a registered value in a list of mixed values
                elif kind in _CONTAINERS:
                    obj[index] = self._revive(value)
                elif kind is float:
                    raise _HasFloat
        elif kind is float:
            raise _HasFloat
        return obj

    def _values(self, items: list[Any]) -> list[Any] | None:
        """A list of registered values of one type (a points table) revived in one pass, each
        distinct text once (the values are immutable), or None if it holds anything else."""
        first = items[0]
        if type(first) is not dict or len(first) != 2:
            return None
        name = first.get("_type_")
        if type(name) is not str:
            return None
        transcoding = self.names.get(name)
        if transcoding is None or transcoding.type not in _REGISTERED:
            return None
        seen = self._tables.setdefault(len(items), [])
        for read, values in seen:
            if read == items:
                return list(values)  # a list of its own: the event may be changed by its holder
        known = self._known.get(name)
        if known is None or len(known) > _KNOWN:
            known = self._known[name] = {}
        get = known.get
        revived = []
        for value in items:
            if type(value) is not dict or len(value) != 2 or value.get("_type_") != name:
                return None
            data = value.get("_data_")
            if type(data) is not str:
                return None
            found = get(data)
            if found is None:
                found = known[data] = transcoding.decode(data)
            revived.append(found)
        if len(seen) == _TABLES:
            del seen[0]
        seen.append((items, list(revived)))
        return revived

    def _value(self, value: dict[str, Any]) -> Any:
        """A registered type's value revived, if ``value`` is one (just ``_type_`` and
        ``_data_``, both text: nothing inside it to revive), else ``_NOT_ONE``. Each distinct
        text is revived once (the values are immutable): a command's events share its time,
        a race's its date, and times and points repeat."""
        if len(value) != 2:
            return _NOT_ONE
        name, data = value.get("_type_"), value.get("_data_")
        if type(name) is not str or type(data) is not str:
            return _NOT_ONE
        known = self._known.get(name)
        if known is not None and (found := known.get(data)) is not None:
            return found
        transcoding = self.names.get(name)
        if transcoding is None:
            return self._decode_obj(value)  # the library's error for a type not registered
        found = transcoding.decode(data)
        if transcoding.type in _REGISTERED:
            if known is None or len(known) > _KNOWN:
                known = self._known[name] = {}
            known[data] = found
        return found
