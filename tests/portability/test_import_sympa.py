"""Sympa: a list directory after `sympa.pl --dump`, its config file and its arctxt archives."""

from __future__ import annotations

from datetime import UTC, datetime

from importing_fixtures import data_fixture, run_import_fixture  # noqa: F401 - fixtures

from poplist.archive.models import ArchivedMessage
from poplist.lists.models import MailingList, Member
from poplist.portability.importers import sympa
from poplist.portability.importers.sympa_config import parse_config
from poplist.portability.models import ImportedSetting

ADDRESS = "sympa-users@lists.acme.test"


def read(data, **options):
    return sympa.read(
        data / "sympa" / "lists.example.org" / "sympa-users",
        archive=data / "sympa" / "arc" / "sympa-users@lists.example.org",
        address=ADDRESS,
        **options,
    )


def test_config_paragraphs_are_parsed():
    config = parse_config("subject A list\n\narchive\n  web_access private\n  period month\n\nlang fr\nmax_size 10\n")
    assert config == [
        ("subject", "A list"),
        ("archive", {"web_access": "private", "period": "month"}),
        ("lang", "fr"),
        ("max_size", "10"),
    ]


def test_settings_files_and_filters(data, run_import):
    report = run_import(read(data))
    ml = MailingList.objects.get(address=ADDRESS)
    assert (
        ml.description == "Entraide autour de Sympa\n\nCette liste réunit les utilisateurs de Sympa.\nPas de publicité."
    )
    assert (ml.language, ml.nonmember_action, ml.subscription_policy) == ("fr", "hold", "confirm_then_moderate")
    assert (ml.archive_policy, ml.roster_visibility, ml.reply_to_list, ml.digest_daily) == (
        "private",
        "members",
        True,
        True,
    )
    assert (ml.subject_prefix, ml.max_message_kb) == ("[Sympa-Users]", 2048)
    assert ml.footer == (
        "-- \nListe sympa-users@lists.acme.test : http://localhost:8000/lists/sympa-users@lists.acme.test/\n"
        "Se desabonner : {{poplist:unsubscribe_url}}"
    )
    assert ml.welcome_text == "Bienvenue sur sympa-users ! Présentez-vous."
    unmapped = {u["source"]: u["reason"] for u in report.unmapped}
    assert "data sources are not followed" in unmapped["include_ldap_query"]
    assert unmapped["bounce"] == "no Poplist equivalent" and "unsubscribe" in unmapped
    banned = ImportedSetting.objects.get(key="banned_addresses")
    assert banned.value == ["spam@example.com", "^.*@junk\\.example$"]


def test_members_roles_and_consent_dates(data, run_import):
    report = run_import(read(data))
    ml = MailingList.objects.get(address=ADDRESS)
    roster = {m.email: m for m in Member.objects.filter(mailing_list=ml, role="member")}
    assert set(roster) == {
        "anne@example.org",
        "Bruno@example.org",
        "chloe@example.net",
        "denis@example.net",
        "eve@example.com",
        "fred@example.com",
    }
    assert report.counts["rejected"] == 1  # broken@@example.com
    anne = roster["anne@example.org"]
    assert (anne.display_name, anne.joined_at, anne.joined_via) == (
        "Anne Dupont",
        datetime(2021, 1, 1, 12, tzinfo=UTC),
        "migration",
    )
    assert roster["Bruno@example.org"].delivery_mode == "mime_digest"
    assert roster["Bruno@example.org"].attributes == {"conceal": True, "custom_city": "Lyon"}
    assert roster["chloe@example.net"].delivery_mode == "plain_digest"
    assert (roster["denis@example.net"].status, roster["denis@example.net"].disabled_reason) == ("disabled", "by_user")
    assert roster["denis@example.net"].attributes["sympa_bounce_score"] == "42"
    eve = roster["eve@example.com"]
    assert (eve.status, eve.disabled_at) == ("disabled", datetime(2021, 4, 1, tzinfo=UTC))
    assert roster["fred@example.com"].attributes == {"sympa_included": "1"}
    roles = set(
        Member.objects.filter(mailing_list=ml).exclude(role="member").values_list("email", "role", "display_name")
    )
    assert roles == {
        ("owner@example.org", "owner", "Olga Owner"),
        ("co-owner@example.org", "owner", ""),
        ("moderator@example.org", "moderator", "Marc Moderateur"),
    }


def test_arctxt_archives_are_threaded_in_order(data, run_import):
    report = run_import(read(data))
    messages = list(ArchivedMessage.objects.order_by("date"))
    assert [m.message_id for m in messages] == ["<s1@example.org>", "<s2@example.org>", "<s3@example.net>"]
    assert messages[1].parent == messages[0] and messages[2].thread != messages[0].thread
    assert report.counts["messages_archived"] == 3
    again = run_import(read(data))
    assert again.counts["messages_archived"] == 0 and again.counts["members_added"] == 0
