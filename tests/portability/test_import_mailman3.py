"""Mailman 3: a list read over the REST API from a fake Mailman on 127.0.0.1, plus a HyperKitty mbox.gz."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
from importing_fixtures import data_fixture, run_import_fixture  # noqa: F401 - fixtures
from mailman3_fake import PASSWORD, USER, FakeMailman

from poplist.archive.models import ArchivedMessage
from poplist.core.errors import InvalidInput, NotFound
from poplist.lists.models import MailingList, Member
from poplist.portability.importers import mailman3
from poplist.portability.models import ImportedSetting

ADDRESS = "ant@lists.acme.test"
HYPERKITTY = b"""From anne@example.com Mon Mar  1 10:00:00 2021
From: Anne Person <anne@example.com>
Subject: [Ant] Hello colony
Date: Mon, 01 Mar 2021 10:00:00 +0000
Message-ID: <a1@example.com>

First!

From bart@example.com Mon Mar  1 11:00:00 2021
From: Bart <bart@example.com>
Subject: Re: [Ant] Hello colony
Date: Mon, 01 Mar 2021 11:00:00 +0000
Message-ID: <a2@example.com>
In-Reply-To: <a1@example.com>

Second.
"""


@pytest.fixture
def mailman():
    with FakeMailman() as fake:
        yield fake


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "ant@example.com.mbox.gz"
    path.write_bytes(gzip.compress(HYPERKITTY))
    return path


def read(mailman, **options):
    return mailman3.read(mailman3.Client(mailman.base, USER, PASSWORD), "ant@example.com", address=ADDRESS, **options)


def test_settings_templates_and_filters(mailman, run_import):
    report = run_import(read(mailman))
    ml = MailingList.objects.get(address=ADDRESS)
    assert (ml.display_name, ml.description) == ("Ant", "Ant colony chat\n\nAll about ants.")
    assert (ml.subscription_policy, ml.roster_visibility, ml.archive_policy) == ("confirm", "owners", "private")
    assert (ml.nonmember_action, ml.reply_to_list, ml.subject_prefix) == ("hold", True, "[Ant]")
    assert (ml.send_welcome, ml.send_goodbye, ml.personalize) == (False, True, False)
    assert (ml.dmarc_mitigation, ml.dmarc_action, ml.bounce_decay_days) == ("when_strict", "munge_from", 7)
    assert (ml.max_message_kb, ml.digest_size_kb) == (40, 30)
    assert ml.footer == ("-- \nAnt mailing list -- ant@lists.acme.test\nTo unsubscribe: {{poplist:unsubscribe_url}}")
    assert ml.welcome_text == "Welcome to Ant! See http://localhost:8000/lists/ant@lists.acme.test/"
    unmapped = {u["source"]: u["reason"] for u in report.unmapped}
    assert "another host" in unmapped["list:user:notice:goodbye"]
    assert not any("other.example" in path for path in mailman.requests)  # never fetched
    kept = {s.key: s.value for s in ImportedSetting.objects.all()}
    assert kept["banned_addresses"] == ["^.*@spam\\.example$", "troll@x.org"]
    assert kept["header_filters"] == [
        {"header": "x-spam-flag", "pattern": "YES", "action": "discard"},
        {"header": "subject", "pattern": "(?i)casino", "action": "hold"},
    ]
    assert (kept["nonmember_accept"], kept["nonmember_discard"]) == (["friend@example.org"], ["pest@example.org"])
    assert kept["acceptable_aliases"] == ["ant@old.example.com"]


def test_members_with_status_mode_moderation_and_consent(mailman, run_import, archive):
    report = run_import(read(mailman, archive=archive))
    ml = MailingList.objects.get(address=ADDRESS)
    roster = {m.email: m for m in Member.objects.filter(mailing_list=ml, role="member")}
    assert set(roster) == {
        "anne@example.com",
        "Bart@example.com",
        "cris@example.com",
        "dana@example.com",
        "eve@example.com",
    }
    anne, bart = roster["anne@example.com"], roster["Bart@example.com"]
    assert (anne.display_name, anne.joined_at, anne.confirmed_at) == (
        "Anne Person",
        datetime(2019, 1, 1, 10, tzinfo=UTC),
        None,
    )
    assert (bart.delivery_mode, bart.status, bart.disabled_reason, bart.moderated) == (
        "mime_digest",
        "disabled",
        "by_user",
        True,
    )
    assert bart.confirmed_at == datetime(2019, 2, 2, 10, tzinfo=UTC)
    assert (roster["cris@example.com"].delivery_mode, roster["cris@example.com"].disabled_reason) == (
        "plain_digest",
        "by_bounces",
    )
    assert roster["dana@example.com"].disabled_reason == "by_user"  # from members/m4/preferences
    assert roster["eve@example.com"].attributes == {"mailman_delivery_mode": "summary_digests"}
    assert "/3.1/members/m4/preferences" in mailman.requests
    roles = set(Member.objects.filter(mailing_list=ml).exclude(role="member").values_list("email", "role"))
    assert roles == {("queen@example.com", "owner"), ("soldier@example.com", "moderator")}
    messages = list(ArchivedMessage.objects.filter(mailing_list=ml).order_by("date"))
    assert [m.message_id for m in messages] == ["<a1@example.com>", "<a2@example.com>"]
    assert messages[1].parent == messages[0] and report.counts["messages_archived"] == 2


def test_rosters_are_read_page_by_page(mailman, run_import, monkeypatch):
    monkeypatch.setattr(mailman3, "PAGE", 2)
    report = run_import(read(mailman))
    assert report.counts["members_added"] == 5
    assert any("roster/member?count=2&page=3" in path for path in mailman.requests)


def test_wrong_credentials_and_unknown_list_are_clear_errors(mailman):
    with pytest.raises(InvalidInput, match="refused these credentials"):
        mailman3.read(mailman3.Client(mailman.base, USER, "wrong"), "ant@example.com")
    with pytest.raises(NotFound, match=r"no lists/bee\.example\.com"):
        mailman3.read(mailman3.Client(mailman.base, USER, PASSWORD), "bee@example.com")
    with pytest.raises(InvalidInput, match="not in the URL"):
        mailman3.Client(f"http://{USER}:{PASSWORD}@127.0.0.1:9/3.1", "", "")
    with pytest.raises(InvalidInput, match="cannot be reached"):
        mailman3.read(mailman3.Client("http://127.0.0.1:9", USER, PASSWORD), "ant@example.com")


def test_cli_reads_the_password_from_the_environment(mailman, run_poplist, tenant, archive):
    result = run_poplist(
        "import-from",
        "mailman3",
        "--url",
        f"{mailman.base}/3.1",
        "--source-list",
        "ant.example.com",
        "--archive",
        str(archive),
        "--tenant",
        "acme",
        "--list",
        ADDRESS,
        env={"POPLIST_MAILMAN3_PASSWORD": PASSWORD},
    )
    assert result.returncode == 0, result.stderr
    assert "created ant@lists.acme.test from mailman3" in result.stdout and "members_added: 5" in result.stdout
    assert PASSWORD not in result.stdout
