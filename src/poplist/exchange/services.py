"""Export tenants to the open format, import an export into this instance, and self-service downloads."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist import config
from poplist.accounts.models import Domain, Tenant, User
from poplist.core.errors import Conflict, InvalidInput, NotFound, PoplistError
from poplist.exchange import packing
from poplist.exchange.format import Reader, Writer, safe_name
from poplist.exchange.models import this_instance
from poplist.exchange.records import ModelSpec, export_rows, to_values
from poplist.exchange.registry import ImportContext, sections

TENANT = ModelSpec(Tenant, "tenant.jsonl", lambda t: Tenant.objects.filter(pk=t.pk), exclude={"slug"})
Tick = Callable[[], None]


class Gone(PoplistError):
    http_status = 410
    code = "gone"


def tenant_folder(slug: str) -> str:
    return f"tenants/{safe_name(slug)}"


def estimate(tenants: list[Tenant]) -> int:
    """Records an export of these tenants will write (for progress bars)."""
    return sum(1 + sum(s.count(t) for s in sections()) for t in tenants)


def export(
    out: Path, tenants: list[Tenant] | None = None, *, include_secrets: bool = False, on_record: Tick | None = None
) -> dict[str, Any]:
    """Write the export of `tenants` (default: every tenant) to `out`: a folder, or a .tar[.gz|.xz|.zst] file."""
    scope = "instance" if tenants is None else "tenant"
    tenants = list(Tenant.objects.order_by("slug")) if tenants is None else tenants
    kind = packing.archive_kind(out)
    if kind is None:
        return _export_folder(out, tenants, scope, include_secrets, on_record)
    if out.exists():
        raise Conflict(_("%(path)s exists already."), path=str(out))
    with tempfile.TemporaryDirectory(prefix=".poplist-export-", dir=out.parent) as tmp:
        manifest = _export_folder(Path(tmp) / "export", tenants, scope, include_secrets, on_record)
        partial = out.with_name(out.name + ".partial")
        with open(partial, "wb") as handle:
            packing.pack(Path(tmp) / "export", handle, kind)
        partial.rename(out)  # never a half-written archive under the final name
    return manifest


def _export_folder(
    root: Path, tenants: list[Tenant], scope: str, include_secrets: bool, on_record: Tick | None
) -> dict[str, Any]:
    writer = Writer(root, include_secrets=include_secrets, on_record=on_record)
    # One snapshot per tenant: on PostgreSQL a repeatable-read transaction, on SQLite the WAL read snapshot.
    for tenant in tenants:
        folder = tenant_folder(tenant.slug)
        with read_snapshot():
            for record in export_rows(TENANT, tenant, include_secrets):
                writer.record(f"{folder}/tenant.jsonl", {"slug": tenant.slug, **record})
            for section in sections():
                section.export(writer, tenant, folder)
        counts = {
            path.removeprefix(folder + "/"): f.records
            for path, f in writer.files.items()
            if path.startswith(folder + "/")
        }
        writer.tenants.append({"slug": tenant.slug, "folder": folder, "counts": dict(sorted(counts.items()))})
    return writer.close(instance=this_instance().uuid, scope=scope)


@contextmanager
def read_snapshot():
    """Every read inside sees one moment, and no writer waits: a repeatable-read transaction on PostgreSQL,
    a DEFERRED (read) transaction on SQLite (Django's atomic() would BEGIN IMMEDIATE and hold the write lock)."""
    if connection.in_atomic_block:
        yield  # already inside a transaction (a test, a caller's own): it is the snapshot
        return
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")


@dataclass
class ImportResult:
    tenants: list[dict[str, Any]] = field(default_factory=list)


def import_export(
    source: Path,
    *,
    renames: dict[str, str] | None = None,
    on_record: Tick | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> ImportResult:
    """Check every checksum, then import each tenant of the export in its own transaction (all or nothing)."""
    renames = dict(renames or {})
    if not source.exists():
        raise NotFound(_("%(path)s does not exist."), path=str(source))
    kind = packing.archive_kind(source) if source.is_file() else None
    if source.is_file() and kind is None:
        raise InvalidInput(
            _("%(path)s is neither an export folder nor a .tar, .tar.gz, .tar.xz or .tar.zst."), path=str(source)
        )
    if kind is None:
        return _import_folder(source, renames, on_record, on_bytes)
    with tempfile.TemporaryDirectory(prefix=".poplist-import-", dir=config.data_dir()) as tmp:
        packing.unpack(source, Path(tmp), kind)
        return _import_folder(Path(tmp), renames, on_record, on_bytes)


def _import_folder(root: Path, renames: dict[str, str], on_record: Tick | None, on_bytes) -> ImportResult:
    reader = Reader(root)
    reader.verify(on_bytes)
    entries = reader.manifest.get("tenants") or []
    slugs = [str(entry.get("slug")) for entry in entries]
    for old in renames:
        if old not in slugs:
            raise InvalidInput(_("The export has no tenant %(slug)s to rename."), slug=old)
    result = ImportResult()
    for entry, slug in zip(entries, slugs, strict=True):
        folder = tenant_folder(slug)
        if entry.get("folder", folder) != folder:
            raise InvalidInput(_("The manifest names an unexpected folder for tenant %(slug)s."), slug=slug)
        new_slug = renames.get(slug, slug)
        _check_free(reader, folder, new_slug)
        with transaction.atomic():
            tenant = _create_tenant(reader, folder, new_slug)
            ctx = ImportContext(tenant=tenant, old_slug=slug, on_record=on_record)
            for section in sections():
                section.import_(reader, folder, ctx)
        result.tenants.append({"slug": new_slug, "from": slug, "counts": dict(sorted(ctx.counts.items()))})
    return result


def _check_free(reader: Reader, folder: str, slug: str) -> None:
    """Refuse before writing anything when a tenant, domain or user of the export exists here already."""
    if Tenant.objects.filter(slug=slug).exists():
        raise Conflict(
            _("Tenant %(slug)s exists here already; import it under another name with --tenant-rename %(slug)s=NEW."),
            slug=slug,
        )
    for record in reader.records(f"{folder}/domains.jsonl"):
        if Domain.objects.filter(name=record.get("name")).exists():
            raise Conflict(_("The domain %(name)s belongs to a tenant of this instance already."), name=record["name"])
    for record in reader.records(f"{folder}/users.jsonl"):
        if User.objects.filter(email=record.get("email")).exists():
            raise Conflict(_("The user %(email)s exists on this instance already."), email=record["email"])


def _create_tenant(reader: Reader, folder: str, slug: str) -> Tenant:
    path = f"{folder}/tenant.jsonl"
    records = list(reader.records(path))
    if len(records) != 1:
        raise InvalidInput(_("%(path)s must hold exactly one tenant."), path=path)
    return Tenant.objects.create(slug=slug, **to_values(TENANT, records[0], path))


# --- Self-service ------------------------------------------------------------------------------


def retention_days() -> int:
    return int(config.get("export_retention_days"))


def check_downloadable(tenant: Tenant) -> None:
    """Active and suspended tenants may always download; a closed one until its retention period ends."""
    if tenant.status != Tenant.Status.CLOSED:
        return
    until = (tenant.status_changed_at or tenant.created_at) + timedelta(days=retention_days())
    if timezone.now() > until:
        raise Gone(_("This tenant was closed and its data was kept until %(date)s."), date=until.date().isoformat())


def download_name(tenant: Tenant) -> str:
    return f"poplist-{tenant.slug}-{timezone.now():%Y%m%d-%H%M%S}.tar.gz"


def tenant_archive(tenant: Tenant) -> IO[bytes]:
    """The tenant's complete export as an anonymous .tar.gz temporary file, positioned at its start."""
    check_downloadable(tenant)
    handle = tempfile.TemporaryFile(dir=config.data_dir())  # noqa: SIM115 - the response closes it
    tmp = Path(tempfile.mkdtemp(prefix=".poplist-export-", dir=config.data_dir()))
    try:
        _export_folder(tmp / "export", [tenant], "tenant", False, None)
        packing.pack(tmp / "export", handle, "gz")
    except BaseException:
        handle.close()
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    handle.seek(0)
    return handle
