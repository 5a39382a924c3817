"""Mailman 2.1: a genuine config.pck (written by Python 2's cPickle) and an archive mbox full of traps."""

from __future__ import annotations

import io
import pickle
from datetime import UTC, datetime

import pytest
from importing_fixtures import data_fixture, run_import_fixture  # noqa: F401 - fixtures

from poplist.archive.models import ArchivedMessage, Thread
from poplist.core.errors import Conflict, InvalidInput
from poplist.lists.models import MailingList, Member
from poplist.portability.importers import mailman2
from poplist.portability.models import ImportedSetting, MigrationRun
from poplist.portability.safepickle import load_config_pck

ADDRESS = "mm-users@lists.acme.test"


@pytest.fixture
def source(data):
    def read(**options):
        return mailman2.read(
            data / "mailman2" / "config.pck", archive=data / "mailman2" / "mm-users.mbox", address=ADDRESS, **options
        )

    return read


def members(mailing_list):
    return {m.email: m for m in Member.objects.filter(mailing_list=mailing_list, role="member")}


def test_settings_are_mapped(source, run_import):
    report = run_import(source())
    ml = MailingList.objects.get(address=ADDRESS)
    assert report.created
    assert ml.display_name == "MM-Users"
    assert ml.description.startswith("Entraide des utilisateurs de Mailman\n\nUne liste pour s'entraider.")
    assert "évitez les pièces jointes" in ml.description  # Latin-1 in the pickle, decoded by the list's charset
    assert (ml.language, ml.subscription_policy, ml.roster_visibility) == ("fr", "confirm_then_moderate", "members")
    assert (ml.archive_policy, ml.nonmember_action) == ("private", "hold")
    assert (ml.new_members_moderated, ml.member_moderation_action) == (True, "reject")
    assert (ml.max_message_kb, ml.max_recipients) == (40, 10)  # max_num_recipients 0 (no limit) keeps the default
    assert ml.subject_prefix == "[MM-Users]"  # Mailman's %d post number is dropped
    assert (ml.send_welcome, ml.send_goodbye, ml.notify_owners_on_membership) == (True, False, True)
    assert ml.welcome_text == "Bienvenue sur MM-Users ! Lisez les règles avant d'écrire."
    assert ml.goodbye_text == "Au revoir, et merci pour tout."
    assert ml.footer.splitlines() == [
        "_______________________________________________",
        "MM-Users mailing list",
        "MM-Users@lists.acme.test",
        "http://localhost:8000/lists/mm-users@lists.acme.test/",
        "Vos options : {{poplist:preferences_url}}",
    ]
    assert (ml.dmarc_mitigation, ml.dmarc_action, ml.reply_to_list, ml.personalize) == (
        "when_strict",
        "munge_from",
        False,
        True,
    )
    assert (ml.digest_size_kb, ml.digest_daily) == (40, True)
    assert (ml.bounce_score_threshold, ml.bounce_decay_days, ml.bounce_warnings) == (5.0, 7, 3)
    unmapped = {u["source"]: u["reason"] for u in report.unmapped}
    assert "passwords are never imported" in unmapped["mod_password"]
    assert "secret-moderator" not in str(report.as_dict())
    assert unmapped["topics"] == "no Poplist equivalent"
    assert "bounce scores restart" in unmapped["bounce_info"]
    assert "digest_footer" in unmapped


def test_sender_lists_and_filters_are_kept_for_the_inbound_app(source, run_import):
    report = run_import(source())
    kept = {s.key: s for s in ImportedSetting.objects.all()}
    assert kept["banned_addresses"].value == ["spammer@bad.example", "^.*@spam\\.example$"]
    assert kept["nonmember_accept"].value == ["boss@example.com"]
    assert kept["nonmember_hold"].value == ["^.*@newcomers\\.example$"]
    assert kept["nonmember_reject"].value == ["troll@example.net"]
    assert kept["nonmember_discard"].value == ["noreply@example.com"]
    assert kept["header_filters"].value == [
        {"header": "x-spam-status", "pattern": "Yes.*", "action": "discard"},
        {"header": "x-spam-flag", "pattern": "YES", "action": "discard"},
        {"header": "subject", "pattern": ".*viagra", "action": "hold"},
        {"header": "to", "pattern": "friend@public.com", "action": "hold"},
    ]
    assert kept["reply_to_address"].value == "discussion@example.org"
    assert kept["acceptable_aliases"].value == ["mm-users@old.example.org", "^mm-users-.*@example\\.org"]
    assert kept["content_filter"].value["filter_filename_extensions"] == ["exe", "bat"]
    assert kept["moderation_notices"].value == {"member": "Vos messages sont modérés."}
    # Inbound applies what it has a home for (inbound/imported.py); the rest waits, kept.
    applied = {"banned_addresses", "nonmember_accept", "nonmember_discard", "header_filters"}
    assert {key for key, s in kept.items() if s.applied_at is not None} == applied
    from poplist.inbound.models import HeaderFilter, SenderFilter

    assert set(SenderFilter.objects.values_list("kind", "pattern")) == {
        ("ban", "spammer@bad.example"),
        ("ban", "^.*@spam\\.example$"),
        ("ban", "noreply@example.com"),
        ("accept", "boss@example.com"),
    }
    assert HeaderFilter.objects.count() == 4
    assert {d["key"] for d in report.deferred} == set(kept)
    assert any("approve actions" in u["reason"] for u in report.unmapped)  # the rule with action 1 (approve)


