"""The `poplist` command as an operator uses it: exit codes, stderr sentences, --json."""

import json

import pytest

from poplist.lists.models import MailingList, Member


def setup_list(cli):
    assert cli("tenant", "create", "acme", "--name", "Acme", "--domain", "lists.acme.test").exit_code == 0
    assert cli("list", "create", "news@lists.acme.test", "--tenant", "acme", "--owner", "boss@acme.test").exit_code == 0


def test_tenant_list_and_members_round(cli, tmp_path):
    setup_list(cli)
    shown = json.loads(cli("list", "show", "news@lists.acme.test", "--json").output)
    assert shown["owners"] == ["boss@acme.test"] and shown["subscription_policy"] == "confirm"

    result = cli("list", "set", "news@lists.acme.test", "language=fr", "subject_prefix=[news] ", "personalize=no")
    assert result.exit_code == 0 and "language" in result.output
    mailing_list = MailingList.objects.get()
    assert (mailing_list.language, mailing_list.subject_prefix, mailing_list.personalize) == ("fr", "[news] ", False)

    result = cli("members", "add", "news@lists.acme.test", "ann@example.org", "bob@example.org")
    assert result.exit_code == 0 and "ann@example.org: added" in result.output

    out = tmp_path / "members.csv"
    assert cli("members", "export", "news@lists.acme.test", str(out)).exit_code == 0
    exported = out.read_text().splitlines()
    assert exported[0].startswith("email,display_name,role")
    assert {line.split(",")[0] for line in exported[1:]} == {"ann@example.org", "bob@example.org", "boss@acme.test"}

    listing = json.loads(cli("tenant", "ls", "--json").output)
    assert listing[0]["members"] == 2 and listing[0]["lists"] == 1

    result = cli("members", "remove", "news@lists.acme.test", "ann@example.org")
    assert result.exit_code == 0
    assert list(Member.objects.filter(role="member").values_list("email", flat=True)) == ["bob@example.org"]


def test_import_reports_rejections_with_line_numbers(cli, tmp_path):
    setup_list(cli)
    source = tmp_path / "people.csv"
    source.write_text("email,name\nann@example.org,Ann\nnot-valid,Nobody\nann@example.org,Dup\n")
    result = cli("members", "import", "news@lists.acme.test", str(source))
    assert result.exit_code == 0
    assert "line 3: rejected: it has no @: not-valid,Nobody" in result.stderr
    assert "3 rows: 1 added, 1 already there or repeated, 0 suppressed, 1 rejected" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "show", "nope@lists.acme.test"], "There is no list nope@lists.acme.test."),
        (["list", "set", "news@lists.acme.test", "style=loud"], "style: Value 'loud' is not a valid choice."),
        (["list", "set", "news@lists.acme.test", "colour=blue"], "colour is not a list setting"),
        (["list", "set", "news@lists.acme.test", "noequals"], "noequals is not KEY=VALUE."),
        (["list", "create", "x@unknown.test", "--tenant", "acme"], "The domain unknown.test does not belong to acme."),
        (["list", "create", "news-request@lists.acme.test", "--tenant", "acme"], "cannot name a list"),
        (["tenant", "create", "Bad Slug", "--name", "x"], "is not a valid tenant slug"),
        (["members", "add", "news@lists.acme.test", "bad@"], "is not a valid email address"),
    ],
)
def test_errors_are_one_sentence_on_stderr_with_exit_code_2(cli, args, message):
    setup_list(cli)
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.output


def test_broken_encoding_and_missing_column(cli, tmp_path):
    setup_list(cli)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"email\nann@example.org\nb\xe9b@example.org\n")
    result = cli("members", "import", "news@lists.acme.test", str(broken))
    assert result.exit_code == 2 and "Line 3 is not valid utf-8 text; nothing was imported" in result.stderr
    headless = tmp_path / "names.csv"
    headless.write_text("name,city\nAnn,Lyon\n")
    result = cli("members", "import", "news@lists.acme.test", str(headless))
    assert result.exit_code == 2 and "has no email column" in result.stderr
    assert not Member.objects.filter(role="member").exists()


def test_requests_approve_and_token(cli):
    setup_list(cli)
    cli("list", "set", "news@lists.acme.test", "subscription_policy=moderate")
    from poplist.lists.subscriptions import Origin, request_subscription

    request_subscription(MailingList.objects.get(), "ann@example.org", origin=Origin())
    [pending] = json.loads(cli("list", "requests", "news@lists.acme.test", "--json").output)
    assert cli("list", "approve", "news@lists.acme.test", str(pending["id"])).exit_code == 0
    assert Member.objects.filter(email="ann@example.org", role="member").exists()
    token = json.loads(cli("token", "create", "--tenant", "acme", "--json").output)["token"]
    assert token.startswith("pl_")


def test_user_create_prints_a_password_that_works(cli):
    setup_list(cli)
    data = json.loads(cli("user", "create", "boss@acme.test", "--tenant", "acme", "--json").output)
    from django.contrib.auth import authenticate

    assert authenticate(username="boss@acme.test", password=data["password"]) is not None


def test_outbox_lists_and_prints(cli):
    setup_list(cli)
    cli("members", "add", "news@lists.acme.test", "ann@example.org")
    from poplist.delivery.services import send_queued
    from poplist.delivery.transport import OutboxTransport

    send_queued(OutboxTransport())
    listing = cli("outbox", "--json")
    [entry] = json.loads(listing.output)
    assert entry["to"] == ["ann@example.org"] and entry["subject"] == "Welcome to News"
    shown = cli("outbox", "show", str(entry["id"]))
    assert "Envelope-From: news-bounces@lists.acme.test" in shown.output and "/u/" in shown.output


def test_every_command_has_help(cli):
    from poplist.cli import main

    def walk(command, path):
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path in walk(main, []):
        result = cli(*path, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output, path


def test_real_process_exit_code_and_stderr(run_poplist):
    result = run_poplist("list", "show", "nope@example.org")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: There is no list nope@example.org."


def test_import_shows_a_progress_bar_on_a_terminal(run_poplist, tmp_path):
    """Run the real command in a pseudo-terminal, as an operator would."""
    import os
    import pty
    import subprocess
    import sys

    from conftest import ROOT, child_env

    assert run_poplist("tenant", "create", "acme", "--name", "Acme", "--domain", "lists.acme.test").returncode == 0
    assert run_poplist("list", "create", "news@lists.acme.test", "--tenant", "acme").returncode == 0
    source = tmp_path / "people.txt"
    source.write_text("".join(f"user{i}@example.org\n" for i in range(20_000)))
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "poplist", "members", "import", "news@lists.acme.test", str(source)],
        env=child_env(),
        cwd=ROOT,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=60) == 0
    text = output.decode(errors="replace")
    assert "importing" in text and "100%" in text
    assert "20000 rows: 20000 added" in text
