"""Owners download their tenant's export from the web and the API, also while suspended or closed."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def members_in(body: bytes, slug: str) -> list[dict]:
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert tar.getmembers()[0].name == "manifest.json"
        manifest = json.load(tar.extractfile("manifest.json"))
        assert [t["slug"] for t in manifest["tenants"]] == [slug]
        lines = tar.extractfile(f"tenants/{slug}/members.jsonl").read().decode().splitlines()
    return [json.loads(line) for line in lines]


def owner_client(client, email: str):
    from poplist.accounts.models import User

    client.force_login(User.objects.get(email=email))
    return client


def test_suspended_owner_downloads_export_from_the_web(rich_instance, client):
    client = owner_client(client, "boss@globex.test")  # globex is suspended
    page = client.get("/console/export/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "suspended" in text and "Download the export" in text
    response = client.get("/console/export/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="poplist-globex-')
    emails = [m["email"] for m in members_in(b"".join(response.streaming_content), "globex")]
    assert "only@globex.test" in emails and not any("acme" in e for e in emails if "@Example" in e)


def test_suspended_tenant_downloads_export_through_the_api(rich_instance, client):
    from poplist.accounts.services import create_api_token

    _token, secret = create_api_token(rich_instance["globex"])
    response = client.get("/api/v1/export/", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert [m["email"] for m in members_in(b"".join(response.streaming_content), "globex")] == [
        "boss@globex.test",
        "only@globex.test",
    ]
    # Another tenant's export is a 404, never data.
    other = client.get("/api/v1/export/?tenant=acme", headers={"Authorization": f"Bearer {secret}"})
    assert other.status_code == 404 and b"person" not in other.content


def test_host_token_names_the_tenant(rich_instance, client):
    from poplist.accounts.services import create_api_token

    _token, secret = create_api_token(None)
    assert client.get("/api/v1/export/", headers={"Authorization": f"Bearer {secret}"}).status_code == 400
    response = client.get("/api/v1/export/?tenant=acme", headers={"Authorization": f"Bearer {secret}"})
    assert len(members_in(b"".join(response.streaming_content), "acme")) == 233
    assert client.get("/api/v1/export/").status_code == 401


def test_closed_tenant_downloads_until_the_retention_period_ends(rich_instance, client, monkeypatch):
    from poplist.accounts.models import Tenant
    from poplist.accounts.services import set_tenant_status

    acme = set_tenant_status(rich_instance["acme"], Tenant.Status.CLOSED, "left")
    client = owner_client(client, "owner@acme.test")
    page = client.get("/console/export/").content.decode()
    assert "Your account is closed" in page
    assert client.get("/console/export/download/").status_code == 200
    Tenant.objects.filter(pk=acme.pk).update(status_changed_at=timezone.now() - timedelta(days=91))
    page = client.get("/console/export/").content.decode()
    assert "has ended" in page and "Download the export" not in page
    gone = client.get("/console/export/download/")
    assert gone.status_code == 410
    monkeypatch.setenv("POPLIST_EXPORT_RETENTION_DAYS", "365")
    assert client.get("/console/export/download/").status_code == 200


def test_host_admin_has_no_tenant_export_page(db, client):
    from poplist.accounts.services import create_user

    user, _pw = create_user("root@host.test", superuser=True)
    client.force_login(user)
    assert client.get("/console/export/").status_code == 404
