"""Figure: the same post to the same N members through GNU Mailman 3 and through Poplist, to the same sink.

    python bench/mailman_compare.py --members 10000 --mode both|personal|bulk [--load direct|api]
                                    [--poplist-warm] [--mailman-venv DIR] [--workers 2] [--timeout 10800]
    python bench/mailman_compare.py --compare-loaders --members 1000

Mailman 3.3.10 (PyPI `mailman`) is installed on first use into its own virtual environment
(default ~/.cache/poplist-bench/mailman-venv), with its default SQLite database. Its list and
members are set up while Mailman is stopped, its runners are started with `mailman start` and
left to settle, then the post is injected into its `in` queue and timed until the counting sink
(the one bench/fanout.py uses, in this process) has every recipient; the sink then reports how
many distinct recipients it saw and how many got more than one copy. Mailman's settings for a
fair run: nonmembers' posts accepted (nothing held), no welcome messages, archivers off,
`max_recipients` 100 per transaction like Poplist's bulk mode (Mailman's default is 10),
personal mode = `Personalization.individual` (one copy per member; Mailman does not sign: DKIM
is left to the MTA).

Members, `--load`:
- `api`: `IMailingList.subscribe(IUserManager.create_address(email))`, one transaction per
  1,000: 60–120 members/s here at load 5–10, 21/s in a more loaded run, so N = 100,000 would
  take 15 minutes to over an hour before the clock even starts.
- `direct` (the default): the same rows, written in one transaction (100,000 members in a few
  seconds). Why this is faithful: the clock only runs after set-up, and what Mailman does from
  then on reads the database, not how rows got there. The rows are Mailman's own: they go
  through its SQLAlchemy tables and column types (`Address`, `Member`, `Preferences`, `UID`
  from mailman.model, on Mailman's engine), per member exactly what the API writes — an
  `address` row (lower-cased email, `display_name` '', `registered_on` now, its own empty
  `preferences` row), a `member` row (role member, a fresh uuid4 member id, the list's list_id,
  `moderation_action` NULL, `bounce_score` 0, `last_warning_sent` datetime.min, a second empty
  `preferences` row), and the member id recorded in `uid`; no `user` row (an address subscribed
  without a user, as the API path does; `SubscriptionEvent` only sends welcome/admin notices,
  both off). `--compare-loaders` sets Mailman up both ways and compares every table, every
  row, value and SQLite type (random member ids compared by where they recur, times by format):
  identical at N = 1,000. At N = 10,000 both loaders gave the same delivery (every recipient
  once) and the same Mailman time in bulk mode within noise (figures below).

Poplist's side is bench/fanout.py run as a child with the same N and mode (DKIM RSA-2048 on every
copy, its workers started after the post is queued: worker start-up counts against Poplist, while
Mailman's runners are started and settled before its clock; `--poplist-warm` starts Poplist's
workers first too, like for like, as under `poplist serve`).
Prints both times and the ratio Mailman time / Poplist time (goal: ≥ 20 personal, ≥ 5 bulk), and
the peak RSS of Mailman's out and pipeline runners. `--timeout` (default 10800 s) bounds each
wait for the sink; Mailman personalised at N = 100,000 needs about an hour of one core (below).

Figures, 27 November 2026, 10:17–11:09 UTC, the 2-core machine shared (load average 5–9.9);
more in docs/delivery.md:
- N = 10,000 bulk, `--load api` twice and `direct` four times: Mailman 16.5, 16.1 / 15.6, 19.5,
  20.2, 17.2 s (CPU 6.3 s), every recipient once each time; ratio to Poplist 4.0–6.8 (median
  6.0; Poplist 2.3–4.3 s, mostly its workers' start-up); with `--poplist-warm` 34.1×
  (Mailman 17.3 s, Poplist 0.51 s).
- N = 10,000 personalised: Mailman 417.2 s (CPU 168.7 s, 16.9 ms per message), Poplist 9.7 s:
  43.0× (49.8× in an earlier run).
- N = 100,000 bulk: Mailman 159.7 s (CPU 65.8 s; pipeline runner 757 MB), Poplist 3.7 s:
  43.1× (35.5× in an earlier run); with `--poplist-warm` 63.2× (Mailman 196.9 s, Poplist 3.12 s).
- N = 100,000 personalised, 11:01–12:08 UTC (Mailman's runners at nice -10 while the machine was
  shared until ~12:05, load 1.2 at the end): Mailman 3,653.0 s (27 messages/s; CPU 2,891.5 s, 28.9 ms
  per message, out runner 2,833 s; pipeline runner 757 MB), every recipient once; Poplist 21.1 s
  (4,739 messages/s, each copy DKIM-signed; CPU 37.2 s in its two workers): **173.1×** by the clock,
  about 72× by CPU seconds. Mailman's per-copy member lookup (`IndividualDelivery.deliver` →
  `mlist.members.get_member`) joins through the unindexed `user._preferred_address_id`, so SQLite
  walks every member of the list for each copy: 2.5 ms of CPU per copy at N = 10,000, 18.5 ms at
  100,000. Commands:

      .venv/bin/python bench/mailman_compare.py --members 100000 --mode bulk
      .venv/bin/python bench/mailman_compare.py --members 100000 --mode personal
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when loaded from a file by the tests
from fanout import cpu_seconds, peak_rss_mb

ROOT = Path(__file__).resolve().parent.parent
MAILMAN = "mailman==3.3.10"

POST = (
    "From: Ann <ann@example.org>\nTo: news@lists.bench.test\nSubject: Bench post\n"
    "Date: Fri, 27 Nov 2026 03:00:00 +0000\nMessage-ID: <bench-mm@example.org>\nMIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n\n"
    + "A line of a typical post, about seventy characters long, nothing more.\n"
    * 40
)

SETUP = """
import sys, time
from mailman.core.initialize import initialize
initialize(sys.argv[1])
from mailman.config import config
from mailman.app.lifecycle import create_list
from mailman.interfaces.action import Action
from mailman.interfaces.domain import IDomainManager
from mailman.interfaces.usermanager import IUserManager
from zope.component import getUtility

