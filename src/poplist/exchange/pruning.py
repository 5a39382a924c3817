"""Keep the change log short: delete what every standby has acknowledged, less a window kept for safety.

A standby acknowledges the changes up to N by asking for those after N (and, at the start of its
first copy, up to the head less SNAPSHOT_REWIND). The log keeps `standby_keep_changes` changes
behind the slowest standby seen in the last `standby_forget_days` days; with no such standby it
keeps that many behind the head (a new standby copies the tables first, then reads from there).
A standby whose cursor falls behind what was pruned is told to copy afresh (410 on the feed).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Max, Min
from django.utils import timezone

from poplist import config
from poplist.exchange.models import Change, Follower, Instance, this_instance

DELETE_BATCH = 10_000  # one short write transaction per batch (SQLite: writers queue behind it)


def prune(keep: int | None = None) -> int:
    """Delete the acknowledged changes; returns how many. Run by the worker every minute on a primary."""
    instance = this_instance()
    if not instance.feed_enabled or instance.role != Instance.Role.PRIMARY:
        return 0
    keep = int(config.get("standby_keep_changes")) if keep is None else keep
    forget = timezone.now() - timedelta(days=float(config.get("standby_forget_days")))
    head = Change.objects.aggregate(head=Max("seq"))["head"] or 0
    slowest = Follower.objects.filter(seen_at__gte=forget).aggregate(slowest=Min("acked_seq"))["slowest"]
    through = min(head, head if slowest is None else slowest) - keep
    if through <= instance.pruned_through:
        return 0
    # pruned_through moves first: a follower asking for changes after it from now on is told to copy afresh.
    Instance.objects.filter(pk=instance.pk).update(pruned_through=through)
    deleted = 0
    low = Change.objects.aggregate(low=Min("seq"))["low"] or through + 1
    while low <= through:
        top = min(through, low + DELETE_BATCH - 1)
        deleted += Change.objects.filter(seq__gte=low, seq__lte=top)._raw_delete(Change.objects.db)
        low = top + 1
    Follower.objects.filter(seen_at__lt=forget).delete()
    return deleted


def log_size() -> dict[str, int]:
    """Rows in the change log now, and its head (for `poplist standby status` and the bench)."""
    found = Change.objects.aggregate(low=Min("seq"), head=Max("seq"))
    return {
        "rows": Change.objects.count(),
        "head": found["head"] or 0,
        "pruned_through": this_instance().pruned_through,
    }
