"""`poplist export` and `poplist import`: the open export format (docs/export-format.md)."""

from __future__ import annotations

from pathlib import Path

import click
from django.utils.translation import gettext_lazy as _

from poplist.accounts.services import get_tenant
from poplist.core.cli import Progress, emit, group, json_option
from poplist.core.errors import InvalidInput
from poplist.exchange import services


@click.command("export")
@click.option("--tenant", "slugs", multiple=True, help="Export only this tenant (repeatable). Default: every tenant.")
@click.option("--include-secrets", is_flag=True, help="Also export password hashes and DKIM private keys.")
@json_option
@click.argument("out", type=click.Path(path_type=Path))
def export_command(slugs: tuple[str, ...], include_secrets: bool, as_json: bool, out: Path) -> None:
    """Write an export to OUT: a new folder, or a .tar, .tar.gz, .tar.xz or .tar.zst file."""
    tenants = [get_tenant(slug) for slug in slugs] or None
    total = services.estimate(tenants if tenants is not None else list(_all_tenants()))
    with Progress(total, "exporting") as bar:
        manifest = services.export(
            out, tenants, include_secrets=include_secrets, on_record=lambda: bar.update_to(bar.done + 1)
        )
    emit(
        {"out": str(out), "tenants": manifest["tenants"], "files": len(manifest["files"])},
        as_json,
        lambda data: [f"exported {t['slug']}: {_counts(t['counts'])}" for t in data["tenants"]] + [f"to {out}"],
    )


@click.command("import")
@click.option("--tenant-rename", "renames", multiple=True, metavar="OLD=NEW", help="Import tenant OLD as NEW.")
@json_option
@click.argument("source", type=click.Path(path_type=Path))
def import_command(renames: tuple[str, ...], as_json: bool, source: Path) -> None:
    """Import an export (folder or tar): every checksum is checked first; each tenant comes in whole or not at all."""
    mapping = {}
    for item in renames:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise InvalidInput(_("--tenant-rename takes OLD=NEW, not %(value)s."), value=item)
        mapping[old] = new
    with Progress(None, "importing") as bar:
        result = services.import_export(source, renames=mapping, on_record=lambda: bar.update_to(bar.done + 1))
    emit(
        result.tenants,
        as_json,
        lambda data: [f"imported {t['slug']} (from {t['from']}): {_counts(t['counts'])}" for t in data],
    )


def _all_tenants():
    from poplist.accounts.models import Tenant

    return Tenant.objects.order_by("slug")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k.removesuffix('.jsonl')} {v}" for k, v in counts.items() if v and "/" not in k) or "empty"


@group("standby")
def standby() -> None:
    """A live standby on another provider: follow a primary's change feed, and promote (docs/exchange.md)."""


@standby.command("enable")
def standby_enable() -> None:
    """On the primary: log every change so that standbys can follow (re-run is harmless)."""
    from poplist.exchange import changelog

    click.echo(f"change feed enabled on {changelog.install()} tables")


@standby.command("follow")
@click.argument("primary_url")
@click.option(
    "--token",
    envvar="POPLIST_STANDBY_TOKEN",
    required=True,
    help="An API token of the primary: host-wide (the whole instance) or a tenant's (that tenant only).",
)
@click.option("--tenant", default=None, help="Follow only this tenant's data (default: as the token allows).")
@click.option("--poll", default=0.2, show_default=True, help="Seconds between polls once caught up.")
def standby_follow(primary_url: str, token: str, tenant: str | None, poll: float) -> None:
    """Copy the primary (or one tenant of it), then follow it live until this instance is promoted."""
    from poplist.exchange import standby as service

    with Progress(None, "copying") as bar:
        service.follow(primary_url, token, poll=poll, tenant=tenant, on_rows=lambda n: bar.update_to(bar.done + n))
    click.echo("promoted: no longer following")


@standby.command("status")
@json_option
def standby_status(as_json: bool) -> None:
    """This instance's role and, on a standby, how far behind the primary it is."""
    from poplist.exchange import standby as service

    emit(service.status(), as_json, lambda data: [f"{k}: {v}" for k, v in data.items()])


@standby.command("promote")
@click.option("--token", envvar="POPLIST_STANDBY_TOKEN", default=None, help="Token it followed with: fence the old.")
@json_option
def standby_promote(token: str | None, as_json: bool) -> None:
    """Make this standby the primary (it stops following; start `poplist serve` to take the traffic)."""
    from poplist.exchange import standby as service

    emit(
        service.promote(token),
        as_json,
        lambda data: [f"promoted in {data['seconds']} s, epoch {data['epoch']}", f"old primary: {data['old_primary']}"],
    )


@standby.command("demote")
@click.argument("new_primary_url")
@click.option("--token", envvar="POPLIST_STANDBY_TOKEN", required=True, help="A host-wide token of the new primary.")
@click.option("--force", is_flag=True, help="Also when the new primary was not promoted from this node.")
@json_option
def standby_demote(new_primary_url: str, token: str, force: bool, as_json: bool) -> None:
    """On an old primary: save what the new one lacks, empty this node and make it a standby of NEW_PRIMARY_URL."""
    from poplist.exchange import failover

    emit(
        failover.demote(new_primary_url, token, force=force),
        as_json,
        lambda data: [
            f"demoted: now a standby of {data['primary']} (epoch {data['epoch']})",
            f"{data['diverged_changes']} changes the new primary lacks saved to {data['diverged_file']}",
            f"next: poplist standby follow {data['primary']}",
        ],
    )


@standby.command("prune")
@click.option("--keep", type=int, default=None, help="Changes to keep behind the slowest standby (default: setting).")
@json_option
def standby_prune(keep: int | None, as_json: bool) -> None:
    """Delete the changes every standby has acknowledged (the worker does it every minute)."""
    from poplist.exchange import pruning

    deleted = pruning.prune(keep)
    emit({"deleted": deleted, **pruning.log_size()}, as_json, lambda data: [f"{k}: {v}" for k, v in data.items()])


@group("mirror")
def mirror() -> None:
    """Another name for `poplist standby` (enable, follow, status, promote, demote, prune)."""


for _command in standby.commands.values():
    mirror.add_command(_command)

commands = [export_command, import_command, standby, mirror]
