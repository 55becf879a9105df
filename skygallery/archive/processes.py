"""Worker processes for numerical work: one BLAS/OpenMP thread per process, one process per core."""
from __future__ import annotations

import os

__all__ = ["THREAD_ENV", "default_workers", "single_threaded"]

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def default_workers() -> int:
    """The CPU cores this process may use (its affinity, where the system reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def single_threaded() -> None:
    """Worker initialiser: one numerical thread per process (N workers = N cores)."""
    for name in THREAD_ENV:
        os.environ[name] = "1"
