"""Group commit: one thread stores what the protocol handlers hand it, many messages per transaction.

A batch first runs optimistically, without a savepoint per message; if any message raises,
it is rolled back and replayed with each message in its own savepoint (one failure never
loses the others). The handlers hear the result only after the COMMIT: "committed before
250" holds for every message, and a burst of N messages costs one fsync instead of N.
Measured on SQLite with synchronous=FULL and on PostgreSQL: see docs/inbound.md.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable

from django.db import connection, transaction

from poplist.core.groupcommit import writer_batches
from poplist.inbound import batch as shared

log = logging.getLogger(__name__)
MAX_BATCH = 64


class Writer:
    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="poplist-inbound-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], str], fallback: Callable[[BaseException], str]) -> concurrent.futures.Future:
        """Run `job` in the next transaction; on error run `fallback(error)` in its place; the future gets the reply."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((job, fallback, future))
        return future

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        for batch in writer_batches(self._queue, self.max_batch):
            results = self._optimistic(batch)
            if results is None:
                results = self._careful(batch)
            for (_job, _fallback, future), result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    @staticmethod
    def _optimistic(batch: list) -> list | None:
        """The whole batch without a savepoint per message (two statements less per post, each a round
        trip on PostgreSQL); None when a message raised: the batch is rolled back, to be run carefully."""
        failed = False
        try:
            with transaction.atomic():
                shared.begin(optimistic=True)
                results: list = []
                try:
                    for job, _fallback, _future in batch:
                        results.append(job())
                    shared.flush()  # the batch's jobs, digest items and archive backlog: one INSERT each
                except Exception:
                    failed = True
                    raise
        except Exception as exc:
            if failed:
                log.info("inbound batch of %d replayed with a savepoint per message", len(batch))
                return None
            log.exception("inbound batch of %d failed to commit", len(batch))  # nothing of it is stored
            connection.close()
            return [exc] * len(batch)
        finally:
            shared.end()
        return results

    def _careful(self, batch: list) -> list:
        """Each message in its own savepoint: one failure never loses the others."""
        try:
            with transaction.atomic():
                shared.begin()
                results = [self._one(job, fallback) for job, fallback, _future in batch]
                shared.flush()
        except Exception as exc:  # the COMMIT itself failed: nothing of the batch is stored
            log.exception("inbound batch of %d failed to commit", len(batch))
            connection.close()
            return [exc] * len(batch)
        finally:
            shared.end()
        return results

    @staticmethod
    def _one(job, fallback):
        mark = shared.mark()
        try:
            with transaction.atomic():
                return job()
        except Exception as exc:
            shared.forget(mark)  # its rows waiting for the bulk insert go with its savepoint
            log.exception("inbound message failed; storing it for a person to look at")
            try:
                with transaction.atomic():
                    return fallback(exc)
            except Exception as second:
                log.exception("could not store the failed message either")
                return second
