"""The write side of the results ledger: events, aggregates, inputs, store, and the Ledger.

``from ledger import Ledger`` works as ever; the package itself imports nothing, so that a
command that needs only ``ledger.errors`` or ``ledger.values`` does not load the event store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.application import Ledger, Receipt
    from ledger.errors import LedgerError

__all__ = ["Ledger", "LedgerError", "Receipt"]


def __getattr__(name: str) -> Any:
    if name in ("Ledger", "Receipt"):
        from ledger import application

        return getattr(application, name)
    if name == "LedgerError":
        from ledger.errors import LedgerError

        return LedgerError
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")