n, load = int(sys.argv[2]), sys.argv[3]
getUtility(IDomainManager).add("lists.bench.test")
mlist = create_list("news@lists.bench.test")
mlist.send_welcome_message = False
mlist.default_nonmember_action = Action.accept
config.db.commit()
domains = ["example.org", "example.net", "mail.example.com", "exemple.fr", "post.example"]
emails = [f"m{i}@{domains[i % 5]}" for i in range(n)]
started = time.perf_counter()
if load == "api":
    users = getUtility(IUserManager)
    for i, email in enumerate(emails):
        mlist.subscribe(users.create_address(email), send_welcome_message=False)
        if i % 1000 == 999:
            config.db.commit()
    config.db.commit()
else:
    load_direct(config, mlist.list_id, emails)
print(f"{n} members ({load}) in {time.perf_counter() - started:.1f} s", flush=True)
"""

# The direct loader: the rows IMailingList.subscribe(IUserManager.create_address(email)) writes,
# through Mailman's own tables and column types (SQLAlchemy Core on Mailman's engine), in one
# transaction. Per member, as the API writes them (see the module docstring): an `address` row
# with its own `preferences` row, a `member` row (role member, a fresh uuid4 member id) with
# a second, empty `preferences` row, and the member id recorded in `uid`; no `user` row.
LOAD_DIRECT = """
def load_direct(config, list_id, emails):
    import uuid
    from datetime import datetime
    from mailman.interfaces.member import MemberRole
    from mailman.model.address import Address
    from mailman.model.member import Member
    from mailman.model.preferences import Preferences
    from mailman.model.uid import UID
    from mailman.utilities.datetime import now
    from sqlalchemy import func, select

    config.db.store.close()  # Mailman's own session holds nothing while the rows go in
    tables = [Preferences.__table__, Address.__table__, Member.__table__, UID.__table__]
    with config.db.engine.begin() as connection:
        base = {t.name: connection.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar() for t in tables}
        preferences, addresses, members, uids = [], [], [], []
        for i, email in enumerate(emails):
            # The API's order: the address's preferences first, then the member's.
            address_prefs, member_prefs = base["preferences"] + 2 * i + 1, base["preferences"] + 2 * i + 2
            address_id, member_id = base["address"] + i + 1, uuid.uuid4()
            preferences += [{"id": address_prefs}, {"id": member_prefs}]
            addresses.append({"id": address_id, "email": email.lower(), "_original": None if email.islower() else email,
                              "display_name": "", "registered_on": now(), "preferences_id": address_prefs})
            members.append({"id": base["member"] + i + 1, "_member_id": member_id, "role": MemberRole.member,
                            "list_id": list_id, "moderation_action": None, "address_id": address_id,
                            "preferences_id": member_prefs, "user_id": None, "bounce_score": 0,
                            "last_warning_sent": datetime.min, "total_warnings_sent": 0})
            uids.append({"id": base["uid"] + i + 1, "uid": member_id})
        for table, rows in zip(tables, [preferences, addresses, members, uids]):
            connection.execute(table.insert(), rows)
