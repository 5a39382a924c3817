# Console uploads become lists.ImportJob rows, like the API's: one table, one runner, one worker task.

from django.db import migrations

STATES = {"pending": "queued", "running": "queued", "done": "done", "failed": "failed"}


def move_jobs(apps, schema_editor):
    """Every console job moves over; one not finished is queued again (imports are idempotent), with its file."""
    WebJob = apps.get_model("web", "ImportJob")
    ListJob = apps.get_model("lists", "ImportJob")
    for job in WebJob.objects.order_by("pk").iterator():
        report = job.report or {}
        ListJob.objects.create(
            mailing_list_id=job.mailing_list_id,
            state=STATES.get(job.status, "queued"),
            source=("web:" + job.filename)[:500],
            mode=job.mode,
            actor=job.actor,
            data=bytes(job.data) if job.status in ("pending", "running") else b"",
            size=job.size,
            bytes_done=job.bytes_done if job.status == "done" else 0,
            rejections=report.get("rejections", []),
            error=job.error,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0001_initial"),
        ("lists", "0004_api_importjob"),
    ]

    operations = [
        migrations.RunPython(move_jobs, migrations.RunPython.noop),
        migrations.DeleteModel(name="ImportJob"),
    ]
