"""Executors: where the per-ScW and per-source tasks run.

Two implementations of one small interface (:class:`Executor`):

* :class:`LocalExecutor` — a process pool on this machine (``--workers N``; default: the number
  of CPU cores). With one worker the tasks run in the calling process, one after the other
  (no pickling, easiest to debug). Worker processes are *spawned* (not forked: the caller may
  hold database connections and progress-bar threads) with one BLAS/FFT thread each, so N
  workers use N cores.
* :class:`DaskExecutor` — a Dask distributed cluster (``--dask tcp://scheduler:8786`` or the
  ``SKYGALLERY_DASK`` environment variable), or an existing ``distributed.Client``. Tasks are
  plain module-level functions with picklable arguments; they read the archive and write the
  cache by path, so every worker must see the same archive and work folders (a shared file system
  on a multi-node cluster).

``executor.map(fn, items, on_done)`` runs ``fn(item)`` for every item, in any order and as many at
once as there are workers, calls ``on_done(index, result)`` in the caller as each finishes, and
returns the results in the order of ``items``. The first exception is re-raised after the tasks
already running have finished (the others are cancelled); whatever finished is already in the
on-disk cache, which is what makes a re-run resume.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from skygallery.archive.processes import THREAD_ENV, default_workers, single_threaded

__all__ = ["DaskExecutor", "Executor", "LocalExecutor", "make_executor"]

OnDone = Callable[[int, Any], None] | None


class Executor(ABC):
    """Runs independent tasks; see the module docstring."""

    name = "executor"
    workers = 1

    @abstractmethod
    def map(self, fn: Callable, items: Sequence, on_done: OnDone = None) -> list:
        """``[fn(item) for item in items]`` in item order; ``on_done(index, result)`` as each finishes."""

    def close(self) -> None:
        """Release the workers (idempotent)."""

    def describe(self) -> str:
        return f"{self.name} ({self.workers} worker{'s' if self.workers != 1 else ''})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalExecutor(Executor):
    """A pool of ``workers`` spawned processes (in-process when ``workers`` is 1)."""

    name = "local"

    def __init__(self, workers: int | None = None):
        workers = default_workers() if workers is None else workers
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers: must be an integer >= 1, got {workers!r}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing
            for name in THREAD_ENV:   # inherited by the spawned workers before they import numpy
                os.environ.setdefault(name, "1")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=single_threaded)
        return self._pool

    def map(self, fn: Callable, items: Sequence, on_done: OnDone = None) -> list:
        items = list(items)
        results: list = [None] * len(items)
        if self.workers == 1 or len(items) <= 1 and self._pool is None:
            for i, item in enumerate(items):
                results[i] = fn(item)
                if on_done:
                    on_done(i, results[i])
            return results
        pool = self._get_pool()
        pending = {pool.submit(fn, item): i for i, item in enumerate(items)}
        error: BaseException | None = None
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    if fut.cancelled():
                        continue
                    exc = fut.exception()
                    if exc is not None:
                        if error is None:
                            error = exc
                            for other in pending:
                                other.cancel()
                        continue
                    results[i] = fut.result()
                    if on_done and error is None:
                        on_done(i, results[i])
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
        if error is not None:
            raise error
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Tasks on a Dask distributed cluster (scheduler address or an existing ``Client``)."""

    name = "dask"

    def __init__(self, address: str | None = None, client=None, timeout: str = "20s"):
        from distributed import Client
        if client is None and not address:
            raise ValueError("dask: give a scheduler address (tcp://host:8786) or a Client")
        self._own = client is None
        try:
            self.client = client if client is not None else Client(address, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"dask: cannot connect to the scheduler at {address} ({exc})") from None
        self.address = address or self.client.scheduler.address
        self.workers = max(1, sum(self.client.nthreads().values()))

    def describe(self) -> str:
        return f"dask at {self.address} ({self.workers} worker threads)"

    def map(self, fn: Callable, items: Sequence, on_done: OnDone = None) -> list:
        from distributed import as_completed
        items = list(items)
        if not items:
            return []
        futures = self.client.map(fn, items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(items)
        error = None
        for fut in as_completed(futures):
            i = index[fut.key]
            if fut.status == "error":
                if error is None:
                    error = fut.exception()
                    for other in futures:
                        if not other.done():
                            other.cancel()
                continue
            if fut.status == "cancelled":
                continue
            results[i] = fut.result()
            fut.release()
            if on_done and error is None:
                on_done(i, results[i])
        if error is not None:
            raise error
        return results

    def close(self) -> None:
        if self._own and self.client is not None:
            self.client.close()
            self.client = None


def make_executor(workers: int | None = None, dask: str | None = None) -> Executor:
    """``--dask``/``SKYGALLERY_DASK`` when given (a scheduler address), else a local pool of ``workers``."""
    address = dask if dask is not None else os.environ.get("SKYGALLERY_DASK", "").strip()
    if address:
        if workers not in (None, 0):
            raise ValueError("workers: give either --workers (local pool) or --dask (cluster), not both")
        return DaskExecutor(address)
    return LocalExecutor(workers)
