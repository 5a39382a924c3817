"""Google Groups: a Vault export (ZIP holding the membership CSV, metadata and a ZIP of mbox files)."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

import pytest
from importing_fixtures import data_fixture, run_import_fixture  # noqa: F401 - fixtures

from poplist.accounts.services import add_domain
from poplist.archive.models import ArchivedMessage
from poplist.core.errors import InvalidInput
from poplist.lists.models import MailingList, Member
from poplist.portability.importers import google_groups


@pytest.fixture
def export(data, tmp_path):
    """The download as Vault gives it: export.zip with export-1.zip (the mbox files) beside the CSV."""
    folder = data / "google"
    inner = tmp_path / "export-1.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        for mbox in sorted((folder / "mbox").iterdir()):
            archive.write(mbox, mbox.name)
    outer = tmp_path / "export.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(folder / "export-group-membership.csv", "export/export-group-membership.csv")
        archive.write(folder / "export-metadata.xml", "export/export-metadata.xml")
        archive.write(inner, "export/export-1.zip")
    return outer


def test_each_group_becomes_a_list_with_its_archive(export, run_import, tenant):
    sources = google_groups.read(export, domain="lists.acme.test")
    assert [s.address for s in sources] == ["news@lists.acme.test", "team@lists.acme.test"]
    reports = [run_import(source) for source in sources]
    news = MailingList.objects.get(address="news@lists.acme.test")
    members = {m.email: m for m in Member.objects.filter(mailing_list=news, role="member")}
    # Owners and managers receive a group's mail, so they are members too; a nested group is not.
    assert set(members) == {"owner@example.com", "manager@example.com", "reader@example.org", "outside@partner.example"}
    assert members["reader@example.org"].joined_at == datetime(2020, 5, 5, 8, 30, tzinfo=UTC)
    assert members["outside@partner.example"].attributes == {"google_role": "MEMBER", "google_type": "EXTERNAL"}
    roles = set(Member.objects.filter(mailing_list=news).exclude(role="member").values_list("email", "role"))
    assert roles == {("owner@example.com", "owner"), ("manager@example.com", "moderator")}
    assert any("nested group" in u["reason"] for u in reports[0].unmapped)
    assert news.archive_policy == "private"  # Vault does not say: never public by guessing
    threads = ArchivedMessage.objects.filter(mailing_list=news).order_by("date")
    assert [m.message_id for m in threads] == ["<g1@example.com>", "<g2@example.org>"]
    assert threads[1].parent == threads[0]
    assert list(
        ArchivedMessage.objects.filter(mailing_list__address="team@lists.acme.test").values_list(
            "message_id", flat=True
        )
    ) == ["<t1@example.com>"]


def test_one_group_at_its_own_address(export, run_import, tenant):
    add_domain(tenant, "groups.example.com")
    (source,) = google_groups.read(export, group="team@groups.example.com")
    report = run_import(source)
    assert report.address == "team@groups.example.com" and report.counts["members_added"] == 2


def test_a_group_not_in_the_export_is_a_clear_error(export):
    with pytest.raises(InvalidInput, match="no group"):
        google_groups.read(export, group="other@groups.example.com")


def test_cli_with_a_folder(run_poplist, data, tmp_path, tenant):
    folder = tmp_path / "vault"
    folder.mkdir()
    (folder / "export-group-membership.csv").write_bytes((data / "google" / "export-group-membership.csv").read_bytes())
    (folder / "news@groups.example.com.mbox").write_bytes(
        (data / "google" / "mbox" / "news@groups.example.com.mbox").read_bytes()
    )
    result = run_poplist(
        "import-from",
        "google-groups",
        str(folder),
        "--group",
        "news@groups.example.com",
        "--list",
        "news@lists.acme.test",
        "--tenant",
        "acme",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert '"messages_archived": 2' in result.stdout and '"members_added": 4' in result.stdout
