"""A misbehaving relay, a broken key, a bad address: nothing lost, nothing sent twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from poplist.accounts.services import set_tenant_status
from poplist.delivery import claims, engine, keys
from poplist.delivery.models import DeliveryJob, DeliveryRetry, DkimKey
from poplist.delivery.smtp import PooledTransport, parse_relays
from poplist.testing.counting_sink import Faults, fraction, run_counting_sink
from poplist.testing.fixtures_delivery import drain

pytestmark = pytest.mark.django_db(transaction=True)


def _pool(sink, timeout: float = 2.0, connections: int = 4) -> PooledTransport:
    return PooledTransport(parse_relays(f"{sink.url}&connections={connections}"), timeout=timeout)


def _retry_now() -> None:
    DeliveryRetry.objects.update(next_attempt_at=timezone.now())


def _drain_retries(transport, rounds: int = 20) -> None:
    for _ in range(rounds):
        _retry_now()
        if not engine.send_retries(transport):
            return


def test_421_connections_451_and_552_recipients(mailing_list, add_members, post_job):
    members = add_members(mailing_list, 300, domains=("example.com", "example.net"))
    refused = {m.email for m in members if fraction(m.email, 17)}
    later = {m.email for m in members if fraction(m.email, 3)} - refused
    tries: dict[str, int] = {}

    def rcpt(address: str) -> bytes | None:
        if address in refused:
            return b"552 5.2.2 mailbox full"
        if address in later and tries.setdefault(address, 0) < 1:
            tries[address] += 1
            return b"451 4.3.0 try again later"
        return None

    job = post_job(mailing_list)
    with run_counting_sink(faults=Faults(refuse_every=2, rcpt=rcpt)) as sink:
        transport = _pool(sink)
        try:
            drain(transport)
            job.refresh_from_db()
            assert job.status == DeliveryJob.Status.RUNNING  # copies wait for their retry
            assert (job.failed, job.deferred) == (len(refused), len(later))
            _drain_retries(transport)
        finally:
            transport.close()
        counts = dict(sink.counts)
    job.refresh_from_db()
    assert job.status == DeliveryJob.Status.DONE
    assert (job.sent, job.failed, job.deferred) == (300 - len(refused), len(refused), 0)
    assert {m.email for m in members} - set(counts) == refused
    assert set(counts.values()) == {1}  # nothing twice
    assert refused and later


@pytest.mark.parametrize("fault", ["drop", "hang"])
def test_connections_dropped_mid_data_or_hanging_are_retried_once(fault, mailing_list, add_members, post_job):
    members = add_members(mailing_list, 120)
    faults = Faults(drop_every=7) if fault == "drop" else Faults(hang_every=25)
    job = post_job(mailing_list)
    with run_counting_sink(faults=faults) as sink:
        transport = _pool(sink, timeout=0.5)
        try:
            drain(transport)
            assert DeliveryRetry.objects.filter(job=job).exists()
            sink.faults = Faults()
            _drain_retries(transport)
        finally:
            transport.close()
        counts = dict(sink.counts)
    job.refresh_from_db()
    assert (job.status, job.sent, job.failed) == ("done", 120, 0)
    assert sorted(counts) == sorted(m.email for m in members)
    assert set(counts.values()) == {1}


def test_an_address_the_relay_finds_invalid_fails_alone(mailing_list, add_members, post_job):
    add_members(mailing_list, 5)
    from poplist.lists.models import Member

    Member.objects.create(mailing_list=mailing_list, email="bad..dots@example.com", role="member")

    def rcpt(address: str) -> bytes | None:
        return b"553 5.1.3 bad address syntax" if ".." in address else None

    job = post_job(mailing_list)
    with run_counting_sink(faults=Faults(rcpt=rcpt)) as sink:
        transport = _pool(sink)
        try:
            drain(transport)
        finally:
            transport.close()
        assert len(sink.counts) == 5
    job.refresh_from_db()
    assert (job.status, job.sent, job.failed) == ("done", 5, 1)


@pytest.mark.parametrize("broken", ["corrupt", "missing"])
def test_a_broken_or_missing_key_stops_the_job_and_sends_nothing_unsigned(
    broken, mailing_list, add_members, post_job, monkeypatch
):
    add_members(mailing_list, 10)
    if broken == "corrupt":
        DkimKey.objects.create(
            domain="lists.acme.test", selector="s1", algorithm="rsa-sha256", private_key="-----BEGIN junk"
        )
    else:
        monkeypatch.setenv("POPLIST_DKIM_REQUIRED", "true")
    job = post_job(mailing_list)
    with run_counting_sink() as sink:
        transport = _pool(sink)
        try:
            drain(transport)
            job.refresh_from_db()
            assert (job.status, job.pause_reason) == ("paused", "dkim")
            assert "DKIM" in job.last_error and "lists.acme.test" in job.last_error
            assert sink.delivered == 0
            # Fixed: a good key, then resume; every member gets one signed copy.
            DkimKey.objects.all().delete()
            keys.generate("lists.acme.test")
            from poplist.delivery.jobs import resume

            resume(job.pk)
            drain(transport)
        finally:
            transport.close()
        assert sink.delivered == 10
    job.refresh_from_db()
    assert job.status == "done"


def test_a_relay_that_is_down_pauses_the_job_until_it_is_back(mailing_list, add_members, post_job):
    add_members(mailing_list, 30)
    job = post_job(mailing_list)
    with run_counting_sink() as sink:
        port = sink.port
    # Nothing listens on the port any more.
    dead = PooledTransport(parse_relays(f"smtp://127.0.0.1:{port}?starttls=no&connections=2"), timeout=1)
    try:
        drain(dead)
    finally:
        dead.close()
    job.refresh_from_db()
    assert (job.status, job.pause_reason, job.sent) == ("paused", "relay", 0)
    assert not DeliveryRetry.objects.exists()
    with run_counting_sink(port=port) as sink:
        transport = _pool(sink)
        try:
            DeliveryJob.objects.filter(pk=job.pk).update(resume_at=timezone.now() - timedelta(seconds=1))
            claims.sync_paused()
            drain(transport)
        finally:
            transport.close()
        assert sink.delivered == 30 and set(sink.counts.values()) == {1}


def test_a_suspended_tenant_sends_nothing_until_reactivated(tenant, mailing_list, add_members, post_job):
    add_members(mailing_list, 8)
    job = post_job(mailing_list)
    set_tenant_status(tenant, "suspended", "unpaid")
    claims.sync_paused()
    with run_counting_sink() as sink:
        transport = _pool(sink)
        try:
            drain(transport)
            job.refresh_from_db()
            assert (job.status, job.pause_reason, sink.delivered) == ("paused", "suspended", 0)
            set_tenant_status(tenant, "active")
            claims.sync_paused()
            drain(transport)
        finally:
            transport.close()
        assert sink.delivered == 8
    job.refresh_from_db()
    assert job.status == "done"
