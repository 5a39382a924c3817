"""`poplist outbox …` (what would have been sent without a relay), `poplist jobs …`, `poplist dkim …`."""

from __future__ import annotations

import email
import email.policy
import sys
import time

import click
from django.utils.translation import gettext_lazy as _

from poplist.core.cli import emit, group, json_option, table
from poplist.core.errors import NotFound
from poplist.delivery import jobs as job_services
from poplist.delivery import keys, queries
from poplist.delivery.models import DeliveryJob, OutboxMessage


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


def _eta(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def _bar(p: queries.Progress, width: int = 30) -> str:
    done = p.sent + p.failed
    filled = int(width * done / p.total) if p.total else (width if p.status == "done" else 0)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _rows(progress: list[queries.Progress], with_bar: bool) -> str:
    rows = [
        [
            p.id,
            p.list,
            p.kind,
            p.status + (f" ({p.pause_reason})" if p.pause_reason else ""),
            *([_bar(p)] if with_bar else []),
            p.sent,
            p.pending,
            p.failed,
            p.deferred,
            f"{p.rate:.0f}/s",
            _eta(p.eta_seconds),
        ]
        for p in progress
    ]
    headers = ["id", "list", "kind", "status", *(["progress"] if with_bar else []), "sent", "pending", "failed"]
    return table(rows, [*headers, "deferred", "rate", "eta"]) if rows else "no delivery jobs"


@group("jobs", invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Also finished and cancelled jobs.")
@click.option("--watch", is_flag=True, help="Redraw every second until no job is running (a terminal's live view).")
@json_option
@click.pass_context
def jobs(ctx: click.Context, show_all: bool, watch: bool, as_json: bool) -> None:
    """Delivery jobs with their progress: sent, pending, failed, rate and ETA."""
    if ctx.invoked_subcommand:
        return
    tty = sys.stdout.isatty()
    while True:
        progress = [queries.progress(j) for j in queries.jobs(active_only=not show_all)]
        if as_json:
            emit([p.as_dict() for p in progress], True, str)
            return
        if watch and tty:
            click.echo("\x1b[H\x1b[2J", nl=False)
        click.echo(_rows(progress, with_bar=tty or watch))
        if not watch or not any(p.status in ("pending", "running") for p in progress):
            return
        time.sleep(1)


@jobs.command("show")
@click.argument("job_id", type=int)
@json_option
def jobs_show(job_id: int, as_json: bool) -> None:
    """One job's progress and last error."""
    job = DeliveryJob.objects.select_related("mailing_list").filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("There is no delivery job %(id)s."), id=job_id)
    p = queries.progress(job)
    emit(p.as_dict(), as_json, lambda d: [f"{k}: {'' if v is None else v}" for k, v in d.items()])


def _change(action, verb: str):
    @jobs.command(verb)
    @click.argument("job_id", type=int)
    def command(job_id: int) -> None:
        job = action(job_id)
        click.echo(f"job {job.pk}: {job.status}")

    command.__doc__ = {
        "pause": "Pause a job after the copies in flight; `resume` goes on where it stopped.",
        "resume": "Resume a paused job where it stopped.",
        "cancel": "Send no more copies of a job.",
    }[verb]
    return command


jobs_pause = _change(job_services.pause, "pause")
jobs_resume = _change(job_services.resume, "resume")
jobs_cancel = _change(job_services.cancel, "cancel")


@group("dkim")
def dkim() -> None:
    """DKIM signing keys of the sending domains."""


@dkim.command("generate")
@click.argument("domain")
@click.option("--ed25519", "ed25519_too", is_flag=True, help="Also an Ed25519 key: every copy is signed twice.")
@click.option("--selector", default=None, help="DNS selector (default: poplistYYYYMM).")
def dkim_generate(domain: str, ed25519_too: bool, selector: str | None) -> None:
    """Make an RSA-2048 key for DOMAIN and print the DNS TXT record(s) to publish."""
    for key in keys.generate(domain, selector=selector, ed25519_too=ed25519_too):
        name, value = keys.dns_record(key)
        click.echo(f"{name}. IN TXT ({_txt_chunks(value)})")


def _txt_chunks(value: str) -> str:
    # A TXT string holds at most 255 bytes; resolvers join the chunks.
    return " ".join(f'"{value[i : i + 250]}"' for i in range(0, len(value), 250))


@dkim.command("list")
@json_option
def dkim_list(as_json: bool) -> None:
    """The keys per domain; only active keys sign."""
    rows = [
        {
            "domain": k.domain,
            "selector": k.selector,
            "algorithm": k.algorithm,
            "active": k.active,
            "created_at": k.created_at,
        }
        for k in keys.DkimKey.objects.order_by("domain", "-created_at")
    ]
    emit(
        rows,
        as_json,
        lambda rs: (
            table(
                [[r["domain"], r["selector"], r["algorithm"], "yes" if r["active"] else "no"] for r in rs],
                ["domain", "selector", "algorithm", "active"],
            )
            if rs
            else "no DKIM keys"
        ),
    )


commands = [outbox, jobs, dkim]