"""


MODE = """
import sys
from mailman.core.initialize import initialize
initialize(sys.argv[1])
from mailman.config import config
from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.mailinglist import Personalization
from zope.component import getUtility

mlist = getUtility(IListManager).get("news@lists.bench.test")
mlist.personalize = Personalization.individual if sys.argv[2] == "personal" else Personalization.none
config.db.commit()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_mailman(venv: Path) -> Path:
    mailman = venv / "bin" / "mailman"
    if not mailman.exists():
        print(f"installing {MAILMAN} into {venv} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", MAILMAN], check=True)
    return mailman


def write_config(home: Path, sink_port: int) -> Path:
    config = home / "mailman.cfg"
    config.write_text(
        textwrap.dedent(f"""\
        [mailman]
        site_owner: owner@bench.test
        layout: bench
        [paths.bench]
        var_dir: {home}/var
        [mta]
        incoming: mailman.mta.null.NullMTA
        smtp_host: 127.0.0.1
        smtp_port: {sink_port}
        lmtp_port: {free_port()}
        max_recipients: 100
        [webservice]
        port: {free_port()}
        [runner.rest]
        start: no
        [runner.lmtp]
        start: no
        [archiver.prototype]
        enable: no
        [archiver.mhonarc]
        enable: no
        [archiver.mail_archive]
        enable: no
        """)
    )
    return config


def runner_pids(home: Path) -> dict[str, int]:
    """Runner processes of this Mailman (found by their --config argument)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(argv).decode("utf-8", "replace")
        if str(home) in text and "runner" in text:
            match = re.search(r"--runner[= ](\w+)", text)
            found[match.group(1) if match else text[-30:]] = int(entry.name)
    return found


def _mailman(mailman: Path) -> list[str]:
    return [str(mailman), "--run-as-root"] if os.geteuid() == 0 else [str(mailman)]


def set_up(python: Path, home: Path, config: Path, members: int, load: str) -> None:
    """Mailman's domain, list and members (Mailman stopped: its runners are not started yet)."""
    (home / "setup.py").write_text(LOAD_DIRECT + SETUP)
    subprocess.run([str(python), "setup.py", str(config), str(members), load], check=True, cwd=home)


def compare_loaders(args) -> None:
    """Set up Mailman twice with a few members, through its API and directly, and compare every
    table row by row (values and SQLite types), up to what differs by nature: the random member
    ids (compared by where they recur) and the registration times (compared by format)."""
    python = ensure_mailman(Path(args.mailman_venv)).parent / "python"
    dumps = {}
    for load in ("api", "direct"):
        home = Path(tempfile.mkdtemp(prefix=f"poplist-mailman-{load}-"))
        try:
            config = write_config(home, free_port())
            set_up(python, home, config, args.members, load)
            dumps[load] = normalise(dump_tables(home / "var" / "data" / "mailman.db"))
        finally:
            shutil.rmtree(home, ignore_errors=True)
    differ = [
        t for t in sorted(set(dumps["api"]) | set(dumps["direct"])) if dumps["api"].get(t) != dumps["direct"].get(t)
    ]
    for table in differ:
        print(f"{table}:\n  api:    {dumps['api'].get(table)}\n  direct: {dumps['direct'].get(table)}")
    rows = {t: len(v[1]) for t, v in dumps["api"].items() if v[1]}
    print(f"N={args.members}: rows per table {rows}")
    if differ:
        raise SystemExit(f"the loaders differ in: {', '.join(differ)}")
    print("the API and the direct loader wrote the same rows (up to random ids and times)")


