"""`poplist list …` and `poplist members …`."""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import datetime

import click

from poplist.accounts.services import get_tenant
from poplist.core.cli import Progress, emit, group, json_option, table
from poplist.core.errors import InvalidInput
from poplist.lists import importing, members, queries, services, subscriptions
from poplist.lists.models import Member
from poplist.lists.subscriptions import Origin

CLI_ORIGIN = Origin(via=Member.Via.OWNER, actor="cli")


@group("list")
def list_() -> None:
    """Mailing lists."""


@list_.command("create")
@click.argument("address")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant that owns the list's domain.")
@click.option("--style", type=click.Choice(["discussion", "announce"]), default="discussion")
@click.option("--owner", "owners", multiple=True, help="An owner's address (repeatable).")
@click.option("--name", "display_name", default="", help="Display name (default: from the address).")
@click.option("--language", type=click.Choice(["en", "fr"]), default="en")
@json_option
def list_create(
    address: str,
    tenant_slug: str,
    style: str,
    owners: tuple[str, ...],
    display_name: str,
    language: str,
    as_json: bool,
) -> None:
    """Create a list at ADDRESS."""
    created = services.create_list(
        get_tenant(tenant_slug),
        address,
        style=style,
        owners=list(owners),
        display_name=display_name,
        language=language,
        actor="cli",
    )
    emit(queries.list_summary(created), as_json, lambda d: f"created list {d['address']}")


@list_.command("ls")
@click.option("--tenant", "tenant_slug", help="Only this tenant's lists.")
@json_option
def list_ls(tenant_slug: str | None, as_json: bool) -> None:
    """Every list with its member count."""
    found = queries.lists_of(get_tenant(tenant_slug) if tenant_slug else None)
    rows = [{"address": m.address, "tenant": m.tenant.slug, "style": m.style, "members": m.member_count} for m in found]
    emit(
        rows,
        as_json,
        lambda rs: table(
            [[r["address"], r["tenant"], r["style"], r["members"]] for r in rs],
            ["address", "tenant", "style", "members"],
        ),
    )


@list_.command("show")
@click.argument("address")
@json_option
def list_show(address: str, as_json: bool) -> None:
    """A list's settings, owners and member count."""
    data = queries.list_summary(services.get_list(address))
    emit(data, as_json, lambda d: [f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in d.items()])


@list_.command("set")
@click.argument("address")
@click.argument("assignments", nargs=-1, required=True)
def list_set(address: str, assignments: tuple[str, ...]) -> None:
    """Change settings: KEY=VALUE … (see docs/list-settings.md)."""
    values = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep:
            raise InvalidInput("%(arg)s is not KEY=VALUE.", arg=assignment)
        values[key.strip()] = value
    changed = services.update_settings(services.get_list(address), values, actor="cli")
    click.echo(f"changed: {', '.join(changed)}" if changed else "nothing changed")


@list_.command("owner-add")
@click.argument("address")
@click.argument("email")
@click.option("--moderator", is_flag=True, help="A moderator rather than an owner.")
def list_owner_add(address: str, email: str, moderator: bool) -> None:
    """Make EMAIL an owner (or moderator) of the list."""
    role = Member.Role.MODERATOR if moderator else Member.Role.OWNER
    services.add_role(services.get_list(address), email, role, actor="cli")
    click.echo(f"{email} is now a {role} of {address}")


@list_.command("requests")
@click.argument("address")
@json_option
def list_requests(address: str, as_json: bool) -> None:
    """Subscription requests waiting for an owner's approval."""
    pending = subscriptions.pending_approvals(services.get_list(address))
    rows = [
        {
            "id": r.pk,
            "email": r.email,
            "name": r.display_name,
            "requested_at": r.created_at,
            "via": r.data.get("via", ""),
        }
        for r in pending
    ]
    emit(
        rows,
        as_json,
        lambda rs: table(
            [[r["id"], r["email"], r["name"], r["requested_at"], r["via"]] for r in rs],
            ["id", "email", "name", "requested", "via"],
        ),
    )


@list_.command("approve")
@click.argument("address")
@click.argument("request_ids", nargs=-1, type=int, required=True)
def list_approve(address: str, request_ids: tuple[int, ...]) -> None:
    """Approve subscription requests."""
    mailing_list = services.get_list(address)
    for request_id in request_ids:
        subscriptions.approve(subscriptions.get_pending(mailing_list, request_id), actor="cli")
        click.echo(f"approved request {request_id}")


