"""pandas DataFrames of query results, for notebooks; pandas is imported only when asked for.

Columns keep their types: whole numbers that may be missing (places, ranks) are nullable
``Int64``, not floats with NaN; moments are ``datetime64[ns, UTC]``; calendar dates are
``datetime64[ns]`` at midnight (pandas has no date-only type of its own); points, bonuses and
race times stay exact, as ``Decimal`` objects, never floats; flags are ``bool`` (``boolean``
when one may be missing). A column's type comes from its model field when the records are
models, and from its values otherwise.
"""

from __future__ import annotations

import importlib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ledger.errors import MissingExtraError

M = TypeVar("M", bound=BaseModel)

# What a column holds, named as the table of ``_DTYPES`` says how pandas stores it.
INT, MOMENT, DAY, DECIMAL, FLAG, TEXT, OTHER = (
    "int",
    "moment",
    "date",
    "decimal",
    "flag",
    "text",
    "other",
)


def pandas() -> Any:
    """The pandas module, or a one-line error naming the extra to install."""
    try:
        # By name, so that type-checking does not need pandas' stubs.
        return importlib.import_module("pandas")
    except ImportError:
        raise MissingExtraError(
            "to_dataframe() needs pandas: pip install 'results-ledger[dataframes]'"
        ) from None


def kind_of_annotation(annotation: Any) -> tuple[str, bool]:
    """What a model field holds, and whether it may be missing (``int | None``)."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                return OTHER, optional
            annotation = args[0]
            continue
        break
    if annotation is bool:
        return FLAG, optional
    if annotation is int:
        return INT, optional
    if annotation is datetime:
        return MOMENT, optional
    if annotation is date:
        return DAY, optional
    if annotation is Decimal:
        return DECIMAL, optional
    if annotation is str:
        return TEXT, optional
    return OTHER, optional


def kind_of_values(values: Iterable[Any]) -> tuple[str, bool]:
    """What a column holds, read off its values."""
    seen: set[str] = set()
    optional = False
    for value in values:
        if value is None:
            optional = True
        elif isinstance(value, bool):
            seen.add(FLAG)
        elif isinstance(value, int):
            seen.add(INT)
        elif isinstance(value, datetime):
            seen.add(MOMENT if value.utcoffset() is not None else OTHER)
        elif isinstance(value, date):
            seen.add(DAY)
        elif isinstance(value, Decimal):
            seen.add(DECIMAL)
        elif isinstance(value, str):
            seen.add(TEXT)
        else:
            seen.add(OTHER)
    return (seen.pop() if len(seen) == 1 else OTHER), optional


def typed(frame: Any, kinds: Mapping[str, tuple[str, bool]]) -> Any:
    """A DataFrame with each column stored as its kind says."""
    pd = pandas()
    for column, (kind, optional) in kinds.items():
        if column not in frame.columns:
            continue
        values = frame[column]
        if kind == INT:
            frame[column] = values.astype("Int64")
        elif kind == FLAG:
            frame[column] = values.astype("boolean" if optional else "bool")
        elif kind == MOMENT:
            frame[column] = pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")
        elif kind == DAY:
            frame[column] = pd.to_datetime(values).astype("datetime64[ns]")
        elif kind in (DECIMAL, OTHER):
            frame[column] = values.astype(object).where(values.notna(), None)
    return frame


def dataframe(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    kinds: Mapping[str, tuple[str, bool]] | None = None,
) -> Any:
    """A pandas DataFrame of records, each column typed by ``kinds`` or by its values."""
    pd = pandas()
    rows = list(records)
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    found = {
        column: (kinds or {}).get(column) or kind_of_values(r.get(column) for r in rows)
        for column in columns
    }
    return typed(frame, found)


def model_kinds(model: type[BaseModel]) -> dict[str, tuple[str, bool]]:
    """Each field's kind, from the model's annotations."""
    hints = typing.get_type_hints(model, include_extras=True)
    return {name: kind_of_annotation(hints[name]) for name in model.model_fields}


def frame_of(
    model: type[BaseModel], items: Sequence[BaseModel], columns: Sequence[str] | None = None
) -> Any:
    """A DataFrame of models, one row each, typed by the model's fields."""
    names = list(columns or model.model_fields)
    records = [{name: getattr(item, name) for name in names} for item in items]
    return dataframe(records, names, model_kinds(model))


class Rows(list[M], Generic[M]):
    """A list of answers (the calendar, the audit trail, warnings...) with ``to_dataframe``."""

    def __init__(self, model: type[M], items: Iterable[M] = ()) -> None:
        super().__init__(items)
        self.model = model

    def to_dataframe(self) -> Any:
        """A pandas DataFrame, one row per item, typed by the model's fields."""
        return frame_of(self.model, self)
