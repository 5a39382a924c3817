"""CSV imports from the console: the upload is stored, then imported in a thread that reports progress.

The import itself is `lists.importing.import_members` (one all-or-nothing move at the end).
Progress is written by a second connection every half second, so the page can show it while
the import's own connection holds its transaction. A job left `running` by a dead process is
taken again by `resume_stale_jobs` (a worker task): the import is idempotent, nothing is added twice.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from datetime import timedelta

from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput, PoplistError, QuotaExceeded
from poplist.lists import importing
from poplist.lists.models import MailingList
from poplist.web.models import ImportJob

log = logging.getLogger(__name__)
MAX_UPLOAD = 512 * 1024 * 1024
STALE_AFTER = timedelta(minutes=10)


def create_job(mailing_list: MailingList, upload, *, mode: str, actor: str) -> ImportJob:
    """Store an uploaded file as a job (committed before the page answers)."""
    if mode not in {"direct", "confirm"}:
        raise InvalidInput(_("Unknown import mode %(mode)s (direct or confirm)."), mode=mode)
    if upload is None:
        raise InvalidInput(_("Choose a file to import."))
    if upload.size > MAX_UPLOAD:
        raise InvalidInput(_("The file is larger than %(n)s MB; import it with the command line."), n=512)
    data = b"".join(upload.chunks())
    return ImportJob.objects.create(
        tenant_id=mailing_list.tenant_id,
        mailing_list=mailing_list,
        actor=actor,
        filename=(upload.name or "upload.csv")[:255],
        mode=mode,
        data=data,
        size=len(data),
    )


def start(job: ImportJob, *, background: bool = True) -> None:
    """Run the job now, in a thread unless `background` is false (tests, the worker)."""
    if not background:
        run(job.pk)
        return
    # The job row must be visible to the thread's own connection.
    transaction.on_commit(lambda: threading.Thread(target=_thread_main, args=(job.pk,), daemon=True).start())


def _thread_main(job_id: int) -> None:
    close_old_connections()
    try:
        run(job_id)
    finally:
        connection.close()


class _Progress:
    """Keeps the latest byte count; a ticker thread writes it with its own connection."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.done = 0
        self.phase = "reading"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._tick, daemon=True)

    def update(self, done: int) -> None:
        self.done = done
        if self.phase == "reading" and done and done >= self.size:
            self.phase = "saving"

    def _tick(self) -> None:
        try:
            while not self.stop.wait(0.5):
                ImportJob.objects.filter(pk=self.job_id).update(bytes_done=self.done, phase=self.phase)
        except Exception:  # progress is advisory; the import's result is written by the import itself
            log.exception("import progress for job %s", self.job_id)
        finally:
            connection.close()


def run(job_id: int) -> ImportJob:
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.RUNNING, claimed_at=timezone.now(), phase="reading"
    )
    job = ImportJob.objects.select_related("mailing_list__tenant").get(pk=job_id)
    if not claimed:
        return job
    progress = _Progress(job_id)
    progress.size = job.size
    progress.thread.start()
    started = time.monotonic()
    try:
        report = importing.import_members(
            job.mailing_list,
            io.BytesIO(bytes(job.data)),
            source=f"web:{job.filename}",
            mode=job.mode,
            actor=job.actor,
            on_progress=progress.update,
        )
    except (InvalidInput, QuotaExceeded, PoplistError) as exc:
        _finish(job, progress, status=ImportJob.Status.FAILED, error=str(exc))
    except Exception as exc:  # a bug: the job says so instead of staying "running" forever
        log.exception("import job %s", job_id)
        _finish(job, progress, status=ImportJob.Status.FAILED, error=f"{type(exc).__name__}")
    else:
        _finish(
            job,
            progress,
            status=ImportJob.Status.DONE,
            report={
                "rows": report.rows,
                "added": report.added,
                "invited": report.invited,
                "skipped_existing": report.skipped_existing,
                "skipped_suppressed": report.skipped_suppressed,
                "rejected": report.rejected,
                "rejections": [
                    {"line": r.line, "text": r.text[:300], "reason": str(r.reason)} for r in report.rejections
                ],
                "seconds": round(time.monotonic() - started, 2),
            },
        )
    job.refresh_from_db()
    return job


def _finish(job: ImportJob, progress: _Progress, *, status: str, error: str = "", report: dict | None = None) -> None:
    progress.stop.set()
    progress.thread.join(timeout=5)
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        error=error,
        report=report or {},
        bytes_done=job.size if status == ImportJob.Status.DONE else progress.done,
        phase="",
        data=b"",
        finished_at=timezone.now(),
    )


def resume_stale_jobs() -> int:
    """Jobs left pending or running by a process that died: run them again (imports are idempotent)."""
    limit = timezone.now() - STALE_AFTER
    stale = list(
        ImportJob.objects.filter(status=ImportJob.Status.RUNNING, claimed_at__lt=limit).values_list("pk", flat=True)
    )
    ImportJob.objects.filter(pk__in=stale).update(status=ImportJob.Status.PENDING)
    waiting = list(
        ImportJob.objects.filter(status=ImportJob.Status.PENDING, created_at__lt=timezone.now() - timedelta(minutes=1))
        .order_by("pk")
        .values_list("pk", flat=True)[:5]
    )
    for job_id in waiting:
        run(job_id)
    return len(waiting)


def get_job(mailing_list: MailingList, job_id: int) -> ImportJob:
    from poplist.core.errors import NotFound

    try:
        return ImportJob.objects.defer("data").get(mailing_list=mailing_list, pk=job_id)
    except ImportJob.DoesNotExist:
        raise NotFound(_("There is no such import.")) from None
