"""REST endpoints for CSV imports of members: upload, then poll the job (mounted by lists/api.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Path, Query, Router, Schema, UploadedFile

from poplist.api.pagination import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, Page, paginate
from poplist.api.scope import actor
from poplist.core.errors import NotFound
from poplist.lists import import_jobs
from poplist.lists.models import ImportJob

router = Router(tags=["lists"])


class RejectionOut(Schema):
    line: int
    text: str
    reason: str


class ImportOut(Schema):
    id: int
    state: str
    source: str
    mode: str
    size: int
    bytes_done: int
    progress: float
    rows: int | None
    added: int | None
    invited: int | None
    skipped_existing: int | None
    skipped_suppressed: int | None
    rejected: int | None
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportDetail(ImportOut):
    rejections: list[RejectionOut]


def _row(job: ImportJob, *, rejections: bool = False) -> dict:
    run = job.run
    counts = ("rows", "added", "invited", "skipped_existing", "skipped_suppressed", "rejected")
    row = {
        "id": job.pk,
        "state": job.state,
        "source": job.source,
        "mode": job.mode,
        "size": job.size,
        "bytes_done": job.bytes_done,
        "progress": round(job.bytes_done / job.size, 4) if job.size else 1.0,
        **{key: getattr(run, key) if run else None for key in counts},
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
    if rejections:
        row["rejections"] = job.rejections
    return row


def _jobs(mailing_list):
    return ImportJob.objects.filter(mailing_list=mailing_list).select_related("run").defer("data")


@router.post("/{address}/imports", response={202: ImportDetail}, summary="Upload a CSV of members; poll the job")
def create_import(
    request,
    address: str,
    file: UploadedFile = File(..., description="CSV with an email column, addresses, or Name <address> lines"),
    mode: Form[Literal["direct", "confirm"]] = "direct",
    encoding: Form[str] = "utf-8",
):
    from poplist.lists.api import writable_list

    mailing_list = writable_list(request, address)
    job = import_jobs.queue_upload(
        mailing_list, file, source=file.name or "upload", mode=mode, encoding=encoding, actor=actor(request)
    )
    return 202, _row(job, rejections=True)


@router.get("/{address}/imports", response=Page[ImportOut], summary="The list's imports, newest first")
def list_imports(
    request, address: str, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
):
    from poplist.lists.api import visible_list

    page = paginate(_jobs(visible_list(request, address)), order=("-id",), cursor=cursor, limit=limit)
    page["items"] = [_row(job) for job in page["items"]]
    return page


@router.get(
    "/{address}/imports/{import_id}", response=ImportDetail, summary="An import's state, counts and rejected rows"
)
def get_import(request, address: str, import_id: int = Path(..., ge=1, le=MAX_ID)):
    from poplist.lists.api import visible_list

    job = _jobs(visible_list(request, address)).filter(pk=import_id).first()
    if job is None:
        raise NotFound(_("There is no import %(id)s for this list."), id=import_id)
    return _row(job, rejections=True)
