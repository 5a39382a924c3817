"""The standby's side: copy the primary once, then apply its change feed in order, and promote.

The cursor (`Follow.applied_seq`) moves in the same transaction as the rows it covers, so a
standby killed at any moment resumes exactly. On PostgreSQL a change's sequence number is taken
before its transaction commits, so a lower number may appear after a higher one: the cursor only
moves over a gap once every transaction that could hold the missing number has ended, as the
primary's snapshots tell (feed.horizon), however long it ran (a rolled-back transaction leaves a
gap for good); the rows after a gap are applied already and applied again later (upserts are
idempotent). A primary that gives no transaction horizon (SQLite, one writer) has no such gaps;
for it a gap is passed once older than GAP_WAIT.

A tenant's live copy (`--tenant SLUG`, or a tenant token) is the same follower on the tenant's
feed (exchange.tenantfeed): every request names the tenant, the primary says how far the cursor
may move (`through`), and the site files its deploys use are fetched by sha256.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.core.management.color import no_style
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import Conflict, InvalidInput
from poplist.exchange import changelog, readonly
from poplist.exchange.format import dumps
from poplist.exchange.models import Follow, Instance, this_instance

GAP_WAIT = timedelta(seconds=5)
SNAPSHOT_REWIND = 1000  # changes before the snapshot's head replayed, for transactions then in flight
PAGE = 5000
RETRIES = 20  # answers 429 or 5xx in a row before the primary counts as unreachable


class PrimaryUnreachable(InvalidInput):
    code = "unreachable"


class FeedClient:
    def __init__(self, url: str, token: str, *, timeout: float = 30, tenant: str = "") -> None:
        self.tenant = tenant  # named in every read: the primary answers with that tenant's rows only
        # (cursor, xmax of the page that first showed a gap right after it): see feed.horizon and _advance.
        self.gap: tuple[int, int] | None = None
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1/export",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            follow_redirects=False,  # never send the token elsewhere
        )

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        params = {"tenant": self.tenant or None, **params}
        for _attempt in range(RETRIES):
            try:
                response = self.http.get(path, params={k: v for k, v in params.items() if v is not None})
            except httpx.HTTPError as exc:
                raise PrimaryUnreachable(_("The primary did not answer: %(error)s"), error=str(exc)[:200]) from None
            if response.status_code != 429 and response.status_code < 500:
                break
            # Rate limited (a standby catching up asks page after page, as does its first copy) or a passing
            # failure of the primary: wait as told, and ask again.
            wait = response.headers.get("Retry-After", "")
            time.sleep(min(5.0, float(wait)) if wait.isdigit() else 0.5)
        else:
            raise PrimaryUnreachable(
                _("The primary answered %(status)s: %(body)s"), status=response.status_code, body=response.text[:200]
            )
        if response.status_code != 200:
            raise InvalidInput(
                _("The primary answered %(status)s: %(body)s"), status=response.status_code, body=response.text[:200]
            )
        return response.json()

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.http.post(path, json=payload)
        except httpx.HTTPError as exc:
            raise PrimaryUnreachable(_("The primary did not answer: %(error)s"), error=str(exc)[:200]) from None
        if response.status_code != 200:
            raise InvalidInput(
                _("The primary answered %(status)s: %(body)s"), status=response.status_code, body=response.text[:200]
            )
        return response.json()


def _checked(page: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = page.get(key) or []
    if hashlib.sha256(b"".join(dumps(i) for i in items)).hexdigest() != page.get("sha256"):
        raise InvalidInput(_("A page of the change feed does not match its checksum."))
    return items


def _decode(field: models.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.BinaryField):
        return base64.b64decode(value)
    if isinstance(field, models.DateTimeField):
        return parse_datetime(value)
    if isinstance(field, models.JSONField):
        return value
    return field.to_python(value)


def upsert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    fields = model._meta.concrete_fields
    objects = [model(**{f.attname: _decode(f, row.get(f.attname)) for f in fields}) for row in rows]
    others = [f.name for f in fields if not f.primary_key]
    if others:
        model._base_manager.bulk_create(
            objects, update_conflicts=True, update_fields=others, unique_fields=[model._meta.pk.name]
        )
    else:
        model._base_manager.bulk_create(objects, ignore_conflicts=True)


def delete(model: type[models.Model], pks: list[str]) -> None:
    pk = model._meta.pk
    # _raw_delete: the primary's own deletes of the children are in the feed; no cascade here.
    model._base_manager.filter(pk__in=[pk.to_python(p) for p in pks])._raw_delete(connection.alias)


def apply_changes(changes: list[dict[str, Any]]) -> None:
    """Apply in order, grouping runs of the same table and kind; foreign keys are checked at commit."""
    run: list[dict[str, Any]] = []
    for change in changes:
        if run and (run[-1]["table"] != change["table"] or (run[-1]["row"] is None) != (change["row"] is None)):
            _apply_run(run)
            run = []
        run.append(change)
    if run:
        _apply_run(run)


def _apply_run(run: list[dict[str, Any]]) -> None:
    model = changelog.model_for_table(run[0]["table"])
    if model is None:
        return
    if run[0]["row"] is None:
        delete(model, [c["pk"] for c in run])
    else:
        upsert(model, [c["row"] for c in run])


def _state(url: str, tenant: str) -> Follow:
    state = Follow.objects.filter(promoted_at__isnull=True).order_by("-id").first()
    if state is None:
        state = Follow.objects.create(primary_url=url, tenant=tenant)
    elif state.tenant and state.tenant != tenant:
        raise Conflict(
            _("This instance is a live copy of tenant %(tenant)s only: follow anything else from an empty instance."),
            tenant=state.tenant,
        )
    elif state.tenant != tenant:
        raise Conflict(_("This instance copies the whole primary: a tenant's copy needs an empty instance."))
    return state


def scope_of(client: FeedClient) -> str:
    """The tenant a token is limited to ("" for a host-wide token), as the primary says."""
    return client.get("/feed/scope").get("tenant") or ""


def _fetch_blobs(client: FeedClient, shas: list[str]) -> None:
    """The site files a tenant page's deploys use and this copy lacks (content-addressed: each once)."""
    from poplist.exchange.tenantfeed import BLOBS_PER_PAGE, blob_model

    if not shas:
        return
    blob = blob_model()
    have = set(blob._base_manager.filter(pk__in=shas).values_list("pk", flat=True))
    missing = [sha for sha in shas if sha not in have]
    for start in range(0, len(missing), BLOBS_PER_PAGE):
        page = client.get("/feed/blobs", sha=missing[start : start + BLOBS_PER_PAGE])
        upsert(blob, _checked(page, "rows"))


