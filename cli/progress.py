"""Progress bars for long operations: shown on a terminal, silent when piped."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported when a bar is shown: piped output never loads it
    from rich.progress import Progress


def _shown() -> bool:
    """Bars go to stderr when it is a terminal that can redraw, unless --quiet."""
    import os

    from cli.common import quiet

    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb" and not quiet()


def _bar() -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}", markup=False),  # a file named "[b].csv" is text
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    )


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A callback ``advance(n)`` that moves a bar on stderr when it is a terminal.

    The write side reports progress through plain callbacks, so it never imports rich.
    """
    if not _shown():
        yield lambda _n: None
        return
    with _bar() as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def tracker(description: str) -> Iterator[Callable[[int, int], None]]:
    """A callback ``report(done, total)`` for work whose size the write side finds out.

    The bar appears on stderr when it is a terminal, and stays away when piped.
    """
    if not _shown():
        yield lambda _done, _total: None
        return
    with _bar() as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
