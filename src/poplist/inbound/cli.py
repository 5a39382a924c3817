"""`poplist inbound`, `poplist held …`, `poplist senders …`, `poplist mta postfix`."""

from __future__ import annotations

import click

from poplist import config
from poplist.core.cli import emit, group, json_option, table
from poplist.inbound import filters, moderation, mta
from poplist.lists.services import get_list


@click.command("inbound")
@click.option("--host", default=None, help="Address to listen on (default: POPLIST_LMTP_HOST).")
@click.option("--lmtp-port", type=int, default=None, help="LMTP port (default: POPLIST_LMTP_PORT).")
@click.option("--smtp-port", type=int, default=None, help="Also listen for plain SMTP on this port.")
def inbound(host: str | None, lmtp_port: int | None, smtp_port: int | None) -> None:
    """Run only the inbound mail server (LMTP, and SMTP with --smtp-port)."""
    import logging

    from poplist.inbound.server import run_forever

    logging.basicConfig(level=logging.INFO)
    run_forever(host or config.get("lmtp_host"), lmtp_port or int(config.get("lmtp_port")), smtp_port)


@group("held")
def held() -> None:
    """Posts held for moderation."""


def _row(item) -> dict:
    return {
        "id": item.pk,
        "state": item.state,
        "from": item.inbound.sender,
        "subject": item.inbound.subject,
        "rule": item.rule,
        "reason": item.reason,
        "received_at": item.inbound.received_at,
        "expires_at": item.expires_at,
    }


@held.command("ls")
@click.argument("address")
@json_option
def held_ls(address: str, as_json: bool) -> None:
    """The posts of ADDRESS waiting for a moderator."""
    rows = [_row(item) for item in moderation.pending(get_list(address))]
    emit(
        rows,
        as_json,
        lambda data: (
            table(
                [[r["id"], r["from"], r["subject"][:50], r["reason"][:60]] for r in data],
                ["id", "from", "subject", "reason"],
            )
            if data
            else "no held messages"
        ),
    )


@held.command("show")
@click.argument("address")
@click.argument("held_id", type=int)
@click.option("--raw", is_flag=True, help="Print the message as it arrived.")
@json_option
def held_show(address: str, held_id: int, raw: bool, as_json: bool) -> None:
    """One held post: why it is held, and its text."""
    from poplist.inbound.render import readable

    item = moderation.get_held(get_list(address), held_id)
    if raw:
        click.echo(bytes(item.inbound.raw).decode("utf-8", "replace"))
        return
    view = readable(bytes(item.inbound.raw))
    data = {**_row(item), "text": view.text, "attachments": view.attachments}
    emit(
        data,
        as_json,
        lambda d: [f"{k}: {d[k]}" for k in ("id", "state", "from", "subject", "reason")] + ["", d["text"]],
    )


def _decide(decision: str, address: str, ids: tuple[int, ...], reason: str = "") -> None:
    mailing_list = get_list(address)
    for held_id in ids:
        item = moderation.decide(moderation.get_held(mailing_list, held_id), decision, actor="cli", reason=reason)
        click.echo(f"{held_id}: {item.state}")


@held.command("approve")
@click.argument("address")
@click.argument("ids", type=int, nargs=-1, required=True)
def held_approve(address: str, ids: tuple[int, ...]) -> None:
    """Distribute the held posts IDS."""
    _decide("approve", address, ids)


@held.command("accept")
@click.argument("address")
@click.argument("ids", type=int, nargs=-1, required=True)
def held_accept(address: str, ids: tuple[int, ...]) -> None:
    """Distribute the held posts IDS and accept their senders' later posts."""
    _decide("accept", address, ids)


@held.command("reject")
@click.argument("address")
@click.argument("ids", type=int, nargs=-1, required=True)
@click.option("--reason", default="", help="Sent to the author.")
def held_reject(address: str, ids: tuple[int, ...], reason: str) -> None:
    """Refuse the held posts IDS and tell their authors why."""
    _decide("reject", address, ids, reason)


@held.command("discard")
@click.argument("address")
@click.argument("ids", type=int, nargs=-1, required=True)
def held_discard(address: str, ids: tuple[int, ...]) -> None:
    """Drop the held posts IDS silently."""
    _decide("discard", address, ids)


@group("senders")
def senders() -> None:
    """Banned and accepted senders of a list."""


@senders.command("ls")
@click.argument("address")
@json_option
def senders_ls(address: str, as_json: bool) -> None:
    """Banned and accepted senders of ADDRESS."""
    rows = [{"kind": f.kind, "pattern": f.pattern} for f in filters.senders(get_list(address))]
    emit(rows, as_json, lambda data: table([[r["kind"], r["pattern"]] for r in data], ["kind", "pattern"]))


@senders.command("ban")
@click.argument("address")
@click.argument("pattern")
def senders_ban(address: str, pattern: str) -> None:
    """Ban PATTERN (an address, or a regular expression starting with ^) from posting to ADDRESS."""
    created = filters.add_sender(get_list(address), "ban", pattern, actor="cli")
    click.echo(f"banned {created.pattern}")


@senders.command("accept")
@click.argument("address")
@click.argument("pattern")
def senders_accept(address: str, pattern: str) -> None:
    """Accept posts from PATTERN without moderation (also on announce lists)."""
    created = filters.add_sender(get_list(address), "accept", pattern, actor="cli")
    click.echo(f"accepted {created.pattern}")


@senders.command("remove")
@click.argument("address")
@click.argument("kind", type=click.Choice(["ban", "accept"]))
@click.argument("pattern")
def senders_remove(address: str, kind: str, pattern: str) -> None:
    """Remove a ban or an accepted sender."""
    filters.remove_sender(get_list(address), kind, pattern)
    click.echo(f"removed {pattern}")


@group("mta")
def mta_() -> None:
    """Configuration for the MTA in front of Poplist."""


@mta_.command("postfix")
@click.option("--host", default=None, help="Where Poplist's LMTP server listens (default: POPLIST_LMTP_HOST).")
@click.option("--port", type=int, default=None, help="LMTP port (default: POPLIST_LMTP_PORT).")
@click.option("--domains", is_flag=True, help="Print the relay_domains map instead of the transport map.")
def mta_postfix(host: str | None, port: int | None, domains: bool) -> None:
    """Print Postfix's transport map (every list address -> lmtp:[host]:port)."""
    if domains:
        click.echo(mta.postfix_domains(), nl=False)
        return
    click.echo(mta.postfix_transport(host or config.get("lmtp_host"), port or int(config.get("lmtp_port"))), nl=False)


commands = [inbound, held, senders, mta_]
