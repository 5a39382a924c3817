"""pytest fixtures for the web tests (a plugin listed in tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

OWNER_PASSWORD = "correct horse battery"
ARTIFACTS = Path(__file__).resolve().parents[3] / "tests" / "artifacts"


@pytest.fixture
def owner(tenant):
    """A login of tenant acme (owner of its lists)."""
    from poplist.accounts.services import create_user

    user, _password = create_user("owner@acme.test", tenant=tenant, password=OWNER_PASSWORD, name="Olive Owner")
    return user


@pytest.fixture
def other_owner(other_tenant):
    from poplist.accounts.services import create_user

    user, _password = create_user("boss@globex.test", tenant=other_tenant, password=OWNER_PASSWORD)
    return user


@pytest.fixture
def host_admin(db):
    from poplist.accounts.services import create_user

    user, _password = create_user("admin@host.test", superuser=True, password=OWNER_PASSWORD)
    return user


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def archived(mailing_list):
    """Post raw messages into the list's archive; returns the ArchivedMessage."""
    from poplist.archive.services import archive_message

    def post(
        subject: str,
        body: str = "Hello",
        *,
        msgid: str,
        reply_to: str = "",
        author: str = "Ann <ann@example.org>",
        html: str | None = None,
        attachment: tuple[str, bytes] | None = None,
        target=None,
    ):
        from email.message import EmailMessage

        message = EmailMessage()
        message["From"] = author
        message["To"] = (target or mailing_list).address
        message["Subject"] = subject
        message["Message-ID"] = msgid
        message["Date"] = "Tue, 10 Nov 2026 10:00:00 +0000"
        if reply_to:
            message["In-Reply-To"] = reply_to
            message["References"] = reply_to
        if html is not None and body is None:
            message.set_content(html, subtype="html")
        else:
            message.set_content(body)
            if html is not None:
                message.add_alternative(html, subtype="html")
        if attachment:
            message.add_attachment(
                attachment[1], maintype="application", subtype="octet-stream", filename=attachment[0]
            )
        return archive_message(target or mailing_list, message.as_bytes(), live=False)

    return post


def chromium_path() -> str | None:
    path = os.environ.get("POPLIST_CHROMIUM", "/usr/bin/chromium")
    return path if os.path.exists(path) else None


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def log_in(page, live_server, email: str = "owner@acme.test", password: str = OWNER_PASSWORD) -> None:
    """Sign in through the login form in a real browser, and wait for the page it leads to."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")


@pytest.fixture
def chromium():
    """A real chromium driven by Playwright. Missing: a loud skip outside CI, a failure in CI.

    One per test, not per session: Playwright's sync API runs an event loop on this thread while it is
    open, and a session-wide one made every later test that starts its own Playwright (or loop) fail.
    """
    path = chromium_path()
    in_ci = os.environ.get("CI", "").lower() == "true"
    if path is None:
        message = "chromium is missing (/usr/bin/chromium): the browser tests did NOT run"
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci:
            pytest.fail("playwright is not installed: the browser tests did NOT run")
        pytest.skip("playwright is not installed: the browser tests did NOT run")
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, live_server, settings):
    """A fresh browser page; BASE_URL points at the live server so mailed links open there."""
    settings.BASE_URL = live_server.url
    context = chromium.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot(page):
    """screenshot("name") saves tests/artifacts/name.png (gitignored) to look at the pages."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shoot(name: str, full_page: bool = True) -> Path:
        target = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(target), full_page=full_page)
        return target

    return shoot


@pytest.fixture(autouse=True)
def _one_click_writer_stopped():
    """A live server's one-click requests start a writer thread with its own connection: end it with the test."""
    yield
    from poplist.lists.oneclick import stop_writer

    stop_writer()