def snapshot(client: FeedClient, state: Follow, on_rows: Callable[[int], None] | None = None) -> None:
    """The first copy: every table, parents first, then the feed from a little before its head then."""
    listing = client.get("/feed/tables", standby=this_instance().uuid)
    _check_node(state, listing)
    for table in listing["tables"]:
        model = changelog.model_for_table(table)
        if model is None:
            continue
        after = None
        while True:
            page = client.get("/feed/snapshot", table=table, after=after, limit=2000)
            rows = _checked(page, "rows")
            if not rows:
                break
            with transaction.atomic():
                upsert(model, rows)
            if on_rows:
                on_rows(len(rows))
            after = rows[-1][model._meta.pk.attname]
    Follow.objects.filter(pk=state.pk).update(
        snapshot_done=True, applied_seq=int(listing.get("start", max(0, int(listing["head"]) - SNAPSHOT_REWIND)))
    )
    state.refresh_from_db()


def step(client: FeedClient, state: Follow, limit: int = PAGE) -> int:
    """Fetch and apply one page; returns how many changes it applied (0: caught up).

    A tenant's page may bring no change and still move the cursor (the other tenants wrote): it counts 1.
    """
    while True:
        fetched = time.monotonic()
        waiting = client.gap is not None and client.gap[0] == state.applied_seq
        page = client.get(
            "/feed",
            after=state.applied_seq,
            limit=limit,
            standby=this_instance().uuid,
            gap_xmax=client.gap[1] if waiting and client.tenant else None,
        )
        _check_node(state, page)
        changes = _checked(page, "changes")
        moved = False
        try:
            with transaction.atomic():
                _fetch_blobs(client, page.get("blobs") or [])
                apply_changes(changes)
                cursor, applied_at, gap = _advance(state.applied_seq, page, changes, client.gap)
                moved = cursor > state.applied_seq
                lag = state.lag_seconds
                if changes:
                    # The oldest change of the page waited this long on the primary, then we fetched and applied it.
                    oldest = min(parse_datetime(c["at"]) for c in changes if c["at"])
                    lag = (parse_datetime(page["now"]) - oldest).total_seconds() + (time.monotonic() - fetched)
                Follow.objects.filter(pk=state.pk).update(
                    applied_seq=cursor,
                    applied_at=applied_at or state.applied_at,
                    caught_up_at=timezone.now() if int(page["head"]) <= cursor else state.caught_up_at,
                    contact_at=timezone.now(),
                    lag_seconds=lag,
                )
            client.gap = gap  # once the cursor is stored: a failed page leaves the gap as it was
            break
        except IntegrityError:
            # A row refers to one written later in the feed: take a bigger page, up to the head.
            if limit >= int(page["head"]) - state.applied_seq:
                raise
            limit *= 4
    state.refresh_from_db()
    return len(changes) or int(moved and "through" in page)