def test_members_keep_status_digest_moderation_and_options(source, run_import):
    report = run_import(source())
    ml = MailingList.objects.get(address=ADDRESS)
    roster = members(ml)
    assert set(roster) == {
        "alice@example.com",
        "Bob@example.com",
        "carol@example.net",
        "dave@example.net",
        "erin@example.org",
        "frank@bounce.example",
        "gina@example.com",
        "hugo@example.fr",
    }
    assert ml.member_count == 8
    assert report.counts["rejected"] == 1 and report.rejections[0]["value"] == "not-an-address"
    alice, bob = roster["alice@example.com"], roster["Bob@example.com"]  # Bob keeps the case he wrote
    assert alice.display_name == "Alice Martin" and alice.attributes == {
        "mailman_options": ["acknowledge_posts", "conceal_subscription"],
        "language": "en",
    }
    assert bob.moderated and bob.display_name == "Bob Édouard" and not alice.moderated
    assert roster["carol@example.net"].attributes["mailman_options"] == ["not_me_too", "no_duplicates"]
    assert [
        (m.status, m.disabled_reason)
        for m in (roster["dave@example.net"], roster["erin@example.org"], roster["frank@bounce.example"])
    ] == [
        ("disabled", "by_user"),
        ("disabled", "by_owner"),
        ("disabled", "by_bounces"),
    ]
    assert roster["dave@example.net"].disabled_at == datetime(2010, 1, 2, tzinfo=UTC)
    assert (roster["gina@example.com"].delivery_mode, roster["hugo@example.fr"].delivery_mode) == (
        "plain_digest",
        "mime_digest",
    )
    assert roster["hugo@example.fr"].display_name == "Hugo Léger"
    assert {m.joined_via for m in roster.values()} == {"migration"}
    assert {m.joined_ref for m in roster.values()} == {"mailman2:mm-users"}
    roles = set(Member.objects.filter(mailing_list=ml).exclude(role="member").values_list("email", "role"))
    assert roles == {
        ("admin@example.org", "owner"),
        ("Second.Owner@example.org", "owner"),
        ("mod@example.org", "moderator"),
    }


def test_archive_is_threaded_and_copes_with_mbox_traps(source, run_import):
    report = run_import(source())
    ml = MailingList.objects.get(address=ADDRESS)
    messages = {m.subject: m for m in ArchivedMessage.objects.filter(mailing_list=ml)}
    assert len(messages) == 5 and report.counts["messages_archived"] == 5
    first = messages["[MM-Users 1] Bienvenue"]
    # The unescaped "From " lines stayed in the first message's body.
    assert b"From bob@example.com Mon Jan  4 10:00:00 2010\r\nwrote a line" in bytes(first.raw)
    assert b"From admin@example.org Sat Jan  2 08:00:00 2010\r\nwas quoted" in bytes(first.raw)
    assert report.counts["unescaped_from_lines"] == 3
    reply = messages["Re: [MM-Users 1] Bienvenue"]  # its separator line is Latin-1
    assert reply.parent == first and reply.thread == first.thread
    assert b"\r\nFrom the manual: read it.\r\n>From a deeper quote." in bytes(reply.raw)  # mboxrd unquoting
    no_id = messages["Re: Bienvenue"]  # no Message-ID, ISO date: joins the thread by subject
    assert no_id.message_id.endswith("@poplist.invalid>") and no_id.thread == first.thread
    assert no_id.date == datetime(2010, 1, 6, 9, 30, tzinfo=UTC)
    no_date = messages["Question sur les digests"]
    assert no_date.date == datetime(2010, 1, 7, 8, 15, tzinfo=UTC)  # from the separator line
    assert messages["RE: [MM-Users 4] Question sur les digests"].thread == no_date.thread
    assert Thread.objects.filter(mailing_list=ml).count() == 2
    assert (report.counts["messages_without_message_id"], report.counts["messages_with_odd_date"]) == (1, 1)
    assert report.counts["messages_dated_by_separator"] == 1
    assert all(bytes(m.raw).count(b"\n") == bytes(m.raw).count(b"\r\n") for m in messages.values())


def test_reimport_is_idempotent(source, run_import):
    run_import(source())
    again = run_import(source())
    ml = MailingList.objects.get(address=ADDRESS)
    assert not again.created and ml.member_count == 8
    assert (again.counts["members_added"], again.counts["members_existing"]) == (0, 8)
    assert (again.counts["messages_archived"], again.counts["messages_already_archived"]) == (0, 5)
    assert Member.objects.filter(mailing_list=ml).count() == 8 + 3
    assert MigrationRun.objects.filter(mailing_list=ml).count() == 2
    assert ImportedSetting.objects.filter(mailing_list=ml).count() == 10


