"""`poplist import-from SYSTEM …`: bring a list from Mailman 2 or 3, Sympa, listmonk, Mailchimp or Google Groups."""

from __future__ import annotations

from pathlib import Path

import click
from django.db import transaction

from poplist.accounts.services import get_tenant
from poplist.core.cli import emit, group, json_option
from poplist.lists.services import get_list
from poplist.portability import deferred, queries, services
from poplist.portability.importers import google_groups, listmonk, mailchimp, mailman2, mailman3, sympa
from poplist.portability.records import ImportReport, ListSource

PathArg = click.Path(exists=True, path_type=Path)
tenant_option = click.option("--tenant", "tenant_slug", required=True, help="The tenant the list will belong to.")
list_option = click.option(
    "--list", "address", default="", help="The list's address in Poplist (default: as in the source)."
)
merge_option = click.option(
    "--merge", is_flag=True, help="Import into a list that exists already (its settings are replaced)."
)
dry_run_option = click.option("--dry-run", is_flag=True, help="Read and check everything, report, write nothing.")


def common_options(function):
    """--tenant, --merge, --dry-run and --json, which every importer takes."""
    for option in reversed((tenant_option, merge_option, dry_run_option, json_option)):
        function = option(function)
    return function


@group("import-from")
def import_from() -> None:
    """Bring lists from the systems customers leave (see docs/importing.md)."""


def _run(
    tenant_slug: str, sources: list[ListSource], *, address: str, merge: bool, dry_run: bool, as_json: bool
) -> None:
    tenant = get_tenant(tenant_slug)
    reports = []
    for source in sources:
        if dry_run:
            with transaction.atomic():
                report = services.import_list(tenant, source, address=address, actor="cli", merge=merge)
                transaction.set_rollback(True)
            report.notes.append("dry run: nothing was written")
        else:
            report = services.import_list(tenant, source, address=address, actor="cli", merge=merge)
        reports.append(report)
    emit([r.as_dict() for r in reports], as_json, lambda _data: [line for r in reports for line in _summary(r)])


def _summary(report: ImportReport) -> list[str]:
    verb = "created" if report.created else "updated"
    lines = [f"{verb} {report.address} from {report.system} list {report.source_list}"]
    lines += [f"  {key}: {value}" for key, value in sorted(report.counts.items())]
    lines.append(f"  settings mapped: {len(report.mapped)}")
    for item in report.mapped:
        lines.append(f"    {item['source']} -> {item['target']} = {item['value']!s}"[:160])
    if report.deferred:
        lines.append("  kept for later (docs/importing.md, 'Kept for later'):")
        lines += [f"    {d['key']} ({d['count']}) from {d['source']}" for d in report.deferred]
    if report.unmapped:
        lines.append(f"  not mapped: {len(report.unmapped)}")
        lines += [f"    {u['source']}: {u['reason']}" for u in report.unmapped]
    if report.rejections:
        lines.append(f"  rejected: {report.counts.get('rejected', 0)}")
        lines += [f"    {r['what']} {r['value']}: {r['reason']}" for r in report.rejections[:50]]
    lines += [f"  note: {note}" for note in report.notes]
    return lines