def _check_node(state: Follow, page: dict[str, Any]) -> None:
    """Follow only the primary we started with, while it is primary, and never an older epoch of it."""
    if "instance" not in page:
        return  # a primary of an earlier version
    if page["role"] != Instance.Role.PRIMARY:
        raise Conflict(_("The node at %(url)s is not a primary any more (fenced or demoted)."), url=state.primary_url)
    if state.primary_instance and page["instance"] != state.primary_instance:
        raise Conflict(
            _("The node at %(url)s is another instance than the one this standby follows."), url=state.primary_url
        )
    if int(page["epoch"]) < state.primary_epoch:
        raise Conflict(_("The node at %(url)s is of an older epoch: it was replaced."), url=state.primary_url)
    if not state.primary_instance or int(page["epoch"]) != state.primary_epoch:
        Follow.objects.filter(pk=state.pk).update(primary_instance=page["instance"], primary_epoch=int(page["epoch"]))
        state.primary_instance, state.primary_epoch = page["instance"], int(page["epoch"])


def _advance(
    cursor: int, page: dict[str, Any], changes: list[dict[str, Any]], gap: tuple[int, int] | None = None
) -> tuple[int, datetime | None, tuple[int, int] | None]:
    """Where the cursor may move after this page, when the last change it covers was logged, and the gap
    it waits at: (cursor, the `xmax` of the page that first showed that gap), or the one it had."""
    if "through" in page:
        # A tenant's feed: the primary checked the gaps of the whole log (its own seqs have others' between them).
        at = max((parse_datetime(c["at"]) for c in changes if c["at"]), default=None)
        cursor = max(cursor, int(page["through"]))
        if page.get("gap") and "xmax" in page and not (gap and gap[0] == cursor):
            gap = (cursor, int(page["xmax"]))
        return cursor, at, gap
    times = {c["seq"]: c["at"] for c in changes}
    # Every seq's time, also of those coalesced away (a row changed twice in the page): without it, a gap
    # before a coalesced seq never aged and the cursor stayed behind it for good.
    times.update(zip(page.get("seqs", []), page.get("seq_times", []), strict=False))
    now = parse_datetime(page["now"])
    applied_at = None
    for seq in page["seqs"]:
        if seq != cursor + 1:
            if "xmin" in page:  # PostgreSQL: by its transactions (feed.horizon), never by the clock
                if not (gap and gap[0] == cursor and int(page["xmin"]) >= gap[1]):
                    if not (gap and gap[0] == cursor):
                        gap = (cursor, int(page["xmax"]))  # first seen in this page
                    break
            else:
                at = times.get(seq)
                if at is None or now - parse_datetime(at) < GAP_WAIT:
                    break  # a transaction with a lower number may still commit
        cursor = seq
        applied_at = parse_datetime(times[seq]) if times.get(seq) else applied_at
    return cursor, applied_at, gap


def follow(
    url: str,
    token: str,
    *,
    poll: float = 0.2,
    until: Callable[[], bool] | None = None,
    on_rows: Callable[[int], None] | None = None,
    tenant: str | None = None,
) -> Follow:
    """Become a standby of `url` and follow it until promoted (or `until()` says stop).

    `tenant`: follow only that tenant's feed (a tenant's own live copy); None: as the token allows
    (a tenant token follows its tenant, a host-wide token the whole instance).
    """
    with readonly.applying():  # the follower is the one writer a standby has
        return _follow(url, token, poll=poll, until=until, on_rows=on_rows, tenant=tenant)


