"""The primary's side of the standby: the change feed and the initial snapshot, as JSON pages.

Each change names a row; the page carries that row's state as it is now (or null: deleted),
read in the same snapshot as the change list, so a page is consistent. Several changes to one
row in a page are sent once, at the place of the last. The page's sha256 lets the standby
refuse a damaged one.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, models
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.exchange.changelog import model_for_table, replicated_models
from poplist.exchange.format import dumps
from poplist.exchange.models import Change, Follower, this_instance
from poplist.exchange.services import Gone, read_snapshot

MAX_LIMIT = 20_000


def encode(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_states(model: type[models.Model], pks: list[Any]) -> dict[str, dict[str, Any]]:
    fields = [f.attname for f in model._meta.concrete_fields]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(pks), 500):
        for row in model._base_manager.filter(pk__in=pks[start : start + 500]).values(*fields):
            found[str(row[model._meta.pk.attname])] = {k: encode(v) for k, v in row.items()}
    return found


ACK_EVERY = timedelta(seconds=10)  # a follower's acknowledgement is written when it moved, or this often


class Pruned(Gone):
    code = "pruned"


def node() -> dict[str, Any]:
    """Who serves this feed: a follower checks it is still the primary it follows, and not an older one."""
    instance = this_instance()
    return {"instance": instance.uuid, "epoch": instance.epoch, "role": instance.role}


def acknowledge(standby: str | None, seq: int) -> None:
    """A standby that asks for the changes after `seq` holds every one up to it: the log may be pruned to there."""
    if not standby:
        return
    now = timezone.now()
    found = Follower.objects.filter(instance=standby[:36]).first()
    if found is None:
        Follower.objects.create(instance=standby[:36], acked_seq=seq, seen_at=now)
    elif found.acked_seq != seq or now - found.seen_at > ACK_EVERY:
        Follower.objects.filter(pk=found.pk).update(acked_seq=seq, seen_at=now)


def horizon() -> dict[str, int]:
    """On PostgreSQL, where this snapshot stands among transactions: `xmin`, below which every transaction
    id has ended, and `next_xid`, above every id given out before the snapshot. Call it inside
    `read_snapshot`, after the reads it describes.

    A change's number is taken before its transaction commits, so a page may show a number with a
    missing one below it. The transaction holding the missing one wrote (and so had its id) before
    the visible one was taken, hence before this snapshot: its id is below this page's `next_xid`.
    Once a later page's `xmin` reaches that `next_xid`, every such transaction has ended: the
    missing number shows in that page or it never will (rolled back). A follower waits for that,
    not for a time: a transaction of any length (a million-row import) is never skipped.

    `next_xid` is this reading transaction's own id, taken now (ids are given out in order); the
    snapshot's `xmax` would not do: a transaction running since before it may have a higher id.
    SQLite: one writer at a time, no gaps.
    """
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")  # the id costs a commit record; no need to wait for it
        cursor.execute(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, pg_current_xact_id()::text::bigint"
        )
        xmin, next_xid = cursor.fetchone()
    return {"xmin": xmin, "next_xid": next_xid}


def check_not_pruned(after: int, what: str) -> None:
    """A follower asking for changes the log no longer holds must copy afresh (`what`: this instance, this tenant)."""
    pruned = this_instance().pruned_through
    if after < pruned:
        raise Pruned(
            _("The changes after %(after)s were pruned from the log (up to %(pruned)s): copy %(what)s afresh."),
            after=after,
            pruned=pruned,
            what=what,
        )


def changes_page(after: int, limit: int, standby: str | None = None) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_LIMIT))
    check_not_pruned(after, _("this instance"))
    acknowledge(standby, after)
    with read_snapshot():
        rows = list(Change.objects.filter(seq__gt=after).order_by("seq").values_list("seq", "tbl", "row", "at")[:limit])
        head = Change.objects.aggregate(head=Max("seq"))["head"] or 0
        transactions = horizon()
        last: dict[tuple[str, str], int] = {}
        for seq, table, pk, _at in rows:
            last[(table, pk)] = seq
        by_table: dict[str, list[str]] = defaultdict(list)
        for table, pk in last:
            by_table[table].append(pk)
        states: dict[str, dict[str, dict[str, Any]]] = {}
        for table, pks in by_table.items():
            model = model_for_table(table)
            states[table] = row_states(model, pks) if model else {}
    changes = [
        {"seq": seq, "table": table, "pk": pk, "at": encode(at), "row": states[table].get(pk)}
        for seq, table, pk, at in rows
        if last[(table, pk)] == seq
    ]
    return {
        "after": after,
        "seqs": [r[0] for r in rows],  # every seq this page covers (to spot gaps), coalesced or not
        "seq_times": [encode(r[3]) for r in rows],  # when each was logged (a gap before it ages by this)
        "changes": changes,
        "head": head,
        "now": timezone.now().isoformat(),
        "sha256": hashlib.sha256(b"".join(dumps(c) for c in changes)).hexdigest(),
        **transactions,
        **node(),
    }


def snapshot_page(table: str, after: str | None, limit: int) -> dict[str, Any]:
    """Rows of one table in primary-key order after `after`, and the feed's head when the snapshot began."""
    model = model_for_table(table)
    if model is None:
        return {"rows": [], "sha256": hashlib.sha256(b"").hexdigest()}
    limit = max(1, min(limit, MAX_LIMIT))
    query = model._base_manager.order_by("pk")
    if after is not None:
        query = query.filter(pk__gt=model._meta.pk.to_python(after))
    fields = [f.attname for f in model._meta.concrete_fields]
    rows = [{k: encode(v) for k, v in row.items()} for row in query.values(*fields)[:limit]]
    return {"rows": rows, "sha256": hashlib.sha256(b"".join(dumps(r) for r in rows)).hexdigest()}


def tables() -> list[str]:
    return [m._meta.db_table for m in replicated_models()]


def listing(standby: str | None = None) -> dict[str, Any]:
    """The start of a first copy: the tables, parents first, and the head; the log is kept from a little before it."""
    from poplist.exchange.standby import SNAPSHOT_REWIND

    with read_snapshot():
        top = head()
        transactions = horizon()
    start = max(0, top - SNAPSHOT_REWIND, this_instance().pruned_through)
    acknowledge(standby, start)
    return {"tables": tables(), "head": top, "start": start, **transactions, **node()}


def head() -> int:
    return Change.objects.aggregate(head=Max("seq"))["head"] or 0
