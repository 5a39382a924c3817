"""After a promotion: fence the old primary (no more writes there) and demote it to follow the new one.

Each node has an epoch. A promotion takes one more than the highest it has seen, so of two nodes
that both believe they are primary, the one with the lower epoch is the old one. A newer primary
fences an older one over HTTP (`POST /api/v1/export/feed/fence`): its role becomes `standby`, and
from then on it refuses every write (exchange/readonly.py). `demote` then makes it a real standby
of the new primary: what it accepted after the new primary's last page is saved to a file first
(nothing it acknowledged is thrown away unseen), then its replicated tables are emptied and a new
follow starts, which copies the new primary afresh.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist import config
from poplist.core.errors import Conflict
from poplist.exchange import changelog, readonly
from poplist.exchange.feed import changes_page
from poplist.exchange.format import dumps
from poplist.exchange.models import Change, Follow, Follower, Instance, this_instance

DIVERGED_PAGE = 2000


def node_status() -> dict[str, Any]:
    """This node as a peer sees it: id, role, epoch, and the node and change it was last promoted from."""
    instance = this_instance()
    promoted = Follow.objects.filter(promoted_at__isnull=False).order_by("-promoted_at").first()
    source = None if promoted is None else {"instance": promoted.primary_instance, "seq": promoted.applied_seq}
    return {
        "instance": instance.uuid,
        "role": instance.role,
        "epoch": instance.epoch,
        "promoted_from": source,
    }


def fence(epoch: int, by: str) -> dict[str, Any]:
    """A primary of a newer epoch says it took over: stop taking writes here (role `standby`)."""
    instance = this_instance()
    if by == instance.uuid:
        raise Conflict(_("A node cannot fence itself."))
    if epoch <= instance.epoch:
        raise Conflict(
            _("This node's epoch (%(mine)s) is not older than %(epoch)s: it is not fenced."),
            mine=instance.epoch,
            epoch=epoch,
        )
    with readonly.applying():
        Instance.objects.filter(pk=instance.pk).update(role=Instance.Role.STANDBY)
    readonly.forget()
    return {"fenced": True, "instance": instance.uuid, "epoch": instance.epoch}


def demote(url: str, token: str, *, force: bool = False) -> dict[str, Any]:
    """Make this old primary a standby of the newer primary at `url` (then run `poplist standby follow`)."""
    from poplist.exchange.standby import FeedClient

    client = FeedClient(url, token)
    other = client.get("/feed/status")
    instance = this_instance()
    if other["instance"] == instance.uuid:
        raise Conflict(_("%(url)s is this node itself."), url=url)
    if other["role"] != Instance.Role.PRIMARY or int(other["epoch"]) <= instance.epoch:
        raise Conflict(
            _("%(url)s is not a newer primary (role %(role)s, epoch %(epoch)s; this node's epoch is %(mine)s)."),
            url=url,
            role=other["role"],
            epoch=other["epoch"],
            mine=instance.epoch,
        )
    source = other.get("promoted_from") or {}
    after = int(source["seq"]) if source.get("instance") == instance.uuid else None
    if after is None and not force:
        raise Conflict(
            _(
                "%(url)s was not promoted from this node, so what only this node holds is unknown; "
                "export it first (poplist export), then demote with --force."
            ),
            url=url,
        )
    saved = _save_diverged(after or 0)
    with readonly.applying(), transaction.atomic():
        changelog.uninstall()
        wipe()
        Change.objects.all().delete()
        Follower.objects.all().delete()
        Instance.objects.filter(pk=instance.pk).update(
            role=Instance.Role.STANDBY, epoch=int(other["epoch"]), pruned_through=0, feed_enabled=False
        )
        Follow.objects.filter(promoted_at__isnull=True).delete()
        Follow.objects.create(primary_url=url, primary_instance=other["instance"], primary_epoch=int(other["epoch"]))
    readonly.forget()
    return {"demoted": True, "primary": url, "epoch": int(other["epoch"]), **saved}


def _save_diverged(after: int) -> dict[str, Any]:
    """Write every change after `after` (the new primary's last page from here), with the row as it is here."""
    folder = config.data_dir() / "standby"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"diverged-{timezone.now().strftime('%Y%m%dT%H%M%S')}.jsonl"
    count = 0
    with open(path, "wb") as handle:
        while True:
            page = changes_page(after, DIVERGED_PAGE)
            for change in page["changes"]:
                handle.write(dumps(change))
                count += 1
            if not page["seqs"]:
                break
            after = page["seqs"][-1]
    return {"diverged_changes": count, "diverged_file": str(path)}


def _tables() -> list[type[models.Model]]:
    """Every replicated table, children first, after the local tables that refer to them (admin log, m2m)."""
    found = changelog.replicated_models()
    replicated = set(found)
    dependants = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m not in replicated
        and m._meta.managed
        and not m._meta.proxy
        and any(f.is_relation and f.related_model in replicated for f in m._meta.concrete_fields)
    ]
    return dependants + list(reversed(found))


def wipe() -> None:
    """Empty every replicated table (the next follow copies them from the new primary)."""
    tables = [m._meta.db_table for m in _tables()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            quoted = ", ".join(connection.ops.quote_name(t) for t in tables)
            cursor.execute(f"TRUNCATE {quoted} CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