def _follow(
    url: str,
    token: str,
    *,
    poll: float,
    until: Callable[[], bool] | None,
    on_rows: Callable[[int], None] | None,
    tenant: str | None,
) -> Follow:
    instance = this_instance()
    if instance.role == Instance.Role.PRIMARY and Follow.objects.filter(promoted_at__isnull=False).exists():
        raise Conflict(_("This instance was promoted; it follows no primary any more."))
    pending = Follow.objects.filter(promoted_at__isnull=True).order_by("-id").first()
    if tenant is None:  # resume as started, or as the token allows
        tenant = pending.tenant if pending else scope_of(FeedClient(url, token))
    client = FeedClient(url, token, tenant=tenant)
    if pending is None:
        # A token that may not read this feed (another tenant's slug) is refused before this instance changes.
        client.get("/feed/tables")
    Instance.objects.filter(pk=instance.pk).update(role=Instance.Role.STANDBY)
    readonly.forget()
    state = _state(url, tenant)
    if not state.snapshot_done:
        # Tables are copied one after the other while the primary keeps writing: a row copied late may refer
        # to one created after its table was copied. Copy and catch up in one transaction, so that foreign
        # keys (deferred to commit) are checked only once the feed has brought those rows too.
        # Catch up to the head as it was when the copy ended, not "until the feed is empty": under steady
        # writes on a busy machine, a page can take longer than the next write, and the copy never commits.
        with transaction.atomic():
            snapshot(client, state, on_rows)
            target = int(client.get("/feed", after=state.applied_seq, limit=1, standby=instance.uuid)["head"])
            while state.applied_seq < target and step(client, state) > 0:
                pass
    failures = 0
    while not (until and until()):
        if Instance.objects.filter(pk=instance.pk, role=Instance.Role.PRIMARY).exists():
            break  # promoted while we were following
        try:
            applied = step(client, state)
            failures = 0
        except PrimaryUnreachable:
            # A closed keep-alive connection is retried at once; a primary that is down, with back-off to 1 s.
            applied, failures = 0, failures + 1
            time.sleep(min(1.0, poll * (failures - 1)))
            continue
        if applied == 0:
            time.sleep(poll)
    return state


def promote(token: str | None = None) -> dict[str, Any]:
    """Make this standby the primary: stop following, take a newer epoch, move id sequences, log changes.

    With the token it followed with, it also fences the old primary (if that one still answers), so
    that it stops taking writes at once.
    """
    instance = this_instance()
    if instance.role != Instance.Role.STANDBY:
        raise Conflict(_("This instance is not a standby."))
    started = time.monotonic()
    state = Follow.objects.filter(promoted_at__isnull=True).order_by("-id").first()
    epoch = max(instance.epoch, state.primary_epoch if state else 0) + 1
    with readonly.applying(), transaction.atomic():
        Instance.objects.filter(pk=instance.pk).update(role=Instance.Role.PRIMARY, epoch=epoch)
        Follow.objects.filter(promoted_at__isnull=True).update(promoted_at=timezone.now())
        statements = connection.ops.sequence_reset_sql(no_style(), changelog.replicated_models())
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    readonly.forget()
    changelog.install()  # so that the old primary, or a new standby, can follow this one
    seconds = round(time.monotonic() - started, 3)
    if state is None:
        fenced = "no primary was followed"
    elif state.tenant:
        fenced = "not fenced: a tenant's copy leaves the primary serving its other tenants"
    else:
        fenced = _fence_old(state, token, epoch, instance.uuid)
    return {"seconds": seconds, "epoch": epoch, "old_primary": fenced, "status": status()}


def _fence_old(state: Follow, token: str | None, epoch: int, me: str) -> str:
    if not token:
        return "not fenced (no token): demote it with `poplist standby demote` before it serves again"
    client = FeedClient(state.primary_url, token, timeout=5)
    try:
        client.post("/feed/fence", {"epoch": epoch, "instance": me})
    except PrimaryUnreachable:
        return "unreachable: demote it with `poplist standby demote` before it serves again"
    except InvalidInput as exc:
        return f"not fenced: {exc}"
    return "fenced"


def status() -> dict[str, Any]:
    instance = this_instance()
    state = Follow.objects.order_by("-id").first()
    data: dict[str, Any] = {
        "role": instance.role,
        "instance": instance.uuid,
        "epoch": instance.epoch,
        "feed_enabled": instance.feed_enabled,
    }
    if state:
        now = timezone.now()
        data.update(
            primary=state.primary_url,
            tenant=state.tenant or None,  # a tenant's live copy: only this tenant's rows
            applied_seq=state.applied_seq,
            applied_at=state.applied_at,
            lag_seconds=None if state.lag_seconds is None else round(state.lag_seconds, 3),
            caught_up_at=state.caught_up_at,
            seconds_since_contact=round((now - state.contact_at).total_seconds(), 1) if state.contact_at else None,
            promoted_at=state.promoted_at,
        )
    return json.loads(json.dumps(data, default=str))
