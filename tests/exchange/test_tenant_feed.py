"""A tenant's live feed carries its own rows and nothing of another tenant's, deletes included; tokens are scoped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from poplist.exchange import changelog, tenantfeed
from poplist.exchange.models import Change


@pytest.fixture
def logged(transactional_db):
    """The rich instance (acme active, globex suspended) with the change log on from the start."""
    from poplist.testing.fixtures_exchange import build_rich_instance

    changelog.install()
    data = build_rich_instance()
    yield data
    changelog.uninstall()


def token(tenant) -> str:
    from poplist.accounts.services import create_api_token

    return create_api_token(tenant, name="copy")[1]


def get(client, secret: str, path: str, **params):
    return client.get(f"/api/v1/export{path}", params, HTTP_AUTHORIZATION=f"Bearer {secret}")


def owned(tenant) -> dict[str, set[str]]:
    """Every row of the tenant, per table, as the export would scope it (plus the files its deploys use)."""
    return {
        model._meta.db_table: {str(pk) for pk in tenantfeed.scoped(model, tenant).values_list("pk", flat=True)}
        for model in tenantfeed.feed_specs()
    }


def test_every_carried_model_has_a_tenant_and_refers_only_to_carried_rows():
    from poplist.sites.models import Blob

    carried = tenantfeed.feed_specs()
    assert {m._meta.db_table for m in carried} >= {
        "accounts_tenant",
        "accounts_domain",
        "accounts_user",
        "lists_mailinglist",
        "lists_member",
        "archive_archivedmessage",
        "inbound_heldmessage",
        "bounces_bounceevent",
        "sites_site",
        "sites_deploy",
        "sites_blob",
    }
    assert "delivery_dkimkey" not in {m._meta.db_table for m in carried}  # a secret: export --include-secrets only
    assert "accounts_apitoken" not in {m._meta.db_table for m in carried}
    for model in carried:
        if model is not Blob:
            assert tenantfeed.tenant_path(model) is not None, model
        for field in model._meta.concrete_fields:
            if field.is_relation:  # a live copy's foreign keys hold: every referenced row is carried too
                assert field.related_model in carried, (model, field.name)


def test_triggers_note_the_tenant_of_each_change_also_of_deletes(logged):
    from poplist.lists.models import Member

    acme, globex = logged["acme"], logged["globex"]
    member = Member.objects.create(mailing_list=logged["news"], email="new@example.org")
    pk = str(member.pk)
    seq = Change.objects.filter(tbl="lists_member", row=pk).latest("seq")
    assert seq.tenant_id == acme.pk
    member.delete()
    gone = Change.objects.filter(tbl="lists_member", row=pk).latest("seq")
    assert gone.seq > seq.seq and gone.tenant_id == acme.pk  # the row is gone; its tenant was noted
    assert Change.objects.filter(tbl="accounts_tenant", row=str(globex.pk)).first().tenant_id == globex.pk
    assert not Change.objects.filter(tbl="sites_blob").exclude(tenant_id=None).exists()  # shared: no tenant


def test_a_tenant_token_reads_only_its_own_tenant_feed(logged, client):
    acme, globex = logged["acme"], logged["globex"]
    secret = token(acme)
    refused = get(client, secret, "/feed")
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("application/problem+json")
    assert "needs a host-wide token" in refused.json()["detail"]
    for path in ("/feed", "/feed/tables", "/feed/snapshot"):
        other = get(client, secret, path, tenant="globex", table="lists_member")
        assert other.status_code == 404, path
        assert other["Content-Type"].startswith("application/problem+json")
        assert other.json()["detail"] == "There is no tenant globex."
        assert "only@globex.test" not in other.content.decode()
    assert get(client, secret, "/feed/status").status_code == 403
    assert (
        client.post(
            "/api/v1/export/feed/fence",
            {"epoch": 99, "instance": "x"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        ).status_code
        == 403
    )  # a customer never fences the host's primary
    assert get(client, secret, "/feed/scope").json() == {"tenant": "acme"}
    page = get(client, secret, "/feed", tenant="acme").json()
    assert page["tenant"] == "acme" and page["changes"]
    mine = owned(acme)
    assert all(c["pk"] in mine[c["table"]] for c in page["changes"])
    # A host-wide token may follow any one tenant (the host runs a copy for a customer).
    host = token(None)
    assert get(client, host, "/feed", tenant="globex").json()["tenant"] == "globex"
    assert get(client, host, "/feed/blobs", tenant="", sha="x").status_code == 400
    # Another tenant's suspended state does not matter; nor does ours: a suspended tenant follows.
    assert get(client, token(globex), "/feed", tenant="globex").status_code == 200


def test_users_come_without_password_hashes_and_never_as_admins(logged, client):
    from poplist.accounts.models import User

    User.objects.filter(email="owner@acme.test").update(is_staff=True)
    page = get(client, token(logged["acme"]), "/feed", tenant="acme").json()
    users = [c["row"] for c in page["changes"] if c["table"] == "accounts_user"]
    assert {u["email"] for u in users} == {"owner@acme.test", "helper@acme.test"}
    assert all(u["password"] == "!exported-without-password" for u in users)
    assert all(u["is_staff"] is False and u["is_superuser"] is False for u in users)
    snap = get(client, token(logged["acme"]), "/feed/snapshot", tenant="acme", table="accounts_user").json()
    assert {u["password"] for u in snap["rows"]} == {"!exported-without-password"}
    refused = get(client, token(logged["acme"]), "/feed/snapshot", tenant="acme", table="delivery_dkimkey")
    assert refused.status_code == 400 and "does not carry" in refused.json()["detail"]


def test_blobs_are_those_of_the_tenant_deploys_only(logged, client):
    from poplist.sites.models import Blob
    from poplist.sites.services import create_site, deploy_files

    site = create_site(logged["globex"], "globex-www", ["www.globex.test"])
    deploy_files(site, {"secret.html": b"globex only"}, via="cli")
    theirs = Blob.objects.get(size=len(b"globex only")).sha256
    acme = token(logged["acme"])
    mine = tenantfeed.scoped(Blob, logged["acme"]).values_list("sha256", flat=True)
    page = get(client, acme, "/feed/blobs", tenant="acme", sha=[*mine, theirs]).json()
    assert {r["sha256"] for r in page["rows"]} == set(mine)  # another tenant's file is simply not there
    snap = get(client, acme, "/feed/snapshot", tenant="acme", table="sites_blob").json()
    assert theirs not in {r["sha256"] for r in snap["rows"]} and len(snap["rows"]) == len(mine)


def test_closed_tenant_follows_until_the_retention_period_ends(logged, client):
    from poplist.accounts.models import Tenant

    acme = logged["acme"]
    secret = token(acme)
    Tenant.objects.filter(pk=acme.pk).update(status=Tenant.Status.CLOSED, status_changed_at=timezone.now())
    assert get(client, secret, "/feed", tenant="acme").status_code == 200
    Tenant.objects.filter(pk=acme.pk).update(status_changed_at=timezone.now() - timedelta(days=400))
    gone = get(client, secret, "/feed", tenant="acme")
    assert gone.status_code == 410 and "closed" in gone.json()["detail"]


def test_follower_of_one_tenant_never_receives_a_row_of_the_other(logged, client):
    """Both tenants write, update and delete; every page of acme's feed, and its first copy, hold only acme's."""
    from poplist.archive.services import archive_message
    from poplist.lists.models import Member, Suppression
    from poplist.lists.services import create_list
    from poplist.testing.fixtures_exchange import rich_message

    acme, globex = logged["acme"], logged["globex"]
    secret = token(acme)
    announce = globex.lists.get()
    theirs: dict[str, set[str]] = owned(globex)
    seen: list[dict] = []
    after = Change.objects.order_by("seq").first().seq - 1  # earlier tests used the numbers before
    tables = get(client, secret, "/feed/tables", tenant="acme").json()
    for table in tables["tables"]:
        rows = get(client, secret, "/feed/snapshot", tenant="acme", table=table, limit=20000).json()["rows"]
        seen.extend({"table": table, "pk": str(r.get("id", r.get("sha256"))), "row": r} for r in rows)
    for round_ in range(5):
        # globex: new members and lists, updates, deletes of its members and of a whole list
        gone = Member.objects.create(mailing_list=announce, email=f"b{round_}@globex.test")
        other = create_list(globex, f"tmp{round_}@lists.globex.test")
        Member.objects.create(mailing_list=other, email=f"tmp{round_}@globex.test")
        theirs = {t: theirs.get(t, set()) | pks for t, pks in owned(globex).items()}
        gone.delete()
        Member.objects.filter(mailing_list=other).delete()
        other.delete()
        Suppression.objects.create(tenant=globex, email=f"s{round_}@globex.test", reason="complaint")
        archive_message(announce, rich_message(700 + round_), live=False)
        theirs = {t: theirs.get(t, set()) | pks for t, pks in owned(globex).items()}
        # acme: the same
        Member.objects.create(mailing_list=logged["news"], email=f"a{round_}@acme.test")
        Member.objects.filter(mailing_list=logged["books"]).order_by("id").first().delete()
        while True:
            page = get(client, secret, "/feed", tenant="acme", after=after, limit=7).json()
            seen.extend(page["changes"])
            if page["through"] == after and not page["changes"]:
                break
            after = page["through"]
    assert Change.objects.filter(tenant_id=globex.pk, row__in=[str(p) for p in theirs["lists_member"]]).count() > 10
    leaked = [c for c in seen if c["pk"] in theirs.get(c["table"], set()) and c["table"] != "sites_blob"]
    assert leaked == []
    assert not [c for c in seen if c["row"] and c["row"].get("tenant_id") not in (None, acme.pk)]
    assert not [c for c in seen if "globex" in str(c["row"])]
    emails = {c["row"]["email"] for c in seen if c["table"] == "lists_member" and c["row"]}
    assert {f"a{i}@acme.test" for i in range(5)} <= emails
    assert sum(1 for c in seen if c["table"] == "lists_member" and c["row"] is None) >= 5  # acme's deletes came


@pytest.mark.django_db
def test_the_export_page_tells_owners_how_to_run_their_live_copy(rich_instance, client):
    from poplist.accounts.models import User

    client.force_login(User.objects.get(email="boss@globex.test"))  # globex is suspended: it may still follow
    text = client.get("/console/export/").content.decode()
    assert "<code>poplist mirror follow http://testserver --token TOKEN</code>" in text
    assert "It holds only your data" in text


@pytest.mark.django_db
def test_a_tenant_page_is_one_range_of_the_tenant_index():
    from django.db import connection

    query = Change.objects.filter(tenant_id=7, seq__gt=100, seq__lte=5000).order_by("seq")[:500]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a test's table is tiny: ask what it would use
        plan = query.explain()
    assert "exchange_change_tenant_seq" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan  # the index gives the order: no sort


@pytest.mark.django_db
def test_without_the_change_log_a_copy_is_told_why_it_cannot_follow(rich_instance, client):
    refused = get(client, token(rich_instance["acme"]), "/feed/tables", tenant="acme")
    assert refused.status_code == 409
    assert "keeps no change log" in refused.json()["detail"]
