"""The change log is pruned behind what the standbys acknowledged, and a standby left behind is told to copy afresh."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from poplist.exchange import changelog, feed, pruning
from poplist.exchange.models import Change, Follower


@pytest.fixture
def logged(transactional_db, tenant):
    """A primary with its change log on, and 300 logged changes (members added one by one)."""
    from poplist.lists.models import Member
    from poplist.lists.services import create_list

    changelog.install()
    news = create_list(tenant, "news@lists.acme.test")
    for i in range(300):
        Member.objects.create(mailing_list=news, email=f"m{i}@example.org")
    yield news
    changelog.uninstall()


def head() -> int:
    return feed.head()


def test_prunes_behind_the_slowest_standby_keeping_the_window(logged):
    top = head()
    assert Change.objects.count() >= 300
    feed.changes_page(top - 100, 10, standby="fast")  # asking for what follows N acknowledges N
    feed.changes_page(top - 200, 10, standby="slow")
    assert dict(Follower.objects.values_list("instance", "acked_seq")) == {"fast": top - 100, "slow": top - 200}
    before = Change.objects.count()
    deleted = pruning.prune(keep=50)
    low = Change.objects.order_by("seq").first().seq
    assert low == top - 250 + 1  # the slow one's cursor, less the window of 50
    assert deleted == before - Change.objects.count() > 0
    assert pruning.log_size()["pruned_through"] == top - 250
    # The slow standby, and one far behind, can still read what they need; further back is gone.
    assert feed.changes_page(top - 200, 10, standby="slow")["changes"]
    with pytest.raises(feed.Pruned) as gone:
        feed.changes_page(top - 260, 10, standby="lost")
    assert gone.value.http_status == 410 and "copy this instance afresh" in str(gone.value)


def test_without_standbys_it_keeps_the_window_behind_the_head(logged):
    top = head()
    pruning.prune(keep=20)
    assert Change.objects.count() == 20
    assert Change.objects.order_by("seq").first().seq == top - 19
    assert pruning.prune(keep=20) == 0  # nothing more to do


def test_a_silent_standby_stops_holding_the_log_back(logged, monkeypatch):
    top = head()
    feed.changes_page(0, 10, standby="gone-for-good")
    Follower.objects.update(seen_at=timezone.now() - timedelta(days=8))
    monkeypatch.setenv("POPLIST_STANDBY_FORGET_DAYS", "7")
    pruning.prune(keep=10)
    assert Change.objects.count() == 10
    assert not Follower.objects.exists()
    with pytest.raises(feed.Pruned):
        feed.changes_page(0, 10, standby="gone-for-good")
    assert top == head()


def test_the_log_stays_bounded_under_steady_writes(logged):
    from poplist.lists.models import Member

    sizes = []
    for round_ in range(5):
        for i in range(200):
            Member.objects.create(mailing_list=logged, email=f"r{round_}-{i}@example.org")
        feed.changes_page(head() - 30, 10, standby="follower")  # the standby keeps up, 30 behind
        pruning.prune(keep=100)
        sizes.append(Change.objects.count())
    assert max(sizes) <= 130
    assert head() >= 1300


def test_the_worker_prunes_only_a_primary_with_a_log(db):
    from poplist.exchange.tasks import worker_tasks

    assert [t.name for t in worker_tasks()] == ["exchange-prune-changes"]
    assert pruning.prune() == 0  # the log is off: nothing to do, nothing fails


def test_a_gap_before_a_coalesced_change_ages_like_any_other():
    """After a gap (a rolled-back or pruned seq), the next seq may be one the page coalesced away."""
    from poplist.exchange.standby import _advance

    old, recent = "2026-11-27T08:00:00+00:00", "2026-11-27T08:00:09+00:00"
    page = {
        "now": "2026-11-27T08:00:10+00:00",
        "seqs": [5001, 5002, 5003],
        "seq_times": [old, old, recent],
        "changes": [],
    }
    changes = [{"seq": 5002, "at": old}, {"seq": 5003, "at": recent}]  # 5001: the same row as 5002, sent once
    assert _advance(0, page, changes)[0] == 5003
    young = {**page, "seq_times": [recent, recent, recent]}
    assert _advance(0, young, [{"seq": 5002, "at": recent}, {"seq": 5003, "at": recent}])[0] == 0  # may still come
