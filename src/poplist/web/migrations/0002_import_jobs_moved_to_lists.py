"""The console's CSV import jobs become lists.ImportJob rows (the API's), then web's own table goes.

Every row is kept: its file (until imported), progress, outcome and rejected rows. A job that
was pending or running is queued again (imports are idempotent: nothing is added twice), so a
worker finishes it. A finished job is joined to the ImportRun it produced, which holds its counts.
"""

from django.db import migrations

STATES = {"pending": "queued", "running": "queued", "done": "done", "failed": "failed"}


def copy_jobs(apps, schema_editor):
    WebJob = apps.get_model("web", "ImportJob")
    ListsJob = apps.get_model("lists", "ImportJob")
    ImportRun = apps.get_model("lists", "ImportRun")
    for old in WebJob.objects.order_by("pk").iterator(chunk_size=100):
        report = old.report or {}
        run = None
        if old.status == "done":
            runs = ImportRun.objects.filter(mailing_list_id=old.mailing_list_id, source=f"web:{old.filename}")
            if old.finished_at:
                runs = runs.filter(started_at__lte=old.finished_at)
            run = runs.order_by("-pk").first()
        ListsJob.objects.create(
            mailing_list_id=old.mailing_list_id,
            state=STATES.get(old.status, "failed"),
            source=old.filename[:500],
            mode=old.mode,
            actor=old.actor,
            data=bytes(old.data or b""),
            size=old.size,
            bytes_done=old.bytes_done if old.status in {"done", "failed"} else 0,
            run=run,
            rejections=[
                {"line": r.get("line", 0), "text": str(r.get("text", "")), "reason": str(r.get("reason", ""))}
                for r in report.get("rejections", [])
            ],
            error=old.error,
            created_at=old.created_at,
            started_at=old.claimed_at if old.status in {"done", "failed"} else None,
            finished_at=old.finished_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0001_initial"),
        ("lists", "0008_import_job_state_labels"),
    ]

    operations = [
        migrations.RunPython(copy_jobs, migrations.RunPython.noop),
        migrations.DeleteModel(name="ImportJob"),
    ]
