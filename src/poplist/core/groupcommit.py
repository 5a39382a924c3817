"""Group commit for short writes coming from many request threads of one process.

A thread hands a job to `GroupCommit.run`; one writer thread takes every job waiting, runs them
in one transaction, and answers each caller only after the COMMIT (so an answer still means
"committed"). On SQLite, where one writer at a time holds the lock and each commit is an fsync,
N waiting requests then cost one BEGIN, one fsync and one lock hand-over instead of N.

A batch runs as `batch_fn(jobs) -> results` (one result per job, in order). If the batch's
transaction fails, each job is run again alone in its own transaction, so one bad job never
fails the others.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.db import close_old_connections, connection, transaction

log = logging.getLogger(__name__)
RECYCLE_SECONDS = 30.0
_lock_files: dict[str, int] = {}
_threads_lock = threading.Lock()


@contextlib.contextmanager
def sqlite_write_lock():
    """On SQLite, writers of several processes queue on a file lock before BEGIN IMMEDIATE.

    SQLite's own busy handler polls with growing sleeps (1, 2, 5, 10 … 100 ms): two web processes
    taking turns at the write lock then wait tens of milliseconds for a lock held for one. The
    kernel wakes a `flock` waiter as soon as the holder lets go. (bench/web.py, one-click
    unsubscribe on 2 cores: p99 367 ms without it; see docs/web.md for the figure with it.)
    """
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        yield
        return
    path = f"{connection.settings_dict['NAME']}.write-lock"
    with _threads_lock:  # flock is per open file: threads of one process queue here first
        fd = _lock_files.get(path)
        if fd is None:
            fd = _lock_files[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


class GroupCommit:
    def __init__(self, batch_fn: Callable[[Sequence[Any]], list[Any]], *, name: str, max_batch: int = 64) -> None:
        self.batch_fn = batch_fn
        self.max_batch = max_batch
        self.name = name
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, job: Any, timeout: float = 60.0) -> Any:
        """Run `job` in the next batch; returns its result once committed (or raises its error)."""
        self._ensure_thread()
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((job, future))
        return future.result(timeout=timeout)

    def stop(self) -> None:
        """End the writer thread (it closes its connection); the next `run` starts another."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=30)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        for batch in writer_batches(self._queue, self.max_batch):
            jobs = [job for job, _future in batch]
            try:
                with sqlite_write_lock(), transaction.atomic():
                    results = self.batch_fn(jobs)
            except Exception:
                log.warning("%s: a batch of %d failed; running its jobs one by one", self.name, len(batch))
                self._reset()
                results = [self._alone(job) for job in jobs]
            for (_job, future), result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _alone(self, job: Any) -> Any:
        try:
            with sqlite_write_lock(), transaction.atomic():
                return self.batch_fn([job])[0]
        except Exception as exc:
            log.exception("%s: a job failed", self.name)
            self._reset()
            return exc

    @staticmethod
    def _reset() -> None:
        if connection.connection is not None and not connection.is_usable():
            connection.close()


def writer_batches(waiting: queue.Queue, max_batch: int) -> Iterator[list]:
    """A writer thread's batches until the stop mark; its connection is recycled every RECYCLE_SECONDS
    (not per batch: close_old_connections closes a SQLite connection on every call) and closed at the end."""
    recycled = time.monotonic()
    while (batch := take_batch(waiting, max_batch)) is not None:
        if time.monotonic() - recycled > RECYCLE_SECONDS:
            close_old_connections()
            recycled = time.monotonic()
        yield batch
    connection.close()


def take_batch(waiting: queue.Queue, max_batch: int) -> list | None:
    """The next batch for a writer thread: wait for one item, then take what else is waiting, up to
    max_batch. None (the stop mark) ends the thread, and is put back if it came after items."""
    first = waiting.get()
    if first is None:
        return None
    batch = [first]
    while len(batch) < max_batch:
        try:
            item = waiting.get_nowait()
        except queue.Empty:
            break
        if item is None:
            waiting.put(None)
            break
        batch.append(item)
    return batch