@list_.command("refuse")
@click.argument("address")
@click.argument("request_ids", nargs=-1, type=int, required=True)
@click.option("--reason", default="", help="Told to the person who asked.")
def list_refuse(address: str, request_ids: tuple[int, ...], reason: str) -> None:
    """Refuse subscription requests."""
    mailing_list = services.get_list(address)
    for request_id in request_ids:
        subscriptions.refuse(subscriptions.get_pending(mailing_list, request_id), actor="cli", reason=reason)
        click.echo(f"refused request {request_id}")


@group("members")
def members_() -> None:
    """A list's members."""


def _print_changes(changes: list[members.Change]) -> None:
    for change in changes:
        stream = sys.stderr if change.result in {"invalid", "suppressed", "not_a_member"} else sys.stdout
        detail = f": {change.detail}" if change.detail else ""
        click.echo(f"{change.email}: {change.result.replace('_', ' ')}{detail}", file=stream)


@members_.command("add")
@click.argument("address")
@click.argument("emails", nargs=-1, required=True)
@click.option("--welcome/--no-welcome", default=True, help="Send the welcome message.")
@click.option("--force", is_flag=True, help="Add suppressed addresses too (you have their consent).")
def members_add(address: str, emails: tuple[str, ...], welcome: bool, force: bool) -> None:
    """Add members now, without confirmation."""
    changes = members.add_members(
        services.get_list(address), list(emails), origin=CLI_ORIGIN, welcome=welcome, force=force
    )
    _print_changes(changes)
    if any(c.result == "invalid" for c in changes):
        sys.exit(2)


@members_.command("remove")
@click.argument("address")
@click.argument("emails", nargs=-1, required=True)
@click.option("--goodbye/--no-goodbye", default=False, help="Send the goodbye message.")
def members_remove(address: str, emails: tuple[str, ...], goodbye: bool) -> None:
    """Remove members (they are suppressed: imports will not add them back)."""
    changes = members.remove_members(services.get_list(address), list(emails), origin=CLI_ORIGIN, goodbye=goodbye)
    _print_changes(changes)


@members_.command("ls")
@click.argument("address")
@click.option("--role", type=click.Choice(["member", "owner", "moderator", "all"]), default="member")
@json_option
def members_ls(address: str, role: str, as_json: bool) -> None:
    """Print the members (JSON Lines with --json)."""
    rows = queries.iter_members(services.get_list(address), role=None if role == "all" else role)
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, default=str, ensure_ascii=False))
        else:
            name = f" ({row['display_name']})" if row["display_name"] else ""
            click.echo(f"{row['email']}{name} {row['role']} {row['delivery_mode']} {row['status']}")


@members_.command("import")
@click.argument("address")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--mode",
    type=click.Choice(["direct", "confirm"]),
    default="direct",
    help="direct: add now; confirm: send invitations to confirm.",
)
@click.option("--encoding", default="utf-8", help="The file's text encoding.")
def members_import(address: str, file: str, mode: str, encoding: str) -> None:
    """Import members from CSV (header with 'email'), plain addresses, or 'Name <address>' lines."""
    mailing_list = services.get_list(address)

    def on_reject(rejection: importing.Rejection) -> None:
        click.echo(f"line {rejection.line}: rejected: {rejection.reason}: {rejection.text}", err=True)

    if file == "-":
        stream, size = sys.stdin.buffer, None
    else:
        stream, size = open(file, "rb"), os.path.getsize(file)  # noqa: SIM115 - closed below
    try:
        with Progress(size, "importing") as progress:
            report = importing.import_members(
                mailing_list,
                stream,
                source=os.path.basename(file),
                mode=mode,
                actor="cli",
                encoding=encoding,
                on_reject=on_reject,
                on_progress=progress.update_to,
            )
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    verb = "invited" if mode == "confirm" else "added"
    click.echo(
        f"{report.rows} rows: {report.added or report.invited} {verb}, {report.skipped_existing} already there or "
        f"repeated, {report.skipped_suppressed} suppressed, {report.rejected} rejected"
    )


@members_.command("export")
@click.argument("address")
@click.argument("file", required=False, type=click.Path(dir_okay=False, writable=True))
@click.option("--role", type=click.Choice(["member", "owner", "moderator", "all"]), default="all")
def members_export(address: str, file: str | None, role: str) -> None:
    """Write the members as CSV, with their consent records, to FILE (default: standard output)."""
    mailing_list = services.get_list(address)
    out = open(file, "w", newline="", encoding="utf-8") if file else sys.stdout  # noqa: SIM115
    try:
        writer = csv.writer(out)
        writer.writerow(queries.EXPORT_FIELDS)
        for row in queries.iter_members(mailing_list, role=None if role == "all" else role):
            row["attributes"] = json.dumps(row["attributes"], ensure_ascii=False) if row["attributes"] else ""
            writer.writerow([_cell(row[f]) for f in queries.EXPORT_FIELDS])
    finally:
        if file:
            out.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


commands = [list_, members_]
