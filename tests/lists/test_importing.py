"""Bulk import: formats, per-row rejections, duplicates, suppressions, idempotence, crashes."""

import io
import signal
import time

import pytest

from poplist.core.errors import InvalidInput, QuotaExceeded
from poplist.lists import importing, services
from poplist.lists.models import ImportRun, Member, PendingRequest
from poplist.testing.mail import queued


def run_import(mailing_list, text: str | bytes, **options):
    data = text.encode() if isinstance(text, str) else text
    rejections = []
    report = importing.import_members(
        mailing_list, io.BytesIO(data), source="test.csv", on_reject=rejections.append, **options
    )
    return report, rejections


def emails(mailing_list):
    return sorted(Member.objects.filter(mailing_list=mailing_list, role="member").values_list("email", flat=True))


def test_csv_with_header_names_and_attributes(mailing_list):
    report, rejections = run_import(
        mailing_list,
        (
            "Email,Name,City\n"
            "ann@example.org,Ann Arbor,Lyon\n"
            "BOB@Example.org,,Paris\n"
            "not-an-address,Nobody,Nowhere\n"
            "ann@example.org,Ann again,Nice\n"
        ),
    )
    assert (report.rows, report.added, report.skipped_existing, report.rejected) == (4, 2, 1, 1)
    assert [(r.line, r.reason) for r in rejections] == [(4, "it has no @")]
    ann = Member.objects.get(email="ann@example.org")
    assert ann.display_name == "Ann Arbor"  # the first of repeated rows wins
    assert ann.attributes == {"City": "Lyon"}
    assert ann.joined_via == "import"
    assert emails(mailing_list) == ["BOB@example.org", "ann@example.org"]
    mailing_list.refresh_from_db()
    assert mailing_list.member_count == 2
    assert ImportRun.objects.get().added == 2


def test_semicolon_csv_and_quoted_fields(mailing_list):
    report, _ = run_import(mailing_list, 'e-mail;nom\n"zoé@exemple.fr";"Zoé; la grande"\n')
    assert report.added == 1
    assert Member.objects.get(role="member").display_name == "Zoé; la grande"


def test_plain_lines_and_name_address_lines(mailing_list):
    report, rejections = run_import(
        mailing_list,
        (
            "# exported from somewhere\n"
            "ann@example.org\n"
            "\n"
            "Bob Smith <bob@example.org>\n"
            '"Doe, Jane" <jane@example.org>\n'
            "garbage <>\n"
        ),
    )
    assert report.added == 3
    assert [r.line for r in rejections] == [6]
    assert Member.objects.get(email="jane@example.org").display_name == "Doe, Jane"


def test_reimport_is_idempotent(mailing_list):
    data = "email\n" + "".join(f"user{i}@example.org\n" for i in range(500))
    first, _ = run_import(mailing_list, data)
    second, _ = run_import(mailing_list, data)
    assert (first.added, second.added, second.skipped_existing) == (500, 0, 500)
    mailing_list.refresh_from_db()
    assert mailing_list.member_count == 500


def test_suppressed_addresses_are_never_re_added(mailing_list, tenant):
    services.suppress(mailing_list, "left@example.org", "unsubscribed")
    services.suppress(None, "complained@example.org", "complaint", tenant=tenant)
    report, _ = run_import(mailing_list, "left@example.org\ncomplained@example.org\nnew@example.org\n")
    assert (report.added, report.skipped_suppressed) == (1, 2)
    assert emails(mailing_list) == ["new@example.org"]


def test_broken_encoding_refuses_the_whole_file(mailing_list):
    data = b"email\nann@example.org\nbob@exam\xe9ple.org\n"
    with pytest.raises(InvalidInput, match="Line 3 is not valid utf-8"):
        run_import(mailing_list, data)
    assert emails(mailing_list) == []
    report, _ = run_import(mailing_list, data, encoding="latin-1")
    assert report.added == 2


def test_missing_email_column_is_a_clear_error(mailing_list):
    with pytest.raises(InvalidInput, match="no email column; it has: name, city"):
        run_import(mailing_list, "name,city\nAnn,Lyon\n")
    assert emails(mailing_list) == []


