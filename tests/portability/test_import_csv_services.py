"""listmonk and Mailchimp: CSV exports (and ZIPs of them), consent records and suppressions."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta, timezone

from importing_fixtures import data_fixture, run_import_fixture  # noqa: F401 - fixtures

from poplist.lists.models import MailingList, Member, Suppression
from poplist.portability.dates import parse_date
from poplist.portability.importers import listmonk, mailchimp

LIST = "news@lists.acme.test"


def zip_of(folder, target):
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"members_export_4f2a9c/{path.name}")
    return target


def roster():
    return {m.email: m for m in Member.objects.filter(mailing_list__address=LIST, role="member")}


def test_dates_as_other_systems_write_them():
    assert parse_date("2021-05-08 10:20:03.123456789 +0000 UTC") == datetime(2021, 5, 8, 10, 20, 3, 123456, tzinfo=UTC)
    assert parse_date("2022-01-15 08:00:00 +0100 CET") == datetime(2022, 1, 15, 8, tzinfo=timezone(timedelta(hours=1)))
    assert parse_date("2019-03-04 10:11:12") == datetime(2019, 3, 4, 10, 11, 12, tzinfo=UTC)
    assert parse_date("Thu, 7 Jan 2010 10:00:00 +0100 (CET)").utcoffset() == timedelta(hours=1)
    assert parse_date("Thu Jan  7 08:15:00 2010") == datetime(2010, 1, 7, 8, 15, tzinfo=UTC)
    assert parse_date("Thu Jan 02 10:00:00 +0000 2020") == datetime(2020, 1, 2, 10, tzinfo=UTC)
    assert parse_date("1609502400") == datetime(2021, 1, 1, 12, tzinfo=UTC)
    assert parse_date("0") is None and parse_date("not a date") is None and parse_date("") is None


def test_listmonk_export(data, run_import):
    report = run_import(listmonk.read(data / "listmonk" / "subscribers.csv", address=LIST))
    members = roster()
    assert set(members) == {"ada@example.org", "grace@example.org", "linus@example.org", "odd@example.org"}
    ada = members["ada@example.org"]
    assert ada.attributes == {
        "city": "London",
        "projects": ["engine"],
        "vip": True,
        "listmonk_uuid": "6f9a4c3e-1b2d-4e5f-8a9b-0c1d2e3f4a5b",
    }
    assert (
        ada.joined_at == datetime(2021, 5, 8, 10, 20, 3, 123456, tzinfo=UTC)
        and ada.joined_ref == "listmonk:subscribers"
    )
    assert members["grace@example.org"].joined_at == datetime(2022, 1, 15, 7, tzinfo=UTC)
    linus = members["linus@example.org"]
    assert (linus.status, linus.disabled_reason, linus.disabled_at) == (
        "disabled",
        "by_owner",
        datetime(2023, 3, 1, 9, 30, tzinfo=UTC),
    )
    assert members["odd@example.org"].attributes["listmonk_attributes"] == "not json"
    blocked = Suppression.objects.get(email="spammer@junk.example")
    assert blocked.mailing_list is None and blocked.reason == "manual"  # listmonk's blocklist is tenant-wide
    assert (report.counts["rejected"], report.counts["attributes_unreadable"]) == (1, 1)
    assert MailingList.objects.get(address=LIST).archive_policy == "private"


def test_listmonk_zip_of_csvs_merges_them(data, run_import, tmp_path):
    report = run_import(listmonk.read(zip_of(data / "listmonk", tmp_path / "listmonk.zip"), address=LIST))
    # Files are read in name order and the first row of an address wins: import-format.csv first.
    assert "margaret@example.org" in roster() and roster()["ada@example.org"].display_name == "Ada (again)"
    assert report.counts["members_added"] == 5 and report.counts["members_repeated"] == 1


def test_mailchimp_audience_export(data, run_import, tmp_path):
    report = run_import(mailchimp.read(zip_of(data / "mailchimp", tmp_path / "audience.zip"), address=LIST))
    members = roster()
    assert set(members) == {"rosa@example.org", "jean@example.fr"}
    rosa = members["rosa@example.org"]
    assert rosa.display_name == "Rosa Parks"
    assert (rosa.joined_at, rosa.confirmed_at, rosa.joined_ip) == (
        datetime(2019, 3, 4, 10, 11, 12, tzinfo=UTC),
        datetime(2019, 3, 4, 10, 15, tzinfo=UTC),
        "203.0.113.7",
    )
    assert rosa.attributes["consent"] == {
        "optin_time": "2019-03-04 10:11:12",
        "optin_ip": "203.0.113.7",
        "confirm_time": "2019-03-04 10:15:00",
        "confirm_ip": "203.0.113.8",
    }
    assert rosa.attributes["Company"] == "Library" and rosa.attributes["Phone Number"] == "+1 555 0100"
    assert rosa.attributes["mailchimp"]["tags"] == '"Founders","VIP"'
    jean = members["jean@example.fr"]  # no opt-in time: the confirmation is the consent
    assert (jean.joined_at, jean.joined_ip) == (datetime(2020, 6, 18, 18, tzinfo=UTC), "198.51.100.23")
    suppressed = {s.email: s for s in Suppression.objects.all()}
    assert suppressed["left@example.org"].reason == "unsubscribed"
    assert "I no longer want to receive these emails" in suppressed["left@example.org"].note
    assert suppressed["gone@example.net"].reason == "cleaned"
    assert all(s.mailing_list.address == LIST for s in suppressed.values())
    assert report.counts["rejected"] == 1  # nope@example
    again = run_import(mailchimp.read(data / "mailchimp", address=LIST))  # the unzipped folder reads the same
    assert again.counts["members_added"] == 0 and again.counts["members_existing"] == 2


def test_an_unsubscribed_address_is_not_added_back(data, run_import, tmp_path):
    (tmp_path / "subscribed_members_export_1.csv").write_text("Email Address\nleft@example.org\n")
    (tmp_path / "unsubscribed_members_export_1.csv").write_text("Email Address\nleft@example.org\n")
    report = run_import(mailchimp.read(tmp_path, address=LIST))
    assert roster() == {} and report.counts["members_suppressed"] == 1


def test_not_a_mailchimp_export_is_a_clear_error(tmp_path, run_import):
    import pytest

    from poplist.core.errors import InvalidInput

    (tmp_path / "contacts.csv").write_text("email\na@example.org\n")
    with pytest.raises(InvalidInput, match="Mailchimp audience export"):
        mailchimp.read(tmp_path, address=LIST)