def dump_tables(database: Path) -> dict[str, tuple[list[str], list[list]]]:
    """Every table's columns and rows, each value with its SQLite type, in insertion order."""
    import sqlite3

    connection = sqlite3.connect(database)
    try:
        out = {}
        names = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        for (table,) in names.fetchall():
            columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
            values = ", ".join(f'typeof("{c}"), "{c}"' for c in columns)
            rows = connection.execute(f'SELECT {values} FROM "{table}" ORDER BY rowid').fetchall()
            out[table] = (columns, [list(row) for row in rows])
        return out
    finally:
        connection.close()


def normalise(dump: dict) -> dict:
    """Random uuids become their order of first appearance; times (which differ from run to run) their shape."""
    seen: dict[str, str] = {}
    out = {}
    for table, (columns, rows) in dump.items():
        if table == "alembic_version":
            out[table] = [columns, rows]
            continue
        new_rows = []
        for row in rows:
            new = []
            for value in row:
                if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value):
                    value = seen.setdefault(value, f"uuid#{len(seen)}")
                elif isinstance(value, str) and re.fullmatch(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", value):
                    value = "<time>"
                new.append(value)
            new_rows.append(new)
        out[table] = [columns, new_rows]
    return out


def run_mailman(args, sink, modes: list[str]) -> dict[str, tuple[float, dict[str, float]]]:
    """Mailman's time for each mode in turn (one set-up, its runners started once)."""
    mailman = ensure_mailman(Path(args.mailman_venv))
    python = mailman.parent / "python"
    home = Path(tempfile.mkdtemp(prefix="poplist-mailman-"))
    config = write_config(home, sink.port)
    (home / "mode.py").write_text(MODE)
    started = time.perf_counter()
    set_up(python, home, config, args.members, args.load)
    print(f"(Mailman set up in {time.perf_counter() - started:.0f} s)", flush=True)
    subprocess.run([*_mailman(mailman), "-C", str(config), "start", "--force"], check=True, cwd=home)
    out = {}
    try:
        # The clock starts once every runner has said "started" in its log (under load that took
        # Mailman 50 s here), plus a moment: Mailman's start-up does not count against it.
        log = home / "var" / "logs" / "mailman.log"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            text = log.read_text() if log.exists() else ""
            if all(f"{name} runner started." in text for name in ("in", "pipeline", "out", "virgin", "archive")):
                break
            time.sleep(0.5)
        for mode in modes:
            subprocess.run([str(python), "mode.py", str(config), mode], check=True, cwd=home)
            time.sleep(args.settle)
            message = home / f"{mode}.eml"
            message.write_text(POST.replace("<bench-mm@", f"<bench-mm-{mode}@"))
            before = sink.delivered
            with sink.lock:
                counts_before = sink.counts.copy()
            runners = runner_pids(home)
            peaks = {name: peak_rss_mb(pid) for name, pid in runners.items()}
            cpu_before = {name: cpu_seconds(pid) for name, pid in runners.items()}
            started = time.perf_counter()
            subprocess.run(
                [
                    *_mailman(mailman),
                    "-C",
                    str(config),
                    "inject",
                    "-q",
                    "in",
                    "-f",
                    str(message),
                    "news@lists.bench.test",
                ],
                check=True,
                cwd=home,
            )
            while sink.delivered - before < args.members and time.perf_counter() - started < args.timeout:
                time.sleep(0.2)
                for name, pid in runner_pids(home).items():
                    peaks[name] = max(peaks.get(name, 0.0), peak_rss_mb(pid))
            elapsed = time.perf_counter() - started
            # CPU does not depend on the machine's load as the clock does: the figure to compare runs by.
            cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in runners.items()}
            got = sink.delivered - before
            if got < args.members:
                print(f"Mailman delivered only {got} of {args.members} in {elapsed:.0f} s (timeout)")
            time.sleep(1.0)  # anything sent twice would arrive now
            with sink.lock:
                this_run = sink.counts - counts_before
            twice = sum(1 for count in this_run.values() if count > 1)
            print(
                f"sink: {sink.delivered - before} copies to {len(this_run)} distinct recipients, "
                f"{twice} received more than one",
                flush=True,
            )
            unit = "messages" if mode == "personal" else "recipients"
            print(
                f"Mailman 3.3.10, {mode}, N={args.members}: {elapsed:.1f} s, {got / elapsed:,.0f} {unit}/s "
                f"(load average {os.getloadavg()[0]:.1f}); peak RSS "
                + ", ".join(f"{name} {mb:.0f} MB" for name, mb in sorted(peaks.items()) if name in ("out", "pipeline"))
                + f"; CPU seconds: runners {sum(cpu.values()):.1f} ("
                + ", ".join(f"{name} {seconds:.1f}" for name, seconds in sorted(cpu.items()) if seconds >= 0.05)
                + f"), {sum(cpu.values()) / got * 1000 if got else 0:.2f} ms per {unit[:-1]}",
                flush=True,
            )
            out[mode] = (elapsed, peaks)
    finally:
        subprocess.run([*_mailman(mailman), "-C", str(config), "stop"], cwd=home, check=False)
        deadline = time.monotonic() + 30
        while runner_pids(home) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in runner_pids(home).values():  # this run's runners that did not stop
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        smtp_log = home / "var" / "logs" / "smtp.log"
        if smtp_log.exists():
            print("Mailman's smtp.log: " + " | ".join(smtp_log.read_text().splitlines()[-4:]))
        shutil.rmtree(home, ignore_errors=True)
    return out


