"""The owners' console through Django's test client: what an owner sees and what each form changes."""

import re

import pytest

from poplist.lists import importing
from poplist.lists.models import MailingList, Member, PendingRequest, Suppression
from poplist.lists.subscriptions import Origin, request_subscription, subscribe


def add(mailing_list, *emails, name=""):
    for email in emails:
        subscribe(mailing_list, email, name=name, origin=Origin(via="owner"), welcome=False)


def test_dashboard_lists_counts_and_charts(owner_client, mailing_list, make_list):
    add(mailing_list, "ann@example.org", "bob@example.org")
    make_list("team")
    page = owner_client.get("/console/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "news@lists.acme.test" in html and "team@lists.acme.test" in html
    assert html.count('<svg class="chart"') >= 3  # subscribers, posts, deliveries plotted
    assert "Subscribers over time" in html
    # Navigation: web's tabs found by discovery
    assert 'href="/console/new-list/"' in html


def test_console_tabs_skip_url_names_that_do_not_resolve(monkeypatch):
    from poplist.web import nav

    nav.declared.cache_clear()
    monkeypatch.setattr("poplist.web.views.CONSOLE_TABS", [("Nowhere", "web:no-such-page"), ("Members", "web:members")])
    try:
        tabs = nav.tabs("CONSOLE_TABS", "news@lists.acme.test")
        labels = [t.label for t in tabs if t.name.startswith("web:")]  # other domains add their own tabs
        assert labels == ["Members"]
    finally:
        nav.declared.cache_clear()


def test_members_page_searches_filters_and_pages_by_keyset(owner_client, mailing_list):
    add(mailing_list, *[f"user{n:03d}@example.org" for n in range(120)])
    add(mailing_list, "zed@example.org", name="Zoé Zed")
    first = owner_client.get(f"/console/lists/{mailing_list.address}/members/").content.decode()
    assert "user000@example.org" in first and "user049@example.org" in first and "user050@example.org" not in first
    after = re.search(r'after=([^"&]+)"', first).group(1)
    second = owner_client.get(f"/console/lists/{mailing_list.address}/members/?after={after}").content.decode()
    assert "user050@example.org" in second and "user049@example.org" not in second
    found = owner_client.get(f"/console/lists/{mailing_list.address}/members/?q=Zo").content.decode()
    assert "zed@example.org" in found and "user000" not in found
    found = owner_client.get(f"/console/lists/{mailing_list.address}/members/?q=USER11").content.decode()
    assert "user110@example.org" in found and "user000" not in found
    Member.objects.filter(email="user001@example.org").update(delivery_mode="nomail")
    nomail = owner_client.get(f"/console/lists/{mailing_list.address}/members/?mode=nomail").content.decode()
    assert "user001@example.org" in nomail and "user002@example.org" not in nomail


def test_owner_adds_removes_and_changes_a_member(owner_client, mailing_list):
    url = f"/console/lists/{mailing_list.address}/members/"
    owner_client.post(url, {"emails": "ann@example.org\nnot-an-address\nBob <bob@example.org>"})
    assert set(Member.objects.filter(role="member").values_list("email", flat=True)) == {
        "ann@example.org",
        "bob@example.org",
    }
    page = owner_client.get(url).content.decode()
    assert "not-an-address" in page  # the refusal is reported
    owner_client.post(f"{url}remove/", {"email": ["bob@example.org"]})
    assert not Member.objects.filter(email="bob@example.org", role="member").exists()
    assert Suppression.objects.filter(email="bob@example.org").exists()
    owner_client.post(
        f"{url}ann@example.org/",
        {"display_name": "Ann", "delivery_mode": "mime_digest", "moderated": "on", "enabled": "on"},
    )
    ann = Member.objects.get(email="ann@example.org", role="member")
    assert (ann.delivery_mode, ann.moderated, ann.display_name) == ("mime_digest", True, "Ann")
    mailing_list.refresh_from_db()
    assert mailing_list.member_count == 1


def test_csv_export_streams_every_member(owner_client, mailing_list):
    add(mailing_list, "ann@example.org", "bob@example.org")
    response = owner_client.get(f"/console/lists/{mailing_list.address}/members/export.csv")
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert body.splitlines()[0].startswith("email,display_name,role")
    assert "ann@example.org" in body and "bob@example.org" in body


def test_csv_import_job_reports_rows_and_rejections(owner_client, mailing_list, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from poplist.lists import import_jobs

    monkeypatch.setattr(import_jobs, "start_soon", lambda job: import_jobs.run_job(job.pk))
    upload = SimpleUploadedFile("people.csv", b"email,name\nann@example.org,Ann\nbroken@,X\ncid@example.org,Cid\n")
    response = owner_client.post(
        f"/console/lists/{mailing_list.address}/members/import/", {"file": upload, "mode": "direct"}
    )
    assert response.status_code == 302
    page = owner_client.get(response["Location"]).content.decode()
    assert "Done: 2 added out of 3 rows." in page and "Import of people.csv" in page
    assert "broken@" in page and ">3<" in page  # the rejected row with its line number
    assert Member.objects.filter(role="member").count() == 2
    fragment = owner_client.get(response["Location"], headers={"X-Requested-With": "fetch"}).content.decode()
    assert "data-done" in fragment and "<html" not in fragment
    listing = owner_client.get(f"/console/lists/{mailing_list.address}/members/import/").content.decode()
    assert "people.csv" in listing and "Done" in listing  # the recent imports, console and API alike


def test_settings_grouped_with_help_and_saved(owner_client, mailing_list):
    from poplist.lists.models import SETTABLE_FIELDS
    from poplist.web.forms import SETTING_GROUPS

    assert sorted(name for _t, fields in SETTING_GROUPS for name, _h in fields) == sorted(SETTABLE_FIELDS)
    url = f"/console/lists/{mailing_list.address}/settings/"
    page = owner_client.get(url).content.decode()
    assert "Posting and moderation" in page and "Hold every post, whoever sends it." in page
    from django.forms.models import model_to_dict

    data = {k: v for k, v in model_to_dict(mailing_list, fields=SETTABLE_FIELDS).items()}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    data.update(subject_prefix="[news]", emergency_moderation="on")
    response = owner_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    mailing_list.refresh_from_db()
    assert mailing_list.subject_prefix == "[news]" and mailing_list.emergency_moderation
    data["max_message_kb"] = "lots"
    bad = owner_client.post(url, data)
    assert bad.status_code == 400 and "Enter a whole number" in bad.content.decode()


def test_new_list_wizard_creates_the_list_with_its_owner(owner_client, tenant):
    url = "/console/new-list/"
    step1 = owner_client.post(url, {"step": "0", "local_part": "Bad Name!", "domain": "lists.acme.test"})
    assert step1.status_code in (200, 400)
    common = {"local_part": "team", "domain": "lists.acme.test", "display_name": "The team", "description": ""}
    step2 = owner_client.post(url, {"step": "0", **common})
    assert 'name="style"' in step2.content.decode()
    step3 = owner_client.post(url, {"step": "1", **common, "style": "announce", "language": "fr"})
    assert 'name="subscription_policy"' in step3.content.decode()
    done = owner_client.post(
        url,
        {"step": "2", **common, "style": "announce", "language": "fr", "subscription_policy": "moderate",
         "archive_policy": "private"},
    )  # fmt: skip
    assert done.status_code == 302
    created = MailingList.objects.get(address="team@lists.acme.test")
    assert (created.style, created.language, created.subscription_policy, created.archive_policy) == (
        "announce",
        "fr",
        "moderate",
        "private",
    )
    assert Member.objects.filter(mailing_list=created, role="owner", email="owner@acme.test").exists()


def test_wizard_reports_a_taken_address(owner_client, mailing_list):
    response = owner_client.post(
        "/console/new-list/",
        {"step": "2", "local_part": "news", "domain": "lists.acme.test", "display_name": "", "description": "",
         "style": "discussion", "language": "en", "subscription_policy": "confirm", "archive_policy": "public"},
    )  # fmt: skip
    assert response.status_code == 400 and "already exists" in response.content.decode()


def test_pending_requests_approve_and_refuse(owner_client, make_list):
    moderated = make_list("club", subscription_policy="moderate")
    request_subscription(moderated, "ann@example.org", origin=Origin(via="web"))
    request_subscription(moderated, "bob@example.org", origin=Origin(via="web"))
    page = owner_client.get(f"/console/lists/{moderated.address}/requests/").content.decode()
    assert "ann@example.org" in page and "bob@example.org" in page
    ann, bob = PendingRequest.objects.filter(kind="approval").order_by("email")
    owner_client.post(f"/console/lists/{moderated.address}/requests/{ann.pk}/", {"decision": "approve"})
    owner_client.post(f"/console/lists/{moderated.address}/requests/{bob.pk}/", {"decision": "refuse", "reason": "no"})
    assert Member.objects.filter(mailing_list=moderated, role="member").get().email == "ann@example.org"


def test_suppressions_page_adds_and_lifts(owner_client, mailing_list):
    url = f"/console/lists/{mailing_list.address}/suppressions/"
    owner_client.post(url, {"email": "spam@example.org", "note": "asked by phone"})
    found = Suppression.objects.get(email="spam@example.org")
    assert "spam@example.org" in owner_client.get(url).content.decode()
    owner_client.post(f"{url}{found.pk}/lift/")
    assert not Suppression.objects.filter(email="spam@example.org").exists()


def test_french_for_a_user_who_chose_it(owner_client, owner, mailing_list):
    owner_client.post("/language/", {"language": "fr", "next": "/console/"})
    owner.refresh_from_db()
    assert owner.language == "fr"
    page = owner_client.get("/console/").content.decode()
    assert 'lang="fr"' in page


def test_accept_language_picks_french_for_visitors(client, db):
    page = client.get("/login/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).content.decode()
    assert 'lang="fr"' in page


@pytest.mark.parametrize("size", [0, 1, 3])
def test_import_helper_counts(mailing_list, size):
    import io

    data = "".join(f"p{n}@example.org\n" for n in range(size)).encode()
    report = importing.import_members(mailing_list, io.BytesIO(data), source="t")
    assert report.added == size


def test_an_upload_left_by_a_dead_process_is_resumed_by_the_worker(mailing_list):
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from poplist.lists import import_jobs
    from poplist.lists.models import ImportJob
    from poplist.lists.tasks import worker_tasks

    upload = SimpleUploadedFile("a.csv", b"ann@example.org\n")
    job = import_jobs.queue_import(mailing_list, upload.read(), source="web:a.csv", actor="o")
    ImportJob.objects.filter(pk=job.pk).update(state="running", started_at=timezone.now() - timedelta(hours=1))
    [task] = [t for t in worker_tasks() if t.name == "run queued member imports"]
    assert task.run() == 1
    job.refresh_from_db()
    assert job.state == "done" and job.run.added == 1 and bytes(job.data) == b""
    assert Member.objects.filter(email="ann@example.org", role="member").exists()


def test_chart_series_count_by_utc_day(mailing_list):
    """The dashboard's day buckets are UTC days, computed by the database (SQLite and PostgreSQL alike)."""
    from datetime import UTC, datetime, time, timedelta

    from django.utils import timezone

    from poplist.lists.models import MailingList, MemberEvent
    from poplist.web import queries

    today = timezone.now().date()
    yesterday = today - timedelta(days=1)
    late = datetime.combine(yesterday, time(23, 59, 30), tzinfo=UTC)
    early = datetime.combine(today, time(0, 0, 10), tzinfo=UTC)
    for when, action in [(late, "subscribed"), (late, "subscribed"), (early, "unsubscribed")]:
        MemberEvent.objects.create(mailing_list=mailing_list, email="x@example.org", action=action, created_at=when)
    series = dict(queries.subscribers_series(MailingList.objects.filter(pk=mailing_list.pk), 10))
    # 10 members now; today one left (so 11 at the end of yesterday), yesterday two joined.
    assert (series[today], series[yesterday], series[yesterday - timedelta(days=1)]) == (10, 11, 9)


def test_role_mode_and_status_labels_are_translated(owner_client, owner, mailing_list):
    add(mailing_list, "ann@example.org")
    owner.language = "fr"
    owner.save(update_fields=["language"])
    html = owner_client.get(f"/console/lists/{mailing_list.address}/members/").content.decode()
    for label in ("Propriétaire", "Modérateur", "Membre", "Chaque message", "Résumé (texte brut)", "Désactivé"):
        assert f">{label}</option>" in html, label
    assert "<td>Chaque message</td>" in html  # ann's delivery mode in her row
    owner.language = "en"
    owner.save(update_fields=["language"])
    html = owner_client.get(f"/console/lists/{mailing_list.address}/members/").content.decode()
    assert ">Owner</option>" in html and "<td>Every post</td>" in html
