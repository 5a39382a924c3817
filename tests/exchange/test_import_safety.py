"""Import checks everything before writing, is all or nothing per tenant, and refuses hostile archives."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from poplist.core.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported(rich_instance, tmp_path):
    """The rich instance exported to a folder, then emptied (so the export can come back)."""
    from poplist.exchange.services import export

    export(tmp_path / "export")
    wipe()
    return tmp_path / "export"


def wipe(**where) -> None:
    from poplist.accounts.models import Tenant
    from poplist.lists.models import MailingList

    MailingList.objects.filter(**{f"tenant__{k}": v for k, v in where.items()}).delete()  # domains are PROTECTed
    Tenant.objects.filter(**where).delete()


def rewrite_manifest(root: Path, change) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_tar_gz_round_trip_through_the_cli_with_a_rename(exported, tmp_path, cli):
    from poplist.accounts.models import Tenant
    from poplist.lists.models import Member

    out = tmp_path / "all.tar.gz"
    assert cli("import", str(exported)).exit_code == 0
    result = cli("export", "--tenant", "globex", "--json", str(out))
    assert result.exit_code == 0, result.output
    wipe(slug="globex")
    result = cli("import", "--tenant-rename", "globex=globex2", str(out))
    assert result.exit_code == 0, result.output
    assert "imported globex2 (from globex)" in result.output
    assert Tenant.objects.get(slug="globex2").status == "suspended"
    assert Member.objects.filter(mailing_list__tenant__slug="globex2").count() == 2


def test_importing_twice_is_refused_before_writing(exported, cli):
    assert cli("import", str(exported)).exit_code == 0
    result = cli("import", str(exported))
    assert result.exit_code == 2
    assert "Tenant acme exists here already" in result.output


def test_a_domain_of_another_tenant_is_refused(exported):
    from poplist.accounts.services import create_tenant
    from poplist.exchange.services import import_export

    create_tenant("squatter", "S", "lists.globex.test")
    with pytest.raises(Conflict, match=r"lists.globex.test belongs to a tenant"):
        import_export(exported, renames={"acme": "acme"})


def test_a_changed_byte_is_refused_and_nothing_is_written(exported):
    from poplist.accounts.models import Tenant
    from poplist.exchange.services import import_export

    members = exported / "tenants/globex/members.jsonl"
    members.write_bytes(members.read_bytes().replace(b"only@", b"onlx@"))
    with pytest.raises(InvalidInput, match=r"checksum of tenants/globex/members.jsonl does not match"):
        import_export(exported)
    assert not Tenant.objects.exists()


def test_an_unlisted_or_missing_file_is_refused(exported):
    from poplist.exchange.services import import_export

    (exported / "tenants/acme/extra.jsonl").write_text("{}\n")
    with pytest.raises(InvalidInput, match=r"extra.jsonl is in the export but not in its manifest"):
        import_export(exported)
    (exported / "tenants/acme/extra.jsonl").unlink()
    (exported / "tenants/acme/pending.jsonl").unlink()
    with pytest.raises(InvalidInput, match=r"pending.jsonl is listed in the manifest but missing"):
        import_export(exported)


def test_a_symlink_in_a_folder_is_refused(exported, tmp_path):
    from poplist.exchange.services import import_export

    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    target = exported / "tenants/acme/pending.jsonl"
    target.unlink()
    target.symlink_to(secret)
    with pytest.raises(InvalidInput, match=r"pending.jsonl"):
        import_export(exported)


def test_a_bad_record_rolls_the_whole_tenant_back(exported):
    """The first tenant (acme) is complete; globex's last file is bad: globex is not there at all."""
    import hashlib

    from poplist.accounts.models import Tenant
    from poplist.exchange.services import import_export
    from poplist.lists.models import MailingList

    bad = exported / "tenants/globex/threads.jsonl"
    bad.write_bytes(b'{"list":"announce@lists.globex.test","started_at":"not a date"}\n')

    def fix(manifest):
        manifest["files"]["tenants/globex/threads.jsonl"].update(
            sha256=hashlib.sha256(bad.read_bytes()).hexdigest(), bytes=bad.stat().st_size
        )

    rewrite_manifest(exported, fix)
    with pytest.raises(InvalidInput, match=r"threads.jsonl: the value of"):
        import_export(exported)
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["acme"]
    assert not MailingList.objects.filter(address__endswith="globex.test").exists()


def test_an_unknown_version_is_refused(exported):
    from poplist.exchange.services import import_export

    rewrite_manifest(exported, lambda m: m.update(version=99))
    with pytest.raises(InvalidInput, match="format version 99"):
        import_export(exported)


def test_a_manifest_path_leaving_the_folder_is_refused(exported):
    from poplist.exchange.services import import_export

    rewrite_manifest(exported, lambda m: m["files"].update({"../../etc/passwd": {"sha256": "0", "bytes": 1}}))
    with pytest.raises(InvalidInput, match="unsafe file name"):
        import_export(exported)


# --- Hostile tars ------------------------------------------------------------------------------


def hostile_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def manifest_bytes(files: dict) -> bytes:
    return json.dumps({"format": "poplist-export", "version": 1, "tenants": [], "files": files}).encode()


def info(name: str, kind: bytes = tarfile.REGTYPE, **attrs) -> tarfile.TarInfo:
    found = tarfile.TarInfo(name)
    found.type = kind
    for key, value in attrs.items():
        setattr(found, key, value)
    return found


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([(info("../evil.txt"), b"x")], "unsafe file name"),
        ([(info("/etc/cron.d/evil"), b"x")], "unsafe file name"),
        (
            [
                (info("manifest.json"), manifest_bytes({})),
                (info("link", tarfile.SYMTYPE, linkname="/etc/passwd"), None),
            ],
            "not a plain file",
        ),
        (
            [
                (info("manifest.json"), manifest_bytes({})),
                (info("hard", tarfile.LNKTYPE, linkname="manifest.json"), None),
            ],
            "not a plain file",
        ),
        ([(info("tenants/a/x.jsonl"), b"{}\n")], "does not start with manifest.json"),
        ([(info("manifest.json"), manifest_bytes({})), (info("tenants/a/x.jsonl"), b"{}\n")], "not in its manifest"),
        (
            [
                (info("manifest.json"), manifest_bytes({"x.jsonl": {"bytes": 1, "sha256": "0"}})),
                (info("x.jsonl"), b"{}\n"),
            ],
            "size the manifest says",
        ),
        ([(info("manifest.json"), b"not json")], "does not describe a Poplist export"),
    ],
)
def test_hostile_tar_is_refused(db, tmp_path, members, message):
    from poplist.exchange.services import import_export

    with pytest.raises(InvalidInput, match=message):
        import_export(hostile_tar(tmp_path / "hostile.tar.gz", members))
    assert not (tmp_path.parent / "evil.txt").exists()


def test_tar_bomb_is_refused_before_it_is_inflated(db, tmp_path):
    """A manifest declaring 50 GB in a small .tar.gz: refused from the manifest alone."""
    from poplist.exchange.services import import_export

    bomb = manifest_bytes({"tenants/a/members.jsonl": {"bytes": 50 * 1024**3, "sha256": "0"}})
    path = hostile_tar(tmp_path / "bomb.tar.gz", [(info("manifest.json"), bomb)])
    with pytest.raises(InvalidInput, match="refused as a bomb"):
        import_export(path)


def test_a_damaged_archive_is_a_clear_error(db, tmp_path):
    from poplist.exchange.services import import_export

    path = tmp_path / "broken.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InvalidInput, match="damaged or not a tar"):
        import_export(path)