def test_an_import_is_all_or_nothing(source, run_import, tenant):
    tenant.quota_members = 5
    tenant.save()
    with pytest.raises(Conflict, match="quota"):
        run_import(source())
    assert not MailingList.objects.filter(address=ADDRESS).exists()
    assert not ArchivedMessage.objects.exists() and not ImportedSetting.objects.exists()


def test_an_existing_list_is_not_overwritten_without_merge(source, run_import, make_list):
    make_list("mm-users")
    with pytest.raises(Conflict, match="--merge"):
        run_import(source())
    report = run_import(source(), merge=True)
    assert report.counts["members_added"] == 8


class Evil:
    def __reduce__(self):
        return (exec, ("open('/tmp/poplist-pwned', 'w').close()",))


@pytest.mark.parametrize(
    "payload",
    [
        b"cos\nsystem\n(S'touch /tmp/poplist-pwned'\ntR.",  # Python 2 protocol 0: os.system
        b"cposix\nsystem\n(S'touch /tmp/poplist-pwned'\ntR.",
        b'c__builtin__\neval\n(S\'__import__("os").system("touch /tmp/poplist-pwned")\'\ntR.',
        pickle.dumps(Evil(), protocol=4),  # builtins.exec through STACK_GLOBAL
        # The one allowed class, but called with arguments through REDUCE.
        b"cMailman.Bouncer\n_BounceInfo\n(S'x'\ntR.",
        b"ccopy_reg\n_reconstructor\n(cos\nsystem\nc__builtin__\nobject\nNtR.",
        b"(I1\nP0\n.",  # a persistent id
    ],
)
def test_a_malicious_config_pck_is_refused_and_runs_nothing(payload, tmp_path):
    import os

    if os.path.exists("/tmp/poplist-pwned"):
        os.unlink("/tmp/poplist-pwned")
    with pytest.raises(InvalidInput, match=r"not a Mailman 2\.1 list configuration Poplist can read safely"):
        load_config_pck(io.BytesIO(payload))
    assert not os.path.exists("/tmp/poplist-pwned")


def test_a_file_that_is_not_a_pickle_is_a_clear_error(tmp_path, tenant):
    bad = tmp_path / "config.pck"
    bad.write_bytes(b"this is not a pickle")
    with pytest.raises(InvalidInput, match="nothing was imported"):
        mailman2.read(bad, address=ADDRESS)


def test_the_fixture_is_what_mailman_writes(data):
    """Protocol 1, builtins only, plus the classic _BounceInfo instance (OBJ + BUILD)."""
    import pickletools

    raw = (data / "mailman2" / "config.pck").read_bytes()
    opcodes = {op.name for op, _arg, _pos in pickletools.genops(raw)}
    assert {"GLOBAL", "OBJ", "BUILD", "SHORT_BINSTRING", "BINUNICODE", "BINFLOAT", "EMPTY_DICT"} <= opcodes
    assert not {"PROTO", "NEWOBJ", "STACK_GLOBAL", "REDUCE"} & opcodes
    globals_ = [arg for op, arg, _pos in pickletools.genops(raw) if op.name == "GLOBAL"]
    assert globals_ == ["Mailman.Bouncer _BounceInfo"]


def test_cli_imports_and_reports(run_poplist, data, tenant):
    result = run_poplist(
        "import-from",
        "mailman2",
        str(data / "mailman2" / "config.pck"),
        "--archive",
        str(data / "mailman2" / "mm-users.mbox"),
        "--tenant",
        "acme",
        "--list",
        ADDRESS,
    )
    assert result.returncode == 0, result.stderr
    assert "created mm-users@lists.acme.test from mailman2 list mm-users" in result.stdout
    assert "members_added: 8" in result.stdout and "banned_addresses (2) from ban_list" in result.stdout
    shown = run_poplist("import-from", "report", ADDRESS)
    assert "kept banned_addresses from mailman2 ban_list: applied" in shown.stdout
    assert "kept nonmember_hold from mailman2 hold_these_nonmembers: waiting" in shown.stdout
    refused = run_poplist("import-from", "mailman2", str(data / "mailman2" / "mm-users.mbox"), "--tenant", "acme")
    assert refused.returncode == 2 and "error:" in refused.stderr and "Traceback" not in refused.stderr


def test_dry_run_writes_nothing(cli, data, tenant):
    result = cli(
        "import-from",
        "mailman2",
        str(data / "mailman2" / "config.pck"),
        "--tenant",
        "acme",
        "--list",
        ADDRESS,
        "--dry-run",
    )
    assert result.exit_code == 0 and "dry run: nothing was written" in result.output
    assert not MailingList.objects.filter(address=ADDRESS).exists()


def test_the_archive_policy_is_in_place_before_the_first_message_is_archived(source, run_import, monkeypatch):
    from poplist.portability import services

    seen = []
    real = services.archive_message

    def spy(mailing_list, raw, **options):
        seen.append(MailingList.objects.get(pk=mailing_list.pk).archive_policy)  # what the database holds then
        return real(mailing_list, raw, **options)

    monkeypatch.setattr(services, "archive_message", spy)
    run_import(source())
    assert seen == ["private"] * 5
