"""kill -9 a worker at random moments during a job: every member gets the post, duplicates stay bounded."""

from __future__ import annotations

import random
import time

import pytest

from poplist.delivery import keys
from poplist.delivery.models import DeliveryJob
from poplist.testing.counting_sink import run_counting_sink

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WINDOW = 40


def _status(job: DeliveryJob) -> str:
    return DeliveryJob.objects.values_list("status", flat=True).get(pk=job.pk)


def test_killing_workers_loses_nothing_and_doubles_at_most_one_window_per_kill(
    mailing_list, add_members, post_job, start_worker
):
    members = add_members(mailing_list, 4000, domains=("example.com", "example.net", "example.org"))
    keys.generate("lists.acme.test")
    job = post_job(mailing_list)
    rng = random.Random(4)
    kills = 0
    with run_counting_sink() as sink:
        env = {
            "POPLIST_RELAY": f"{sink.url}&connections=4",
            "POPLIST_DELIVERY_WINDOW": str(WINDOW),
            "POPLIST_DELIVERY_BATCH": "300",
            "POPLIST_DELIVERY_LEASE": "2",
            "POPLIST_SMTP_TIMEOUT": "1",
        }
        deadline = time.monotonic() + 240
        while _status(job) != DeliveryJob.Status.DONE and time.monotonic() < deadline:
            before = sink.delivered
            workers = [start_worker(**env) for _ in range(1 if kills % 2 else 2)]
            if kills >= 8:  # enough: let the last ones finish the job
                while _status(job) != DeliveryJob.Status.DONE and time.monotonic() < deadline:
                    time.sleep(0.2)
                break
            # Wait until they send (start-up takes a second or more), then kill at a random moment.
            while sink.delivered == before and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.5))
            for worker in workers:
                worker.kill()  # SIGKILL: no clean-up of any kind
                worker.wait(10)
            kills += len(workers)
        assert _status(job) == DeliveryJob.Status.DONE
        time.sleep(0.2)
        counts = dict(sink.counts)

    missing = [m.email for m in members if counts.get(m.email, 0) == 0]
    assert missing == []
    duplicates = sum(n - 1 for n in counts.values())
    print("kills", kills, "duplicates", duplicates, "copies", sum(counts.values()))
    assert duplicates <= kills * WINDOW, (duplicates, kills)
    job.refresh_from_db()
    assert job.sent >= len(members) and job.failed == 0
    assert kills >= 8
