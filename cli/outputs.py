"""Files the commands write (`--output`): never the ledger, never an existing file unless
asked (``--force``), never through a symbolic link, and never half-written.

A file is written under a temporary name beside it and moved into place only once complete,
so a failure (a full disk, Ctrl-C) leaves no partial file, and an existing file is replaced
in one step or not at all.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from ledger.errors import InputError
from ledger.store import is_postgres, resolve_db

ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Replace the --output file if it exists."),
]

# SQLite keeps a ledger in its file and, while it is open, in these beside it.
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_output(path: Path, db: str | None, *, force: bool = False) -> None:
    """Refuse an --output that would hurt: the ledger's own files, a symbolic link, a folder,
    a missing folder, or an existing file without ``force``. A device or a pipe
    (``/dev/null``, ``/dev/stdout``) holds no data to lose: it is written to as it is."""
    if _is_stream(path):
        return
    if path.is_symlink():
        raise InputError(f"--output {path}: is a symbolic link; name the file itself")
    name = resolve_db(db)
    if not is_postgres(name) and name != ":memory:" and not name.startswith("file:"):
        for suffix in _SQLITE_COMPANIONS:
            if _same_file(path, Path(name + suffix)):
                raise InputError(
                    f"--output {path}: is the ledger's own database; name another file"
                )
    if path.is_dir():
        raise InputError(f"--output {path}: is a folder; name a file")
    if not path.parent.is_dir():
        raise InputError(f"--output {path}: folder {path.parent} does not exist")
    if path.exists() and not force:
        raise InputError(f"--output {path}: the file exists; give --force to replace it")


@contextmanager
def output_file(
    path: Path, db: str | None, *, force: bool = False, private: bool = False
) -> Iterator[BinaryIO]:
    """A binary stream that becomes ``path`` once the block ends without an error (checked
    as ``check_output`` does, again just before it is moved into place); ``private``: a file
    only its owner may read (a private key)."""
    check_output(path, db, force=force)
    if _is_stream(path):
        try:
            with path.open("wb") as stream:
                yield stream
        except OSError as e:
            raise InputError(f"--output {path}: cannot write ({e.strerror})") from None
        return
    try:
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
        )
    except OSError as e:
        raise InputError(f"--output {path}: cannot write ({e.strerror})") from None
    done = False
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600 if private else 0o666 & ~_umask())
        check_output(path, db, force=force)
        if force:
            os.replace(temporary, path)  # replaces a link itself, never what it points to
        else:
            # A hard link fails if the name was taken meanwhile: no file is ever clobbered.
            try:
                os.link(temporary, path)
            except FileExistsError:
                raise InputError(
                    f"--output {path}: the file exists; give --force to replace it"
                ) from None
            except OSError:  # a file system without hard links
                os.replace(temporary, path)
            else:
                os.unlink(temporary)
        done = True
    except OSError as e:
        raise InputError(f"--output {path}: cannot write ({e.strerror})") from None
    finally:
        if not done:
            with suppress(OSError):
                os.unlink(temporary)


@contextmanager
def destination(output: Path | None, db: str | None, *, force: bool = False) -> Iterator[BinaryIO]:
    """Standard output's bytes, or the --output file (``output_file``: in place only once
    complete)."""
    if output is None:
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with output_file(output, db, force=force) as out:
        yield out


def write_output(data: bytes, path: Path, db: str | None, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` as ``output_file`` does."""
    with output_file(path, db, force=force) as out:
        out.write(data)


def _is_stream(path: Path) -> bool:
    """Whether a path is a character device or a pipe (following links: /dev/stdout)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class OutputTarget:
    """Where a command's file goes, with what ``write_output`` needs to write it safely."""

    def __init__(self, path: Path, db: str | None, *, force: bool = False) -> None:
        self.path = path
        self.db = db
        self.force = force

    def check(self) -> None:
        """Refuse the target before any work is done (``check_output``)."""
        check_output(self.path, self.db, force=self.force)

    def write(self, data: bytes) -> None:
        """Write the whole file (``write_output``)."""
        write_output(data, self.path, self.db, force=self.force)

    def __str__(self) -> str:
        return str(self.path)
