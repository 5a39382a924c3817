"""A tenant's own change feed: the rows `poplist export --tenant SLUG` would export, live, and nothing else.

What belongs to a tenant is what its export holds: the models of the export sections (each says
which it carries, `feed_specs`), secrets left out as the export leaves them out without
--include-secrets (password hashes, DKIM keys). A row is the tenant's through its foreign keys
(`tenant`, or `mailing_list` → list → tenant, `site` → site → tenant); the change log's triggers
write that tenant id beside each change, so that a deleted row is still known to be the tenant's,
and the feed is one range of the (tenant_id, seq) index. Site files (blobs) are shared by
content: a tenant gets those its own deploys use, fetched by sha256.

A tenant's feed skips the other tenants' changes, so its sequence numbers have gaps that are not
in-flight transactions: the primary says how far the whole log is settled (`through`: no lower
number can still commit, judged by transactions as feed.horizon says), and the follower moves its
cursor there. The sequence numbers and the
head are the instance's: they tell how busy it is, never a row of another tenant.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.accounts.models import Tenant
from poplist.core.errors import Conflict, InvalidInput
from poplist.exchange.changelog import model_for_table, replicated_models
from poplist.exchange.format import dumps
from poplist.exchange.models import Change, this_instance
from poplist.exchange.records import ModelSpec
from poplist.exchange.services import check_downloadable, read_snapshot

SCAN = 20_000  # seqs of the whole log read per page to find how far it is settled
BLOBS_PER_PAGE = 50


@cache
def feed_specs() -> dict[type[models.Model], ModelSpec]:
    """Each model a tenant feed carries, with the spec that says which of its fields are secret."""
    from poplist.exchange.registry import sections
    from poplist.exchange.services import TENANT

    found: dict[type[models.Model], ModelSpec] = {Tenant: TENANT}
    for section in sections():
        # A section says what it carries; one that does not (another domain's custom section) carries nothing.
        for spec in getattr(section, "feed_specs", ()):
            found.setdefault(spec.model, spec)
    return found


def blob_model() -> type[models.Model]:
    """Site files: shared by content (no tenant of their own), so sent to each tenant whose deploys use them."""
    from poplist.sites.models import Blob

    return Blob


@cache
def tenant_path(model: type[models.Model]) -> tuple[models.ForeignKey, ...] | None:
    """The foreign keys from `model` to Tenant (empty for Tenant itself); None when it belongs to no tenant."""
    if model is Tenant:
        return ()
    carried = feed_specs()
    paths: list[tuple[models.ForeignKey, ...]] = []
    for field in model._meta.concrete_fields:
        if not field.is_relation or field.related_model is model:
            continue
        if field.related_model is Tenant:
            return (field,)  # a direct tenant column: the shortest and cheapest
        if field.related_model in carried and not field.null:
            rest = tenant_path(field.related_model)
            if rest:
                paths.append((field, *rest))
    return min(paths, key=len) if paths else None


def tenant_lookup(model: type[models.Model]) -> str:
    path = tenant_path(model)
    if path is None:
        raise ValueError(model)
    if not path:
        return "pk"
    return "__".join(f.name for f in path[:-1]) + ("__" if len(path) > 1 else "") + path[-1].attname


def tenant_sql(model: type[models.Model], row: str) -> str:
    """SQL giving the tenant id of `row` (NEW, OLD, or a transition table's alias) in a trigger; NULL if none."""
    if model not in feed_specs() or model is blob_model():
        return "NULL"  # not carried by a tenant feed: no lookup, so the hot tables (delivery) pay nothing more
    path = tenant_path(model)
    if path is None:
        return "NULL"
    if not path:
        return f'{row}."{model._meta.pk.column}"'
    expression = f'{row}."{path[0].column}"'
    for depth, field in enumerate(path[1:], start=1):
        parent = field.model._meta
        alias = f"t{depth}"
        expression = (
            f'(SELECT {alias}."{field.column}" FROM "{parent.db_table}" {alias} '
            f'WHERE {alias}."{parent.pk.column}" = {expression})'
        )
    return expression


def scoped(model: type[models.Model], tenant: Tenant) -> models.QuerySet:
    """The rows of `model` that are the tenant's now."""
    if model is blob_model():
        from poplist.exchange.sections.sites import _tenant_blobs

        return model._base_manager.filter(pk__in=_tenant_blobs(tenant))
    return model._base_manager.filter(**{tenant_lookup(model): tenant.pk})


def tables() -> list[str]:
    """The tables of a tenant feed, parents first."""
    carried = feed_specs()
    return [m._meta.db_table for m in replicated_models() if m in carried]


def _model(table: str) -> type[models.Model] | None:
    model = model_for_table(table)
    return model if model in feed_specs() else None


def redact(model: type[models.Model], row: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the export leaves out without --include-secrets; never make anyone a host admin."""
    spec = feed_specs()[model]
    for name in spec.secret:
        field = model._meta.get_field(name)
        row[field.attname] = spec.defaults.get(name, None if field.null else "")
    for name, value in spec.fixed.items():
        row[model._meta.get_field(name).attname] = value
    return row


def _states(model: type[models.Model], tenant: Tenant, pks: list[str]) -> dict[str, dict[str, Any]]:
    """The rows that are still the tenant's now; a row that moved to another tenant reads as deleted."""
    from poplist.exchange.feed import encode

    fields = [f.attname for f in model._meta.concrete_fields]
    found: dict[str, dict[str, Any]] = {}
    query = scoped(model, tenant)
    for start in range(0, len(pks), 500):
        for row in query.filter(pk__in=pks[start : start + 500]).values(*fields):
            found[str(row[model._meta.pk.attname])] = redact(model, {k: encode(v) for k, v in row.items()})
    return found


def check_followable(tenant: Tenant) -> None:
    """As its export: active and suspended tenants may follow; a closed one until its retention period ends.

    Without the change log a copy would be made and never updated: say so instead.
    """
    check_downloadable(tenant)
    if not this_instance().feed_enabled:
        raise Conflict(_("This server keeps no change log, so no live copy can follow it: ask the host to enable it."))


def settled(after: int, head: int, transactions: dict[str, int], gap_xid: int | None = None) -> tuple[int, int, bool]:
    """How far the whole log is settled (every lower number committed or given up), how far it was read,
    and whether a gap stopped it.

    SQLite has one writer at a time: a number is taken and committed in order, so all up to the head is.
    On PostgreSQL a number is taken before its transaction commits: a gap may still fill until every
    transaction that could hold it has ended (feed.horizon), which the follower tells by `gap_xid`,
    the `next_xid` of the page that first showed the gap right after `after`, as the instance-wide
    follower judges it (standby._advance).
    """
    if connection.vendor == "sqlite":
        return head, head, False
    cursor, through, stopped = after, after, False
    for seq, _at in Change.objects.filter(seq__gt=after).order_by("seq").values_list("seq", "at")[:SCAN]:
        if not stopped and seq != cursor + 1:
            closed = cursor == after and gap_xid is not None and transactions["xmin"] >= gap_xid
            stopped = not closed
        cursor = seq
        if not stopped:
            through = seq
    return through, cursor, stopped


def changes_page(tenant: Tenant, after: int, limit: int, *, gap_xid: int | None = None) -> dict[str, Any]:
    """The tenant's changes after `after` as far as the log was read, with the rows as they are now.

    Those after a gap that may still fill are sent now and again later (the follower's upserts are
    idempotent); `through` says where the follower's cursor may move.
    """
    from poplist.exchange.feed import MAX_LIMIT, check_not_pruned, encode, horizon, node

    check_followable(tenant)
    limit = max(1, min(limit, MAX_LIMIT))
    check_not_pruned(after, _("this tenant"))
    with read_snapshot():
        head = Change.objects.aggregate(head=Max("seq"))["head"] or 0
        transactions = horizon()
        through, end, at_gap = settled(after, head, transactions, gap_xid)
        rows = list(
            Change.objects.filter(tenant_id=tenant.pk, seq__gt=after, seq__lte=end)
            .order_by("seq")
            .values_list("seq", "tbl", "row", "at")[:limit]
        )
        if len(rows) == limit and rows[-1][0] < through:
            through, at_gap = rows[-1][0], False
        last: dict[tuple[str, str], int] = {(table, pk): seq for seq, table, pk, _at in rows}
        by_table: dict[str, list[str]] = {}
        for table, pk in last:
            by_table.setdefault(table, []).append(pk)
        states: dict[str, dict[str, dict[str, Any]]] = {}
        for table, pks in by_table.items():
            model = _model(table)
            states[table] = _states(model, tenant, pks) if model else {}
        blobs = _deploy_blobs(states)
    changes = [
        {"seq": seq, "table": table, "pk": pk, "at": encode(at), "row": states[table].get(pk)}
        for seq, table, pk, at in rows
        if last[(table, pk)] == seq and _model(table)
    ]
    return {
        "after": after,
        "tenant": tenant.slug,
        "through": through,  # the follower's cursor moves here: every change of the tenant up to it is applied
        "gap": at_gap,  # a number after `through` may still commit: the follower sends this page's next_xid back
        "seqs": [r[0] for r in rows],
        "seq_times": [encode(r[3]) for r in rows],
        "changes": changes,
        "blobs": blobs,  # files the deploys of this page use: the follower fetches those it lacks
        "head": head,
        "now": timezone.now().isoformat(),
        "sha256": hashlib.sha256(b"".join(dumps(c) for c in changes)).hexdigest(),
        **transactions,
        **node(),
    }


def _deploy_blobs(states: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    from poplist.sites.models import Deploy

    found: set[str] = set()
    for row in states.get(Deploy._meta.db_table, {}).values():
        found.update(entry["sha256"] for entry in (row.get("manifest") or {}).values() if "sha256" in entry)
    return sorted(found)


def snapshot_page(tenant: Tenant, table: str, after: str | None, limit: int) -> dict[str, Any]:
    """One page of the tenant's rows of one table, in primary-key order after `after`."""
    from poplist.exchange.feed import MAX_LIMIT, encode

    check_followable(tenant)
    model = _model(table)
    if model is None:
        raise InvalidInput(_("A tenant's feed does not carry the table %(table)s."), table=table[:100])
    limit = max(1, min(limit, MAX_LIMIT))
    if model is blob_model():
        limit = min(limit, BLOBS_PER_PAGE)  # files: a few MB per page, not thousands
    query = scoped(model, tenant).order_by("pk")
    if after is not None:
        try:
            query = query.filter(pk__gt=model._meta.pk.to_python(after))
        except ValidationError:
            raise InvalidInput(_("after must be a primary key of %(table)s."), table=table) from None
    fields = [f.attname for f in model._meta.concrete_fields]
    rows = [redact(model, {k: encode(v) for k, v in row.items()}) for row in query.values(*fields)[:limit]]
    return {"rows": rows, "sha256": hashlib.sha256(b"".join(dumps(r) for r in rows)).hexdigest()}


def blobs_page(tenant: Tenant, shas: list[str]) -> dict[str, Any]:
    """The files named, among those the tenant's deploys use (another tenant's file is simply not there)."""
    from poplist.exchange.feed import encode
    from poplist.exchange.sections.sites import _tenant_blobs

    check_followable(tenant)
    if len(shas) > BLOBS_PER_PAGE:
        raise InvalidInput(_("Ask for at most %(n)s files at once."), n=BLOBS_PER_PAGE)
    wanted = set(shas) & set(_tenant_blobs(tenant))
    model = blob_model()
    fields = [f.attname for f in model._meta.concrete_fields]
    rows = [
        {k: encode(v) for k, v in row.items()}
        for row in model._base_manager.filter(pk__in=sorted(wanted)).order_by("pk").values(*fields)
    ]
    return {"rows": rows, "sha256": hashlib.sha256(b"".join(dumps(r) for r in rows)).hexdigest()}


def listing(tenant: Tenant) -> dict[str, Any]:
    """The start of a tenant's first copy: its tables, parents first, and where to read the feed from."""
    from poplist.exchange.feed import head, horizon, node
    from poplist.exchange.standby import SNAPSHOT_REWIND

    check_followable(tenant)
    with read_snapshot():
        top = head()
        transactions = horizon()
    start = max(0, top - SNAPSHOT_REWIND, this_instance().pruned_through)
    return {"tables": tables(), "head": top, "start": start, "tenant": tenant.slug, **transactions, **node()}
