"""Group commit with bulk inserts, and archiving after the reply: nothing accepted is lost."""

from __future__ import annotations

import threading

import pytest

from poplist.testing.fixtures_inbound import make_message


@pytest.fixture
def news(make_list):
    from poplist.lists.subscriptions import subscribe

    mailing_list = make_list("news", subject_prefix="[news]")
    for name in ("ann", "bob", "cyd", "dan", "eve"):
        subscribe(mailing_list, f"{name}@example.org", welcome=False)
    return mailing_list


def busy_writer():
    """A writer held busy on a first batch until the gate is set, so that what is submitted meanwhile
    queues and is taken as one batch (without the wait, the writer may take some of it with the first)."""
    from poplist.inbound.writer import Writer

    writer, gate, entered = Writer(), threading.Event(), threading.Event()

    def hold() -> str:
        entered.set()
        return gate.wait(10) and "first batch"

    writer.submit(hold, lambda exc: "")
    assert entered.wait(10)
    return writer, gate


def test_a_burst_in_one_batch_gets_one_job_and_one_backlog_row_per_post_and_a_failure_loses_only_its_rows(
    news, transactional_db
):
    from poplist.delivery.models import DeliveryJob, DigestItem
    from poplist.inbound import batch
    from poplist.inbound.models import PendingArchive
    from poplist.inbound.receive import make_incoming, receive
    from poplist.inbound.routing import resolve

    route = resolve("news@lists.acme.test")
    writer, gate = busy_writer()
    futures = []
    for i, name in enumerate(("ann", "bob", "cyd", "dan", "eve")):
        raw = make_message(sender=f"{name}@example.org", message_id=f"<b{i}@example.org>")
        incoming = make_incoming(f"{name}@example.org", raw)
        futures.append(writer.submit(lambda incoming=incoming: receive(route, incoming), lambda exc: "451"))

    def broken() -> str:
        batch.insert_later(DigestItem(mailing_list=news, message=b"x", size=1))
        raise RuntimeError("this message breaks after queuing a row")

    futures.insert(2, writer.submit(broken, lambda exc: "stored for a person"))
    gate.set()  # the six messages above are now taken as one batch
    answers = [future.result(10) for future in futures]
    writer.stop()
    assert answers[2] == "stored for a person" and all(a.startswith("250") for i, a in enumerate(answers) if i != 2)
    jobs = {job.message_id: job.pk for job in DeliveryJob.objects.all()}
    assert sorted(jobs) == [f"<b{i}@example.org>" for i in range(5)]
    assert DigestItem.objects.count() == 5  # the broken message's queued row went with its savepoint
    assert {p.message_id: p.job_id for p in PendingArchive.objects.all()} == jobs


def test_an_archiving_failure_keeps_the_post_waiting_and_the_worker_retries(news, lmtp, monkeypatch):
    from poplist.archive.models import ArchivedMessage
    from poplist.inbound import archiving
    from poplist.inbound.models import PendingArchive

    assert lmtp(make_message())[0] == 250
    real = archiving.archive_message

    def failing(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(archiving, "archive_message", failing)
    assert archiving.archive_pending() == 0
    waiting = PendingArchive.objects.get()
    assert waiting.attempts == 1 and not ArchivedMessage.objects.exists()
    monkeypatch.setattr(archiving, "archive_message", real)
    assert archiving.archive_pending() == 1
    assert ArchivedMessage.objects.get().message_id == "<m1@example.org>" and not PendingArchive.objects.exists()


def test_a_reply_archived_by_the_worker_joins_its_parents_thread(news, lmtp):
    from poplist.archive.models import ArchivedMessage, Thread
    from poplist.inbound.archiving import archive_pending

    assert lmtp(make_message())[0] == 250
    reply = make_message(subject="Re: Hello", message_id="<m2@example.org>", extra="In-Reply-To: <m1@example.org>")
    assert lmtp(reply, mail_from="bob@example.org")[0] == 250
    assert archive_pending() == 2
    assert Thread.objects.get().message_count == 2
    child = ArchivedMessage.objects.get(message_id="<m2@example.org>")
    assert child.parent.message_id == "<m1@example.org>" and child.subject == "Re: Hello"


def test_a_batch_of_bounces_to_one_list_is_processed_in_one_call_before_the_commit(news, transactional_db, monkeypatch):
    from poplist.bounces.models import BounceEvent
    from poplist.bounces.verp import verp_token
    from poplist.inbound import receive as receiving
    from poplist.inbound.receive import make_incoming, receive
    from poplist.inbound.routing import resolve
    from poplist.lists.models import Member
    from poplist.testing.fixtures_bounces import dsn

    calls = []
    real = receiving.receive_bounces

    def counted(mailing_list, items):
        calls.append(len(items))
        return real(mailing_list, items)

    monkeypatch.setattr(receiving, "receive_bounces", counted)
    members = list(Member.objects.filter(mailing_list=news).order_by("email")[:4])
    writer, gate = busy_writer()
    futures = []
    for member in members:
        route = resolve(f"news-bounces+{verp_token(member.pk)}@lists.acme.test")
        incoming = make_incoming("", dsn(member.email))
        futures.append(writer.submit(lambda route=route, incoming=incoming: receive(route, incoming), lambda e: "451"))
    gate.set()
    answers = [future.result(10) for future in futures]
    writer.stop()
    assert all(answer.startswith("250") for answer in answers), answers
    assert calls == [4]
    assert sorted(BounceEvent.objects.values_list("email", flat=True)) == sorted(m.email for m in members)
