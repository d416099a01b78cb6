"""A progress bar on the terminal for long commands (rich), and nothing at all when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

# Redraw at most this often (seconds): the importers report every row.
EVERY = 0.1


def _quiet(done: int) -> None:
    pass


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yield a callback taking rows done so far: drawn on stderr (stdout stays the command's output) as a bar with
    rows, rows a second and time left on a terminal; silent otherwise (cron, pipes, tests)."""
    if not sys.stderr.isatty():
        yield _quiet
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total or None, rate="")
        last = 0.0

        def update(done: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < EVERY:
                return
            last = now
            speed = bar.tasks[task].speed
            bar.update(task, completed=done, rate=f"{speed:,.0f} rows/s" if speed else "")

        yield update
