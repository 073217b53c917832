"""Copy a ledger between stores (SQLite and PostgreSQL, either way), chain and all.

Events are copied in log order, in batches, each batch in one transaction of the target, with
their recorded times and hashes unchanged, so the copy's head is the source's head. Every
batch is re-hashed on the way, chained onto the event before it, so a source whose chain is
broken is never copied past the break.

The target must be empty, or hold a prefix of the source (the same events up to its head, as
its head hash proves): then only the rest is copied. An interrupted copy is resumed by running
it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from ledger.application import Ledger
from ledger.chain import ChainRow, Head, link
from ledger.errors import IntegrityViolation, StateError, StoreError
from ledger.store import ChainedRecorder, is_postgres, redact, resolve_db

BATCH = 2_000


@dataclass(frozen=True)
class Copied:
    """What a copy did: the events it appended, those the target already held, the head."""

    copied: int
    kept: int
    head: Head


def open_source(db: str) -> Ledger:
    """Open a ledger that must already exist (a copy never creates its source)."""
    if not is_postgres(db) and db != ":memory:" and not Path(db).is_file():
        raise StoreError(f"--from {redact(db)}: no such ledger file")
    return Ledger(db, readonly=True)


def same_store(source: str, target: str) -> bool:
    """Whether two --db values name the same store."""
    if is_postgres(source) or is_postgres(target):
        return resolve_db(source) == resolve_db(target)
    return Path(source).resolve() == Path(target).resolve()


def _check(rows: list[ChainRow], previous: Head) -> None:
    position, digest, last = previous.position, previous.hash, previous.recorded_at or ""
    for row in rows:
        position += 1
        where = f"the source's chain breaks at position {position}"
        if row.position != position or row.state is None:
            raise IntegrityViolation(f"{where}: an event is missing; run `ledger verify` on it")
        if row.recorded_at < last:
            raise IntegrityViolation(f"{where}: its recorded time goes backwards")
        digest = link(
            digest,
            position,
            UUID(row.originator_id).hex,
            row.originator_version,
            row.topic,
            row.recorded_at,
            row.state,
            row.author,
        )
        if digest != row.hash:
            raise IntegrityViolation(
                f"{where}: the stored hash does not match the event; run `ledger verify` on it"
            )
        last = row.recorded_at


def copy_chain(
    source: ChainedRecorder,
    target: ChainedRecorder,
    *,
    names: tuple[str, str] = ("the source", "the target"),
    batch: int = BATCH,
    advance: Callable[[int], None] | None = None,
) -> Copied:
    """Append to ``target`` every event of ``source`` it lacks, verifying the chain as it goes.

    Copies up to the source's head as it is when the copy starts; events recorded in the
    source meanwhile are left for the next run.
    """
    until = source.head()
    start = target.head()
    src, dst = names
    if start.position:
        shared = (
            source.chain_rows(start.position - 1, 1) if start.position <= until.position else []
        )
        if not shared or shared[0].hash != start.hash:
            raise StateError(
                f"copy: {dst} already holds {start.position} events that are not the start"
                f" of {src}; copy into an empty ledger"
            )
    done = start
    while done.position < until.position:
        rows = list(source.chain_rows(done.position, min(batch, until.position - done.position)))
        if not rows:
            raise IntegrityViolation(
                f"copy: {src} ends at position {done.position}, before its head"
                f" ({until.position}); run `ledger verify` on it"
            )
        _check(rows, done)
        target.copy_rows(rows)
        last = rows[-1]
        done = Head(last.position, last.hash, last.recorded_at)
        if advance is not None:
            advance(len(rows))
    # The signatures of what was copied, as they are: they sign hashes the copy keeps.
    target.copy_signatures([s for s in source.signatures() if s.last <= until.position])
    head = target.head()
    if head != until:
        raise IntegrityViolation(
            f"copy: {dst}'s head ({head.position} {head.hash}) is not {src}'s"
            f" ({until.position} {until.hash})"
        )
    return Copied(copied=until.position - start.position, kept=start.position, head=head)


def _as_option(opener: Callable[[str], Ledger], db: str, option: str) -> Ledger:
    """Open a ledger; a store error names the option the user gave, not --db."""
    try:
        return opener(db)
    except StoreError as e:
        message = str(e)
        if message.startswith("--db "):
            message = option + message[len("--db") :]
        raise StoreError(message) from None


class LedgerCopy:
    """A copy from one store to another, opened and checked, ready to run."""

    def __init__(self, source_db: str, target_db: str) -> None:
        if same_store(source_db, target_db):
            raise StateError(f"copy: --from and --to both name {redact(source_db)}")
        self.names = (redact(source_db), redact(target_db))
        self.source = _as_option(open_source, source_db, "--from")
        try:
            self.target = _as_option(Ledger, target_db, "--to")
        except BaseException:
            self.source.close()
            raise

    @property
    def todo(self) -> int:
        """How many events the target lacks (as things stand now)."""
        return max(0, self.source.head().position - self.target.head().position)

    def run(self, *, batch: int = BATCH, advance: Callable[[int], None] | None = None) -> Copied:
        """Copy what the target lacks; see ``copy_chain``."""
        return copy_chain(
            self.source.chain, self.target.chain, names=self.names, batch=batch, advance=advance
        )

    def close(self) -> None:
        """Close both ledgers."""
        self.target.close()
        self.source.close()

    def __enter__(self) -> LedgerCopy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def copy_ledger(source_db: str, target_db: str, *, batch: int = BATCH) -> Copied:
    """Copy the ledger at ``source_db`` into ``target_db`` (created if new, else continued)."""
    with LedgerCopy(source_db, target_db) as job:
        return job.run(batch=batch)
