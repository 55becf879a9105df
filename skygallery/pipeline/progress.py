"""Progress reporting of the workflows: one bar per stage (ScWs, mosaics, sources, posting).

Workflows call ``progress.stage(name, total)`` (a context manager yielding ``advance(n=1)``) and
``progress.note(text)``; :class:`NullProgress` ignores them, :class:`RichProgress` draws rich
progress bars (the CLI and ``make demo``), :class:`LogProgress` collects lines (notebooks, tests).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["LogProgress", "NullProgress", "Progress", "RichProgress"]


class Progress:
    @contextmanager
    def stage(self, name: str, total: int) -> Iterator[Callable[..., None]]:
        yield lambda n=1: None

    def note(self, text: str) -> None:
        pass


class NullProgress(Progress):
    """Reports nothing."""


class LogProgress(Progress):
    """Keeps ``lines``: one per finished stage (name, count, seconds) and per note; prints them if asked."""

    def __init__(self, echo: bool = False):
        self.lines: list[str] = []
        self.echo = echo

    def _add(self, text: str) -> None:
        self.lines.append(text)
        if self.echo:
            print(text, flush=True)

    @contextmanager
    def stage(self, name, total):
        started, done = time.perf_counter(), [0]

        def advance(n=1):
            done[0] += n
        yield advance
        self._add(f"{name}: {done[0]}/{total} in {time.perf_counter() - started:.1f} s")

    def note(self, text):
        self._add(text)


class RichProgress(Progress):
    """Rich progress bars on ``console`` (one per stage, kept on screen when done)."""

    def __init__(self, console=None):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bars
        self.console = console or Console()
        self.bars = Bars(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                         TimeElapsedColumn(), TimeRemainingColumn(), console=self.console, transient=False)
        self._depth = 0

    @contextmanager
    def stage(self, name, total):
        if self._depth == 0:
            self.bars.start()
        self._depth += 1
        task = self.bars.add_task(name, total=max(total, 0))
        try:
            yield lambda n=1: self.bars.advance(task, n)
            self.bars.update(task, completed=total)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.bars.stop()

    def note(self, text):
        self.console.print(text, highlight=False)