def run_poplist(args, mode: str) -> float:
    command = [
        sys.executable,
        str(ROOT / "bench" / "fanout.py"),
        "--members",
        str(args.members),
        "--workers",
        str(args.workers),
        "--mode",
        mode,
        "--timeout",
        str(args.timeout),
        *(["--warm"] if args.poplist_warm else []),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    print("\n".join("  poplist: " + line for line in output.splitlines()))
    match = re.search(
        r"(\d+) recipients in \d+ transactions, [\d.]+ s \((?:including worker start-up|workers already running)\), "
        r"([\d,]+) (?:messages|recipients)/s",
        output,
    )
    if not match:
        raise SystemExit("could not read Poplist's time from bench/fanout.py")
    # From the rate (to the unit): the seconds are printed to 0.1 s, too coarse for a warm bulk run.
    return int(match.group(1)) / float(match.group(2).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--mode", choices=["personal", "bulk", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2, help="Poplist workers")
    parser.add_argument(
        "--poplist-warm",
        action="store_true",
        help="start Poplist's workers before the post, as Mailman's runners are (default: their start-up counts)",
    )
    parser.add_argument("--mailman-venv", default=str(Path.home() / ".cache" / "poplist-bench" / "mailman-venv"))
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to wait after every runner said it started")
    parser.add_argument(
        "--load",
        choices=["direct", "api"],
        default="direct",
        help="add Mailman's members by writing its rows (default) or through its API (~20/s)",
    )
    parser.add_argument(
        "--compare-loaders",
        action="store_true",
        help="set up Mailman with --members through both loaders, compare its tables, and stop",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10800,
        help="seconds to wait for all copies, per system and mode (Mailman personal, N=100,000: ~1 h of a free core)",
    )
    args = parser.parse_args()
    if args.compare_loaders:
        compare_loaders(args)
        return

    sys.path.insert(0, str(ROOT / "src"))
    from poplist.testing.counting_sink import run_counting_sink

    modes = ["bulk", "personal"] if args.mode == "both" else [args.mode]
    with run_counting_sink() as sink:
        mailman = run_mailman(args, sink, modes)
    for mode in modes:
        if mode not in mailman:
            continue
        poplist_time = run_poplist(args, mode)
        unit = "messages" if mode == "personal" else "recipients"
        print(
            f"Poplist, {mode} + DKIM RSA-2048, {args.workers} workers, N={args.members}: {poplist_time:.2f} s, "
            f"{args.members / poplist_time:,.0f} {unit}/s "
            + ("(workers already running)" if args.poplist_warm else "(including worker start-up)")
        )
        ratio = mailman[mode][0] / poplist_time
        print(f"{mode}: ratio Mailman time / Poplist time: {ratio:.1f} (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
