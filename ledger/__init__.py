"""The write side of the results ledger: events, aggregates, inputs, store, and the Ledger."""

from __future__ import annotations

from ledger.application import Ledger, Receipt
from ledger.errors import LedgerError

__all__ = ["Ledger", "LedgerError", "Receipt"]
