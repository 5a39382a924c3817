"""`poplist bounces show|parse|reprocess|report|rates`."""

from __future__ import annotations

from pathlib import Path

import click
from django.utils.translation import gettext_lazy as _

from poplist.core.cli import emit, group, json_option, table
from poplist.core.errors import InvalidInput


@group("bounces")
def bounces() -> None:
    """Bounces: scores, events and steps; parsing a puzzling bounce."""


@bounces.command("show")
@click.argument("target")
@json_option
def show(target: str, as_json: bool) -> None:
    """Show TARGET's bounce record: a list address (its members' scores and latest events) or a member's address."""
    from poplist.bounces import queries
    from poplist.lists.models import MailingList
    from poplist.lists.services import get_list

    if MailingList.objects.filter(address=target.lower()).exists():
        mailing_list = get_list(target)
        data = {
            "list": mailing_list.address,
            "thresholds": {
                "score": mailing_list.bounce_score_threshold,
                "decay_days": mailing_list.bounce_decay_days,
                "warnings": mailing_list.bounce_warnings,
                "warning_interval_days": mailing_list.bounce_warning_interval_days,
            },
            "members": [
                {
                    "email": s.email,
                    "score": s.score,
                    "state": s.state,
                    "warnings_sent": s.warnings_sent,
                    "last_bounce_at": s.last_bounce_at,
                    "next_warning_at": s.next_warning_at,
                }
                for s in queries.standings(mailing_list)
            ],
            "events": [queries.event_dict(e) for e in queries.recent_events(mailing_list, limit=50)],
        }
        emit(data, as_json, _list_text)
        return
    if "@" not in target:
        raise InvalidInput(_("%(target)s is neither a list nor an address."), target=target)
    emit(queries.member_history(target), as_json, _member_text)


def _list_text(data: dict) -> list[str]:
    t = data["thresholds"]
    lines = [
        f"{data['list']}: disable at score {t['score']:g}, decay after {t['decay_days']} quiet days, "
        f"{t['warnings']} warnings every {t['warning_interval_days']} days",
        "",
        table(
            [
                [m["email"], f"{m['score']:g}", m["state"], m["warnings_sent"], m["last_bounce_at"]]
                for m in data["members"]
            ],
            ["member", "score", "state", "warnings", "last bounce"],
        )
        if data["members"]
        else "no member has a bounce score",
        "",
        "latest events:",
    ]
    lines += [_event_line(e) for e in data["events"]] or ["  none"]
    return lines


def _event_line(e: dict) -> str:
    what = f"{e['kind']} {e['status']}".strip()
    reason = f" ({e['reason']})" if e["reason"] else ""
    return f"  {e['at'][:19]}  {e['email'] or '-'}  {what}  via {e['source'] or '-'}  -> {e['outcome']}{reason}"


def _member_text(data: dict) -> list[str]:
    if not data["lists"]:
        return [f"no bounce recorded for {data['email']}"]
    lines = []
    for entry in data["lists"]:
        score = f"score {entry['score']:g} {entry['state']}"
        lines.append(f"{data['email']} on {entry['list']}: {entry['member']}, {score}")
        lines += [_event_line(e) for e in entry["events"]]
        lines += [f"  {s['at'][:19]}  step {s['action']} (score {s['score']:g}) {s['detail']}" for s in entry["steps"]]
    return lines


@bounces.command("parse")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def parse_files(files: tuple[Path, ...], as_json: bool) -> None:
    """Print what each message FILE says (addresses, class, status) without changing anything."""
    from poplist.bounces.parse import parse

    results = []
    for path in files:
        parsed = parse(path.read_bytes())
        results.append(
            {
                "file": str(path),
                "category": parsed.category,
                "source": parsed.source,
                "reason": parsed.reason,
                "feedback_type": parsed.feedback_type,
                "failures": [
                    {"email": f.email, "class": f.kind, "status": f.status, "diagnostic": f.diagnostic}
                    for f in parsed.failures
                ],
            }
        )

    def text(rows: list[dict]) -> list[str]:
        lines = []
        for row in rows:
            head = f"{row['file']}: {row['category']}"
            head += f" ({row['source']})" if row["source"] else ""
            head += f": {row['reason']}" if row["reason"] else ""
            lines.append(head)
            for f in row["failures"]:
                lines.append(f"  {f['email']}  {f['class']}  {f['status'] or '-'}  {f['diagnostic'][:100]}")
        return lines

    emit(results, as_json, text)


@bounces.command("reprocess")
@click.option("--list", "address", help="Only this list's kept messages.")
@json_option
def reprocess_cmd(address: str | None, as_json: bool) -> None:
    """Parse again the kept bounces no member was found for (after an upgrade, or once the address joined)."""
    from poplist.bounces.services import reprocess
    from poplist.lists.services import get_list

    retried, attributed = reprocess(get_list(address) if address else None)
    emit(
        {"retried": retried, "attributed": attributed},
        as_json,
        lambda d: f"retried {d['retried']} kept bounces; {d['attributed']} now attributed to a member",
    )


@bounces.command("rates")
@click.option("--by", type=click.Choice(["tenant", "domain"]), default="tenant")
@click.option("--days", type=click.IntRange(1, 365), default=30)
@json_option
def rates_cmd(by: str, days: int, as_json: bool) -> None:
    """Bounce and complaint rates per tenant or sending domain (what mailbox providers judge)."""
    from poplist.bounces.queries import rates

    rows = [r.as_dict() for r in rates(by=by, days=days)]
    emit(
        rows,
        as_json,
        lambda data: (
            table(
                [
                    [
                        r["key"],
                        r["deliveries"],
                        r["hard"],
                        r["soft"],
                        r["policy"],
                        r["complaints"],
                        f"{100 * r['bounce_rate']:.2f}%",
                        f"{100 * r['complaint_rate']:.3f}%",
                    ]
                    for r in data
                ],
                [by, "deliveries", "hard", "soft", "policy", "complaints", "bounce rate", "complaint rate"],
            )
            if data
            else "no bounce and no delivery in the period"
        ),
    )


@bounces.command("run")
def run_cmd() -> None:
    """Run the scheduled bounce work now: warnings and removals due, score decay, owners' reports."""
    from poplist.bounces.services import decay_scores, run_due_steps, send_due_reports

    steps, decayed, reports = run_due_steps(), decay_scores(), send_due_reports()
    click.echo(f"{steps} warnings or removals, {decayed} scores decayed, {reports} reports sent")


commands = [bounces]
