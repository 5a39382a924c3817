"""The owners' deliveries page: live progress in a real browser, pause/resume/cancel with CSRF."""

from __future__ import annotations

import pytest

from poplist.delivery.models import DeliveryJob
from poplist.testing.fixtures_web import OWNER_PASSWORD


@pytest.mark.django_db
def test_jobs_page_shows_progress_and_acts(owner_client, mailing_list, make_list, post_job, other_owner, client):
    job = post_job(mailing_list)
    DeliveryJob.objects.filter(pk=job.pk).update(status="running", total=10, sent=4, failed=1)
    page = owner_client.get(f"/console/lists/{mailing_list.address}/jobs/")
    text = page.content.decode()
    assert page.status_code == 200 and "Deliveries of" in text and 'data-field="sent">4<' in text
    progress = owner_client.get(f"/console/lists/{mailing_list.address}/jobs/progress.json").json()
    assert [(j["id"], j["sent"], j["failed"], j["pending"]) for j in progress["jobs"]] == [(job.pk, 4, 1, 5)]
    answer = owner_client.post(f"/console/lists/{mailing_list.address}/jobs/{job.pk}/pause/")
    assert answer.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.pause_reason) == ("paused", "owner")
    # Another tenant's owner sees nothing of it.
    client.force_login(other_owner)
    assert client.get(f"/console/lists/{mailing_list.address}/jobs/").status_code == 404
    assert client.post(f"/console/lists/{mailing_list.address}/jobs/{job.pk}/resume/").status_code == 404
    # A job of another list of the same tenant is not reachable through this list's address.
    second = make_list("second")
    assert owner_client.post(f"/console/lists/{second.address}/jobs/{job.pk}/resume/").status_code == 404


@pytest.fixture
def own_page(live_server, settings, monkeypatch):
    """A chromium page whose Playwright (and its event loop in this thread) ends with the test, so later
    tests in this process can run event loops of their own."""
    from poplist.testing.fixtures_web import CHROMIUM_ARGS, chromium_path

    path = chromium_path()
    if path is None:
        pytest.skip("chromium is missing (/usr/bin/chromium): the browser test did NOT run")
    from playwright.sync_api import sync_playwright

    settings.BASE_URL = live_server.url
    # The ORM calls of the test body are synchronous, beside Playwright's loop in this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-US")
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_progress_updates_live_and_pause_works_in_a_browser(own_page, live_server, owner, mailing_list, post_job):
    job = post_job(mailing_list)
    DeliveryJob.objects.filter(pk=job.pk).update(status="running", total=100, sent=10, started_at=job.created_at)
    page = own_page
    page.goto(f"{live_server.url}/login/?next=/console/lists/{mailing_list.address}/jobs/")
    page.fill("#id_username", owner.email)
    page.fill("#id_password", OWNER_PASSWORD)
    page.press("#id_password", "Enter")
    row = page.locator(f'tr[data-job="{job.pk}"]')
    assert row.locator('[data-field="sent"]').inner_text() == "10"
    DeliveryJob.objects.filter(pk=job.pk).update(sent=60, failed=2)  # the workers go on
    page.wait_for_function(
        f"document.querySelector('tr[data-job=\"{job.pk}\"] [data-field=\"sent\"]').textContent === '60'"
    )
    assert row.locator('[data-field="pending"]').inner_text() == "38"
    row.get_by_role("button", name="Pause").click()
    page.wait_for_url(f"**/console/lists/{mailing_list.address}/jobs/")
    assert "paused (owner)" in page.locator(f'tr[data-job="{job.pk}"] [data-field="status"]').inner_text()
    job.refresh_from_db()
    assert job.status == "paused"
