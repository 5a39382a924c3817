"""Members imports as background jobs: queued with their file, run by a worker (or a thread), polled.

The API and the console's upload page store the upload and answers at once; `run_job` does the import with
lists.importing (all-or-nothing) and records progress where another process can read it while
the import runs: progress is written through a second database connection, because the
import's own connection is inside its transaction until the end.
"""

from __future__ import annotations

import codecs
import io
import logging
import threading
import time
from datetime import timedelta

from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput, PoplistError
from poplist.lists.importing import KEPT_REJECTIONS, Rejection, import_members
from poplist.lists.models import ImportJob, MailingList

log = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # ~4 million CSV rows; larger files go through `poplist members import`
STALE_AFTER = timedelta(minutes=30)  # a running job not finished by then died with its process
PROGRESS_EVERY = 0.5  # seconds between progress writes


def queue_import(
    mailing_list: MailingList,
    data: bytes,
    *,
    source: str,
    mode: str = "direct",
    encoding: str = "utf-8",
    actor: str = "",
) -> ImportJob:
    """Store an import to run; refuses what would fail at once (mode, encoding, size)."""
    if mode not in {"direct", "confirm"}:
        raise InvalidInput(_("Unknown import mode %(mode)s (direct or confirm)."), mode=mode)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InvalidInput(_("Unknown encoding %(encoding)s."), encoding=encoding) from None
    check_size(len(data))
    return ImportJob.objects.create(
        mailing_list=mailing_list,
        source=source[:500],
        mode=mode,
        encoding=encoding,
        actor=actor,
        data=data,
        size=len(data),
    )


def queue_upload(
    mailing_list: MailingList,
    upload,
    *,
    source: str,
    mode: str = "direct",
    encoding: str = "utf-8",
    actor: str = "",
) -> ImportJob:
    """An uploaded file (Django's UploadedFile, from a page or the API) queued and started once committed."""
    check_size(upload.size or 0)  # before reading it into memory
    job = queue_import(
        mailing_list, b"".join(upload.chunks()), source=source, mode=mode, encoding=encoding, actor=actor
    )
    start_soon(job)
    return job


def get_job(mailing_list: MailingList, job_id: int) -> ImportJob:
    """One of the list's imports, without its file (NotFound for another list's)."""
    from poplist.core.errors import NotFound

    job = ImportJob.objects.filter(mailing_list=mailing_list, pk=job_id).select_related("run").defer("data").first()
    if job is None:
        raise NotFound(_("There is no such import."))
    return job


def recent_jobs(mailing_list: MailingList, count: int = 10) -> list[ImportJob]:
    return list(ImportJob.objects.filter(mailing_list=mailing_list).defer("data").order_by("-pk")[:count])


def check_size(size: int) -> None:
    if size > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            _("The file is larger than %(mb)s MB; import it with poplist members import."),
            mb=MAX_UPLOAD_BYTES // 1024 // 1024,
        )


def start_soon(job: ImportJob) -> None:
    """Run the job in a thread of this process once the current transaction commits (a worker would too)."""

    def start() -> None:
        threading.Thread(target=_run_in_thread, args=(job.pk,), name=f"import-{job.pk}", daemon=True).start()

    transaction.on_commit(start)


def _run_in_thread(job_id: int) -> None:
    try:
        run_job(job_id)
    except Exception:
        log.exception("import job %s failed", job_id)
    finally:
        connection.close()


def run_queued_imports() -> int:
    """The worker's task: run the oldest queued job (and requeue jobs whose process died). Returns jobs run."""
    ImportJob.objects.filter(state=ImportJob.State.RUNNING, started_at__lt=timezone.now() - STALE_AFTER).update(
        state=ImportJob.State.QUEUED
    )
    job_id = ImportJob.objects.filter(state=ImportJob.State.QUEUED).order_by("id").values_list("id", flat=True).first()
    if job_id is None:
        return 0
    return 1 if run_job(job_id) else 0


def run_job(job_id: int) -> bool:
    """Claim the job and run it; False when another process claimed it first."""
    claimed = ImportJob.objects.filter(pk=job_id, state=ImportJob.State.QUEUED).update(
        state=ImportJob.State.RUNNING, started_at=timezone.now(), bytes_done=0
    )
    if not claimed:
        return False
    job = ImportJob.objects.select_related("mailing_list__tenant", "mailing_list__domain").get(pk=job_id)
    rejections: list[dict] = []
    progress = _Progress(job.pk)

    def rejected(rejection: Rejection) -> None:
        if len(rejections) < KEPT_REJECTIONS:
            rejections.append({"line": rejection.line, "text": rejection.text, "reason": rejection.reason})

    try:
        report = import_members(
            job.mailing_list,
            io.BytesIO(bytes(job.data)),
            source=job.source,
            mode=job.mode,
            actor=job.actor,
            encoding=job.encoding,
            on_reject=rejected,
            on_progress=progress.update,
        )
    except PoplistError as exc:
        _finish(job, ImportJob.State.FAILED, rejections, error=str(exc))
        return True
    except Exception:
        log.exception("import job %s failed", job_id)
        _finish(job, ImportJob.State.FAILED, rejections, error="internal error; nothing was imported")
        return True
    finally:
        progress.close()
    job.run_id = report.run_id
    _finish(job, ImportJob.State.DONE, rejections)
    return True


def _finish(job: ImportJob, state: str, rejections: list[dict], error: str = "") -> None:
    job.state = state
    job.rejections = rejections
    job.error = error
    job.data = b""
    job.bytes_done = job.size if state == ImportJob.State.DONE else job.bytes_done
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "rejections", "error", "data", "bytes_done", "finished_at", "run"])


class _Progress:
    """Writes bytes_done at most every PROGRESS_EVERY seconds, visible to pollers while the import runs."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last = 0.0
        # Inside a caller's transaction nobody else could see progress anyway (and a second
        # connection could not see the job): then none is written. Never through the import's
        # own connection: on PostgreSQL it is busy with a COPY.
        self.side = None if connection.in_atomic_block else connections.create_connection("default")

    def update(self, done: int) -> None:
        now = time.monotonic()
        if self.side is None or now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        with self.side.cursor() as cursor:
            cursor.execute(f"UPDATE {ImportJob._meta.db_table} SET bytes_done = %s WHERE id = %s", [done, self.job_id])

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
