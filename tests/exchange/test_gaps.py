"""A follower never moves past a change whose transaction is still running, however long it runs.

On PostgreSQL a change's number is taken before its transaction commits: a long transaction (a
big import) holds a low number while later ones commit higher numbers. A clock-based wait would
skip it and the standby would miss its rows for good; the follower waits for the transaction.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction

from poplist.exchange import changelog, feed, standby, tenantfeed
from poplist.lists.models import Member


@pytest.fixture
def logged(transactional_db, tenant):
    from poplist.lists.services import create_list

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: numbers are committed in order, no gap can fill later")
    changelog.install()
    news = create_list(tenant, "news@lists.acme.test")
    yield news
    changelog.uninstall()


class LongImport:
    """Another connection adds a member and keeps its transaction open: its change has a number, not committed."""

    def __init__(self, news, email: str) -> None:
        self.started, self.finish, self.outcome = threading.Event(), threading.Event(), "commit"
        self.thread = threading.Thread(target=self._run, args=(news, email))
        self.thread.start()
        assert self.started.wait(10)

    def _run(self, news, email: str) -> None:
        from django.db import connection as own

        try:
            with transaction.atomic():
                Member.objects.create(mailing_list=news, email=email)
                self.started.set()
                self.finish.wait(30)
                if self.outcome == "rollback":
                    transaction.set_rollback(True)
        finally:
            own.close()

    def end(self, outcome: str) -> None:
        self.outcome = outcome
        self.finish.set()
        self.thread.join(10)


def settle(read, cursor_of, seconds: float = 30):
    """The first page on which the cursor moves. Transaction ids are the whole server's: a transaction of
    another database (another test process) running at that moment also holds the cursor, for as long."""
    deadline = time.monotonic() + seconds
    while True:
        page = read()
        if cursor_of(page) > page["after"] or time.monotonic() > deadline:
            return page
        time.sleep(0.1)


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_the_cursor_waits_for_a_long_transaction_and_moves_once_it_ended(logged, monkeypatch, outcome):
    Member.objects.create(mailing_list=logged, email="first@example.org")
    cursor = feed.head()
    other = LongImport(logged, "slow@example.org")
    Member.objects.create(mailing_list=logged, email="quick@example.org")  # a higher number, committed
    monkeypatch.setattr(standby, "GAP_WAIT", timedelta(0))  # the clock says nothing any more

    page = feed.changes_page(cursor, 100)
    moved, _at, gap = standby._advance(cursor, page, page["changes"])
    assert moved == cursor and gap == (cursor, page["xmax"])  # stopped before the gap, and knows why
    later = feed.changes_page(cursor, 100)
    assert standby._advance(cursor, later, later["changes"], gap)[0] == cursor  # still running: still waiting

    other.end(outcome)
    done = settle(lambda: feed.changes_page(cursor, 100), lambda page: standby._advance(cursor, page, [], gap)[0])
    assert standby._advance(cursor, done, done["changes"], gap)[0] == done["seqs"][-1]
    emails = {c["row"]["email"] for c in done["changes"] if c["table"] == "lists_member" and c["row"]}
    assert ("slow@example.org" in emails) is (outcome == "commit")  # committed: it is in the page, not skipped


def test_a_tenant_copy_waits_for_a_long_transaction_too(logged, tenant):
    Member.objects.create(mailing_list=logged, email="first@example.org")
    cursor = feed.head()
    other = LongImport(logged, "slow@example.org")
    Member.objects.create(mailing_list=logged, email="quick@example.org")

    page = tenantfeed.changes_page(tenant, cursor, 100)
    assert page["through"] == cursor and page["gap"]
    moved, _at, gap = standby._advance(cursor, page, page["changes"])
    assert moved == cursor and gap == (cursor, page["xmax"])
    assert tenantfeed.changes_page(tenant, cursor, 100, gap_xmax=gap[1])["through"] == cursor  # still running

    other.end("commit")
    done = settle(lambda: tenantfeed.changes_page(tenant, cursor, 100, gap_xmax=gap[1]), lambda page: page["through"])
    assert done["through"] > cursor and not done["gap"]
    assert "slow@example.org" in {c["row"]["email"] for c in done["changes"] if c["row"] and "email" in c["row"]}
