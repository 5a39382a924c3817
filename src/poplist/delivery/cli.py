"""`poplist outbox …`: what would have been sent when no relay is configured."""

from __future__ import annotations

import email
import email.policy

import click

from poplist.core.cli import emit, group, json_option, table
from poplist.core.errors import NotFound
from poplist.delivery.models import OutboxMessage


def _subject(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return str(message.get("Subject", ""))


@group("outbox", invoke_without_command=True)
@json_option
@click.pass_context
def outbox(ctx: click.Context, as_json: bool) -> None:
    """List the messages in the local outbox (newest last)."""
    if ctx.invoked_subcommand:
        return
    rows = [
        {
            "id": m.pk,
            "created_at": m.created_at,
            "from": m.mail_from,
            "to": m.recipients,
            "subject": _subject(bytes(m.raw)),
        }
        for m in OutboxMessage.objects.order_by("pk")
    ]
    emit(
        rows,
        as_json,
        lambda rs: (
            table(
                [[r["id"], f"{r['created_at']:%Y-%m-%d %H:%M:%S}", ", ".join(r["to"]), r["subject"]] for r in rs],
                ["id", "time", "to", "subject"],
            )
            if rs
            else "the outbox is empty"
        ),
    )


@outbox.command("show")
@click.argument("message_id", type=int)
def outbox_show(message_id: int) -> None:
    """Print one message as it would have been sent."""
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None:
        raise NotFound("There is no message %(id)s in the outbox.", id=message_id)
    click.echo(f"Envelope-From: {message.mail_from}\nEnvelope-To: {', '.join(message.recipients)}")
    click.echo(bytes(message.raw).decode("utf-8", "replace"))


@outbox.command("clear")
def outbox_clear() -> None:
    """Empty the outbox."""
    deleted, _ = OutboxMessage.objects.all().delete()
    click.echo(f"removed {deleted} messages")


commands = [outbox]
