"""What every message of one writer batch (one transaction) shares: cached reads and rows inserted in bulk.

Valid only inside that transaction, in the writer's thread (other threads never see it). A burst
of posts to one list reads the list and its filters once, and its delivery jobs, digest items and
archive entries go in with one INSERT per table at the end of the batch, not one per post:
hand-batched for speed (0.5 ms of ORM work per post -> 0.15 ms, bench/inbound.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from django.db import models, transaction

from poplist.core import rows

_local = threading.local()


class BatchCache:
    def __init__(self, optimistic: bool = False) -> None:
        self.optimistic = optimistic  # no savepoint per message: any error replays the batch with them
        self.lists: dict[int, object] = {}
        self.filters: dict[int, tuple[list, list]] = {}
        self.rows: list[models.Model] = []  # inserted by `flush`, in order of first appearance of their model
        self.first: dict[object, tuple[Callable[[list], object], list]] = {}  # run by `flush` before the inserts
        self.later: dict[object, tuple[Callable[[list], object], list]] = {}  # run by `flush` after them


def begin(*, optimistic: bool = False) -> None:
    _local.batch = BatchCache(optimistic)


def end() -> None:
    _local.batch = None


def current() -> BatchCache | None:
    return getattr(_local, "batch", None)


def optimistic() -> bool:
    batch = current()
    return batch is not None and batch.optimistic


def savepoint() -> contextlib.AbstractContextManager:
    """A savepoint, except in an optimistic batch: there an error rolls the whole batch back instead."""
    return contextlib.nullcontext() if optimistic() else transaction.atomic()


def mark() -> int:
    """Where the current message's rows start: `forget(mark)` drops them when its savepoint rolls back."""
    batch = current()
    return len(batch.rows) if batch is not None else 0


def forget(since: int) -> None:
    batch = current()
    if batch is not None:
        del batch.rows[since:]


def insert_later(*rows: models.Model) -> bool:
    """Queue rows for the batch's bulk insert; False (nothing queued) outside a batch: save them now."""
    batch = current()
    if batch is None:
        return False
    batch.rows.extend(rows)
    return True


def run_later(key: object, item: object, run_all: Callable[[list], object], *, before_insert: bool = False) -> bool:
    """Queue `item` for one `run_all(items)` per key at the end of an optimistic batch, after the bulk
    inserts (or before them with `before_insert`); False outside one (a careful batch runs each
    message in its own savepoint, so the caller runs it now).

    Bounces use it: `receive_bounces` on a group costs a fixed number of queries, where one call
    per bounce cost three round trips each on PostgreSQL (789 bounces per CPU-second against
    2,006 in batches, bench/bounces.py). So does the archive: a group's posts to one list are
    threaded and inserted together, before their delivery jobs, which point at them."""
    batch = current()
    if batch is None or not batch.optimistic:
        return False
    queued = batch.first if before_insert else batch.later
    queued.setdefault(key, (run_all, []))[1].append(item)
    return True


def flush() -> None:
    """Run what was queued to run before the inserts, insert the queued rows, one bulk INSERT per model,
    in order (a job before the rows that point at it), then run what was queued with `run_later`."""
    batch = current()
    if batch is None:
        return
    first, batch.first = batch.first, {}
    for run_all, items in first.values():
        run_all(items)
    by_model: dict[type, list[models.Model]] = {}
    for row in batch.rows:
        by_model.setdefault(type(row), []).append(row)
    for model, objects in by_model.items():
        rows.insert(model, objects)  # bulk_create's statement, without its ORM compilation
    batch.rows = []
    later, batch.later = batch.later, {}
    for run_all, items in later.values():
        run_all(items)
