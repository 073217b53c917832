"""One error hierarchy for everything a user can get wrong, and for store conflicts."""

from __future__ import annotations


class LedgerError(Exception):
    """Raised for any rejected command; its message is one line that says what to fix."""


class InputError(LedgerError):
    """Raised when an input file or value is malformed; names the file, line and field."""


class UnknownIdError(LedgerError):
    """Raised when a season, cup, race or competitor id names nothing in the ledger."""


class AmbiguousIdError(LedgerError):
    """Raised when an unqualified id matches more than one thing; lists the choices."""


class DuplicateError(LedgerError):
    """Raised when something is recorded twice (a season, a result, a disqualification)."""


class StateError(LedgerError):
    """Raised when a command does not fit the ledger's state (reinstating a clean result)."""


class RecordedTimeError(LedgerError):
    """Raised when a recorded time is in the future or earlier than the newest event."""


class ConflictError(LedgerError):
    """Raised when concurrent writers kept colliding and the command gave up after retrying."""


class StoreError(LedgerError):
    """Raised when the store cannot be opened or read (bad --db, server down, not a ledger)."""


class IntegrityViolation(LedgerError):
    """Raised when the hash chain does not match the stored events."""


class MissingExtraError(LedgerError):
    """Raised when a feature needs an optional package that is not installed (charts, pandas)."""


class ReadOnlyStoreError(StoreError):
    """Raised when the store refuses a write: a role that may only read, a read-only replica."""
