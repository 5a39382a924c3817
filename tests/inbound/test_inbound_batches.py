"""Group commit with bulk inserts, and archiving before the reply: nothing accepted is lost."""

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


def test_a_burst_in_one_batch_is_archived_and_threaded_with_its_jobs_and_a_failure_loses_only_its_rows(
    news, transactional_db
):
    from poplist.archive.models import ArchivedMessage, Thread
    from poplist.delivery.models import DeliveryJob, DigestItem
    from poplist.inbound import batch
    from poplist.inbound.models import PendingArchive
    from poplist.inbound.receive import make_incoming, receive
    from poplist.inbound.routing import resolve

    route = resolve("news@lists.acme.test")
    writer, gate = busy_writer()
    futures = []
    posts = [
        ("ann", "Picnic", ""),
        ("bob", "Re: Picnic", "In-Reply-To: <b0@example.org>"),  # answers a post of the same batch
        ("cyd", "Re: Re: Picnic", "References: <b0@example.org> <b1@example.org>"),
        ("dan", "RE: picnic", ""),  # a client that dropped References: joins by subject
        ("eve", "Budget", ""),
    ]
    for i, (name, subject, extra) in enumerate(posts):
        raw = make_message(sender=f"{name}@example.org", message_id=f"<b{i}@example.org>", subject=subject, extra=extra)
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
    jobs = {job.message_id: job.archived_id for job in DeliveryJob.objects.all()}
    assert sorted(jobs) == [f"<b{i}@example.org>" for i in range(5)]
    assert DigestItem.objects.count() == 5  # the broken message's queued row went with its savepoint
    archived = {m.message_id: m for m in ArchivedMessage.objects.select_related("parent", "thread")}
    assert {mid: m.pk for mid, m in archived.items()} == jobs  # each job points at its archive entry
    assert not PendingArchive.objects.exists()
    picnic = archived["<b0@example.org>"].thread
    assert {m.thread_id for mid, m in archived.items() if mid != "<b4@example.org>"} == {picnic.pk}
    assert archived["<b2@example.org>"].parent.message_id == "<b1@example.org>"
    assert archived["<b1@example.org>"].parent.message_id == "<b0@example.org>"
    assert {t.subject: t.message_count for t in Thread.objects.all()} == {"Picnic": 4, "Budget": 1}


def test_a_post_is_archived_before_250_and_a_reply_joins_its_parents_thread(news, lmtp):
    from poplist.archive.models import ArchivedMessage, Thread
    from poplist.delivery.models import DeliveryJob

    assert lmtp(make_message())[0] == 250
    assert ArchivedMessage.objects.get().message_id == "<m1@example.org>"  # no worker involved
    reply = make_message(subject="Re: Hello", message_id="<m2@example.org>", extra="In-Reply-To: <m1@example.org>")
    assert lmtp(reply, mail_from="bob@example.org")[0] == 250
    assert Thread.objects.get().message_count == 2
    child = ArchivedMessage.objects.get(message_id="<m2@example.org>")
    assert child.parent.message_id == "<m1@example.org>" and child.subject == "Re: Hello"
    assert DeliveryJob.objects.get(message_id="<m2@example.org>").archived_id == child.pk


def test_the_archive_keeps_the_author_and_the_authors_subject_of_a_rewritten_post(news, lmtp):
    from poplist.archive.models import ArchivedMessage
    from poplist.delivery.models import DeliveryJob
    from poplist.lists.services import update_settings

    update_settings(news, {"dmarc_mitigation": "always", "footer": "Leave: {{unsubscribe_url}}"})
    assert lmtp(make_message(body="Les vacances.\n"))[0] == 250
    archived = ArchivedMessage.objects.get()
    sent = bytes(DeliveryJob.objects.get().message)
    assert b"From: Ann via News <news@lists.acme.test>" in sent and b"Subject: [news] Hello" in sent
    assert bytes(archived.raw) == sent  # the bytes members got
    assert (archived.author_name, archived.author_email, archived.subject) == ("Ann", "ann@example.org", "Hello")
    assert archived.body_text.strip() == "Les vacances."  # searchable text without the footer


def test_an_archiving_failure_still_accepts_the_post_and_the_worker_archives_it_later(news, lmtp, monkeypatch):
    from poplist.archive.models import ArchivedMessage
    from poplist.delivery.models import DeliveryJob
    from poplist.inbound import accept, archiving
    from poplist.inbound.models import PendingArchive

    def failing(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(accept, "archive_entries", failing)
    assert lmtp(make_message())[0] == 250
    assert DeliveryJob.objects.get().message_id == "<m1@example.org>"  # members get it meanwhile
    assert PendingArchive.objects.get().message_id == "<m1@example.org>" and not ArchivedMessage.objects.exists()
    real = archiving.archive_message
    monkeypatch.setattr(archiving, "archive_message", failing)
    assert archiving.archive_pending() == 0
    assert PendingArchive.objects.get().attempts == 1
    monkeypatch.setattr(archiving, "archive_message", real)
    assert archiving.archive_pending() == 1
    assert ArchivedMessage.objects.get().message_id == "<m1@example.org>" and not PendingArchive.objects.exists()
    assert DeliveryJob.objects.get().archived_id == ArchivedMessage.objects.get().pk


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