def test_utf8_bom_and_crlf(mailing_list):
    report, _ = run_import(mailing_list, "\ufeffemail,name\r\nann@example.org,Ann\r\n".encode())
    assert report.added == 1 and Member.objects.get(role="member").display_name == "Ann"


def test_quota_overflow_imports_nothing(mailing_list, tenant):
    tenant.quota_members = 3
    tenant.save()
    mailing_list.tenant.quota_members = 3
    with pytest.raises(QuotaExceeded):
        run_import(mailing_list, "".join(f"u{i}@example.org\n" for i in range(5)))
    assert emails(mailing_list) == []


def test_confirm_mode_sends_invitations_once(mailing_list):
    data = "a@example.org\nb@example.org\na@example.org\n"
    report, _ = run_import(mailing_list, data, mode="confirm")
    assert (report.invited, report.skipped_existing) == (2, 1)
    assert emails(mailing_list) == []
    assert len(queued("confirm_invite")) == 2
    again, _ = run_import(mailing_list, data, mode="confirm")
    assert again.invited == 0  # already invited: nobody is mailed twice
    assert PendingRequest.objects.filter(kind="invite").count() == 2


@pytest.mark.slow
def test_kill_during_import_leaves_nothing_half_done(run_poplist, tmp_path):
    """kill -9 the importing process at several moments: the list has all the rows or none."""
    import subprocess
    import sys

    from conftest import ROOT, child_env

    assert run_poplist("tenant", "create", "acme", "--name", "Acme", "--domain", "lists.acme.test").returncode == 0
    assert run_poplist("list", "create", "big@lists.acme.test", "--tenant", "acme").returncode == 0
    rows = 200_000
    path = tmp_path / "big.csv"
    path.write_text("email,name\n" + "".join(f"user{i}@example.org,User {i}\n" for i in range(rows)))
    counts = []
    for delay in (0.3, 0.8, 1.5):
        process = subprocess.Popen(
            [sys.executable, "-m", "poplist", "members", "import", "big@lists.acme.test", str(path)],
            env=child_env(),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        count = Member.objects.filter(mailing_list__address="big@lists.acme.test", role="member").count()
        assert count in (0, rows)
        counts.append(count)
    finished = run_poplist("members", "import", "big@lists.acme.test", str(path), timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert Member.objects.filter(mailing_list__address="big@lists.acme.test", role="member").count() == rows
    assert 0 in counts  # at least one kill landed before the end


def test_names_with_tabs_backslashes_and_line_breaks_are_cleaned(mailing_list):
    report, _ = run_import(mailing_list, 'email,name,note\nann@example.org,"Ann\tB\\\\C\nD","x\\\\y"\n')
    assert report.added == 1
    ann = Member.objects.get(role="member")
    assert ann.display_name == "Ann B\\\\C D"
    assert ann.attributes == {"note": "x\\\\y"}


def test_an_import_racing_a_subscription_still_completes(mailing_list, monkeypatch):
    """On PostgreSQL the fast path filters first; a concurrent insert makes it fall back to ON CONFLICT."""
    monkeypatch.setitem(importing._PG_FAST, "select", "")  # duplicates now collide inside the fast path
    report, _ = run_import(mailing_list, "a@example.org\nb@example.org\na@example.org\n")
    assert (report.added, report.skipped_existing) == (2, 1)
    assert emails(mailing_list) == ["a@example.org", "b@example.org"]


def test_a_file_of_several_batches_keeps_first_lines_and_skips_suppressed(mailing_list, monkeypatch, tenant):
    monkeypatch.setattr(importing, "BATCH", 3)
    services.suppress(mailing_list, "gone@example.org", reason="unsubscribed")
    lines = [f"user{i}@example.org" for i in range(20)]
    lines[13] = "user2@example.org"  # a repeat in a later batch: the first line stays
    lines[17] = "gone@example.org"
    lines[18] = "broken"
    report, rejections = run_import(mailing_list, "\n".join(lines) + "\n")
    assert (report.rows, report.added, report.skipped_existing, report.skipped_suppressed, report.rejected) == (
        20,
        17,
        1,
        1,
        1,
    )
    assert [r.line for r in rejections] == [19]
    assert len(emails(mailing_list)) == 17


def test_an_undecodable_line_late_in_a_long_file_leaves_nothing(mailing_list, monkeypatch):
    monkeypatch.setattr(importing, "BATCH", 2)
    data = "".join(f"user{i}@example.org\n" for i in range(30)).encode() + b"caf\xe9@example.org\n"
    with pytest.raises(InvalidInput, match="Line 31"):
        run_import(mailing_list, data)
    assert emails(mailing_list) == []
    assert not ImportRun.objects.exists()


def test_blank_and_short_rows_in_a_csv(mailing_list):
    """Whitespace-only lines are skipped silently; a row without the name column gets no name."""
    single, rejections = run_import(mailing_list, "email\n   \nann@example.org\n\n\t\nbob@example.org\n")
    assert (single.rows, single.added, single.rejected, rejections) == (2, 2, 0, [])
    assert Member.objects.get(email="ann@example.org").attributes == {}
    report, rejections = run_import(mailing_list, "city,email,name\nLyon\nParis,zoe@example.org\n")
    assert (report.added, [(r.line, r.reason) for r in rejections]) == (1, [(2, "the row has no email field")])
    zoe = Member.objects.get(email="zoe@example.org")
    assert (zoe.display_name, zoe.attributes) == ("", {"city": "Paris"})


def test_repeats_are_found_by_exact_address_whatever_the_sort(mailing_list):
    """PostgreSQL sorts the stage by bytes: addresses differing only in a local part's case stay two members."""
    report, _ = run_import(
        mailing_list,
        "email,name\nzoé@exemple.fr,First\nZoé@exemple.fr,Capital\nzoé@EXEMPLE.fr,Second\nÉlodie@exemple.fr,É\n",
    )
    assert (report.added, report.skipped_existing) == (3, 1)
    assert emails(mailing_list) == sorted(["zoé@exemple.fr", "Zoé@exemple.fr", "Élodie@exemple.fr"])
    assert Member.objects.get(email="zoé@exemple.fr").display_name == "First"


def test_an_address_added_by_another_session_during_the_move_is_not_added_twice(mailing_list):
    """A subscription commits one of the file's addresses while the move waits on it: no duplicate, no loss."""
    import threading

    import psycopg
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing can race the move")
    other = psycopg.connect(**connection.get_connection_params())
    other.execute(
        "INSERT INTO lists_member (mailing_list_id, email, display_name, role, delivery_mode, status, "
        "disabled_reason, moderated, attributes, joined_via, joined_at, joined_ref) "
        "VALUES (%s, 'b@example.org', 'Web', 'member', 'regular', 'enabled', '', false, '{}', 'web', now(), '')",
        [mailing_list.pk],
    )  # not committed yet: the move's insert of b@example.org waits for this session

    seen_waiting = []

    def commit_once_the_move_waits() -> None:
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as watcher:
            for _ in range(200):
                waiting = watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                    "AND query LIKE 'INSERT INTO lists_member%'"
                ).fetchone()
                if waiting:
                    seen_waiting.append(True)
                    break
                time.sleep(0.05)
        other.commit()

    committer = threading.Thread(target=commit_once_the_move_waits)
    committer.start()
    try:
        report, _ = run_import(mailing_list, "a@example.org\nb@example.org\nc@example.org\n")
        committer.join()
        assert seen_waiting  # the move really waited on the other session, then fell back to ON CONFLICT
        assert (report.added, report.skipped_existing) == (2, 1)
        rows = Member.objects.filter(mailing_list=mailing_list, role="member").order_by("email")
        assert [(m.email, m.joined_via) for m in rows] == [
            ("a@example.org", "import"),
            ("b@example.org", "web"),
            ("c@example.org", "import"),
        ]
    finally:
        committer.join()
        other.execute("DELETE FROM lists_member WHERE mailing_list_id = %s", [mailing_list.pk])
        other.commit()
        other.close()
