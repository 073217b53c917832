"""pandas DataFrames of query results, for notebooks; pandas is imported only when asked for."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.errors import MissingExtraError


def dataframe(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Any:
    """A pandas DataFrame of records, or a one-line error naming the extra to install."""
    try:
        # By name, so that type-checking does not need pandas' stubs.
        pandas = importlib.import_module("pandas")
    except ImportError:
        raise MissingExtraError(
            "to_dataframe() needs pandas: pip install 'results-ledger[dataframes]'"
        ) from None
    return pandas.DataFrame.from_records(list(records), columns=list(columns))
