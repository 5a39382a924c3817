"""web/0002: the console's old import jobs become lists.ImportJob rows, none lost, then web's table goes."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("web", "0001_initial"), ("lists", "0008_import_job_state_labels")]
AFTER = [("web", "0002_import_jobs_moved_to_lists")]


@pytest.mark.django_db(transaction=True)
def test_old_console_jobs_are_kept_as_list_import_jobs(mailing_list):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    WebJob, Run = old.get_model("web", "ImportJob"), old.get_model("lists", "ImportRun")
    run = Run.objects.create(mailing_list_id=mailing_list.pk, source="web:done.csv", sha256="x", mode="direct", added=2)
    now = timezone.now()  # the job finished after its run started
    common = {"tenant_id": mailing_list.tenant_id, "mailing_list_id": mailing_list.pk, "actor": "o@acme.test"}
    WebJob.objects.create(
        **common,
        filename="done.csv",
        size=10,
        bytes_done=10,
        status="done",
        finished_at=now,
        claimed_at=now,
        report={"added": 2, "rejections": [{"line": 3, "text": "broken@", "reason": "no domain"}]},
    )
    WebJob.objects.create(
        **common,
        filename="waiting.csv",
        data=b"ann@example.org\n",
        size=16,
        bytes_done=4,
        status="running",
        claimed_at=now,
    )
    WebJob.objects.create(**common, filename="bad.csv", status="failed", error="not UTF-8", finished_at=now)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    from poplist.lists.models import ImportJob

    jobs = {job.source: job for job in ImportJob.objects.all()}
    assert set(jobs) == {"done.csv", "waiting.csv", "bad.csv"}
    done, waiting, bad = jobs["done.csv"], jobs["waiting.csv"], jobs["bad.csv"]
    assert (done.state, done.run_id, done.rejections[0]["text"], done.actor) == (
        "done",
        run.pk,
        "broken@",
        "o@acme.test",
    )
    assert (waiting.state, bytes(waiting.data), waiting.bytes_done) == ("queued", b"ann@example.org\n", 0)
    assert (bad.state, bad.error) == ("failed", "not UTF-8")
    assert "web_importjob" not in connection.introspection.table_names()

    from poplist.lists.import_jobs import run_queued_imports
    from poplist.lists.models import Member

    assert run_queued_imports() == 1  # the interrupted one is finished by the worker
    assert Member.objects.filter(email="ann@example.org", role="member").exists()