@import_from.command("mailman2")
@click.argument("config_pck", type=PathArg)
@click.option("--archive", type=PathArg, help="The list's archive mbox (archives/private/LIST.mbox/LIST.mbox).")
@click.option(
    "--charset", default="", help="The charset of the list's texts (default: its language's, as Mailman 2.1 had it)."
)
@list_option
@common_options
def from_mailman2(
    config_pck: Path,
    archive: Path | None,
    charset: str,
    tenant_slug: str,
    address: str,
    merge: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """A Mailman 2.1 list: its config.pck (read safely) and archive."""
    source = mailman2.read(config_pck, archive=archive, address=address, charset=charset)
    _run(tenant_slug, [source], address=address, merge=merge, dry_run=dry_run, as_json=as_json)


@import_from.command("mailman3")
@click.option("--url", required=True, help="Mailman's REST API, e.g. http://localhost:8001/3.1")
@click.option("--user", default="restadmin", show_default=True)
@click.option(
    "--password",
    envvar="POPLIST_MAILMAN3_PASSWORD",
    required=True,
    help="The REST password (or POPLIST_MAILMAN3_PASSWORD).",
)
@click.option("--source-list", required=True, help="The list in Mailman: list@domain or its list id.")
@click.option("--archive", type=PathArg, help="HyperKitty's export of the list (LIST.mbox.gz).")
@list_option
@common_options
def from_mailman3(
    url: str,
    user: str,
    password: str,
    source_list: str,
    archive: Path | None,
    tenant_slug: str,
    address: str,
    merge: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """A list from a running Mailman 3, through its REST API."""
    source = mailman3.read(mailman3.Client(url, user, password), source_list, archive=archive, address=address)
    _run(tenant_slug, [source], address=address, merge=merge, dry_run=dry_run, as_json=as_json)


@import_from.command("sympa")
@click.argument("list_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--archive", type=PathArg, help="The list's archives: arc/LIST@DOMAIN, or an mbox.")
@list_option
@common_options
def from_sympa(
    list_dir: Path, archive: Path | None, tenant_slug: str, address: str, merge: bool, dry_run: bool, as_json: bool
) -> None:
    """A Sympa list's directory, after `sympa.pl --dump=LIST`."""
    source = sympa.read(list_dir, archive=archive, address=address)
    _run(tenant_slug, [source], address=address, merge=merge, dry_run=dry_run, as_json=as_json)


def _file_command(name: str, reader, help_text: str) -> click.Command:
    """listmonk and Mailchimp: one export file (or folder) into one list named with --list."""

    @import_from.command(name, help=help_text)
    @click.argument("export", type=PathArg)
    @click.option("--list", "address", required=True, help="The list's address in Poplist.")
    @common_options
    def command(export: Path, address: str, tenant_slug: str, merge: bool, dry_run: bool, as_json: bool) -> None:
        source = reader(export, address=address)
        _run(tenant_slug, [source], address=address, merge=merge, dry_run=dry_run, as_json=as_json)

    return command


from_listmonk = _file_command("listmonk", listmonk.read, "listmonk's subscriber CSV (or a ZIP of CSVs).")
from_mailchimp = _file_command("mailchimp", mailchimp.read, "A Mailchimp audience export ZIP (or its folder).")


@import_from.command("google-groups")
@click.argument("export", type=PathArg)
@click.option("--group", default="", help="Only this group of the export.")
@click.option("--domain", default="", help="Put each group at the same name in this domain.")
@list_option
@common_options
def from_google_groups(
    export: Path, group: str, domain: str, tenant_slug: str, address: str, merge: bool, dry_run: bool, as_json: bool
) -> None:
    """A Google Vault Groups export: one list per group (mbox files and group-membership.csv)."""
    sources = google_groups.read(export, group=group, address=address, domain=domain)
    _run(tenant_slug, sources, address="", merge=merge, dry_run=dry_run, as_json=as_json)


@import_from.command("report")
@click.argument("address")
@json_option
def report(address: str, as_json: bool) -> None:
    """What each import of a list mapped, and the settings kept for later."""
    mailing_list = get_list(address)
    data = {"runs": queries.migration_runs(mailing_list), "kept": queries.imported_settings(mailing_list)}

    def text(d: dict) -> list[str]:
        lines = []
        for run in d["runs"]:
            lines.append(f"run {run['id']} {run['started_at']:%Y-%m-%d %H:%M} from {run['system']}: {run['source']}")
            lines += [f"  {k}: {v}" for k, v in sorted(run["report"].get("counts", {}).items())]
        for kept in d["kept"]:
            state = f"applied {kept['applied_at']:%Y-%m-%d}" if kept["applied_at"] else "waiting"
            lines.append(f"kept {kept['key']} from {kept['system']} {kept['source_key']}: {state}")
        return lines or ["no import into this list"]

    emit(data, as_json, text)


@import_from.command("apply-pending")
@click.argument("address")
def apply_pending(address: str) -> None:
    """Apply the kept settings that Poplist can now apply (ban lists, sender and header filters…)."""
    applied = deferred.apply_pending(get_list(address))
    click.echo(f"applied: {', '.join(applied)}" if applied else "nothing to apply yet")


commands = [import_from]
