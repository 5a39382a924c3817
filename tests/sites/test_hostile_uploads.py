"""Hostile uploads: each is refused with a clear sentence and the live deploy keeps serving."""

import io
import os
import stat
import tarfile
import zipfile

import pytest

from poplist.core.errors import PoplistError

HOST = "blog.sites.test"


@pytest.fixture
def live_site(site, deploy, sites_client):
    deploy({"index.html": "the live one"})
    yield site
    assert sites_client.get(HOST, "/").text == "the live one"


def refused(site, source, match: str) -> None:
    from poplist.sites.services import deploy_upload

    if isinstance(source, bytes):
        source = io.BytesIO(source)
    with pytest.raises(PoplistError, match=match):
        deploy_upload(site, source, via="web", name="upload.zip")
    assert site.deploys.order_by("-number").first().status == "failed"


def zip_with(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def tar_with(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as archive:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "match"),
    [("../evil.html", "outside the site"), ("a/../../evil.html", "outside the site"), ("/etc/passwd", "absolute")],
)
def test_paths_outside_the_site(live_site, name, match):
    refused(live_site, zip_with([(name, b"x")]), match)
    info = tarfile.TarInfo(name)
    refused(live_site, tar_with([(info, b"x")]), match)


def test_symlinks_and_hard_links_in_archives(live_site):
    link = zipfile.ZipInfo("link")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    refused(live_site, zip_with([(link, b"/etc/passwd")]), "is a link")
    symlink = tarfile.TarInfo("passwd")
    symlink.type, symlink.linkname = tarfile.SYMTYPE, "/etc/passwd"
    refused(live_site, tar_with([(symlink, b"")]), "is a link")
    hard = tarfile.TarInfo("shadow")
    hard.type, hard.linkname = tarfile.LNKTYPE, "/etc/shadow"
    refused(live_site, tar_with([(hard, b"")]), "is a link")


def test_device_files(live_site):
    device = tarfile.TarInfo("dev/null")
    device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 3
    refused(live_site, tar_with([(device, b"")]), "device or special")
    fifo = zipfile.ZipInfo("pipe")
    fifo.create_system = 3
    fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
    refused(live_site, zip_with([(fifo, b"")]), "device or special")


def test_links_and_devices_in_a_folder(live_site, write_tree):
    from poplist.sites.services import deploy_upload

    tree = write_tree({"index.html": "new"})
    os.symlink("/etc/passwd", tree / "passwd")
    with pytest.raises(PoplistError, match="is a link"):
        deploy_upload(live_site, tree, via="cli")
    tree = write_tree({"index.html": "new"})
    os.link(tree / "index.html", tree / "copy.html")
    with pytest.raises(PoplistError, match="hard link"):
        deploy_upload(live_site, tree, via="cli")
    tree = write_tree({"index.html": "new"})
    os.mkfifo(tree / "pipe")
    with pytest.raises(PoplistError, match="device or special"):
        deploy_upload(live_site, tree, via="cli")


def test_names_that_are_not_utf8_or_clash_by_case(live_site, write_tree):
    # A Latin-1 name with no UTF-8 flag, as old Windows tools write them.
    latin1 = zip_with([("cafX.html", b"x")]).replace(b"cafX", b"caf\xe9")
    refused(live_site, latin1, "not UTF-8")
    bad = tarfile.TarInfo(b"caf\xe9.html".decode("utf-8", "surrogateescape"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT, errors="surrogateescape") as archive:
        bad.size = 1
        archive.addfile(bad, io.BytesIO(b"x"))
    refused(live_site, buffer.getvalue(), "not UTF-8")
    refused(live_site, zip_with([("Index.html", b"a"), ("index.html", b"b")]), "differ only by case")
    from poplist.sites.services import deploy_upload

    tree = write_tree({"index.html": "new"})
    (tree.joinpath(os.fsdecode(b"caf\xe9.html"))).write_bytes(b"x")
    with pytest.raises(PoplistError, match="not UTF-8"):
        deploy_upload(live_site, tree, via="cli")


def test_quotas_too_many_files_too_big_and_zip_bombs(live_site):
    live_site.max_files, live_site.max_bytes, live_site.max_file_bytes = 10, 100_000, 60_000
    live_site.save()
    refused(live_site, zip_with([(f"f{i}.html", b"x") for i in range(11)]), "more than 10 files")
    refused(live_site, zip_with([("big.bin", os.urandom(70_000))]), "larger than 60000 bytes")
    refused(live_site, zip_with([(f"p{i}.bin", os.urandom(40_000)) for i in range(3)]), "past the site's quota")
    live_site.max_bytes, live_site.max_file_bytes = 50 * 1024**2, 50 * 1024**2
    live_site.save()
    refused(live_site, zip_with([("bomb.html", b"\0" * (20 * 1024**2))]), "zip bomb")


def test_an_archive_that_lies_about_its_sizes_is_stopped_at_the_limit(live_site):
    live_site.max_file_bytes = 1000
    live_site.save()
    data = bytearray(zip_with([("a.html", b"y" * 5000)]))
    # Rewrite the declared sizes (local header and central directory) to 10 bytes.
    data = data.replace((5000).to_bytes(4, "little"), (10).to_bytes(4, "little"))
    refused(live_site, bytes(data), "larger than 1000 bytes|damaged")


def test_garbage_and_bad_rules(live_site):
    refused(live_site, b"this is not an archive", "not a zip or tar")
    refused(live_site, zip_with([("_redirects", b"/a /b 301\n\n/c /d 999\n")]), "line 3")
    refused(live_site, zip_with([("_headers", b"  X-A: b\n")]), "line 1")
    refused(live_site, zip_with([("_redirects", b"/:a/:a /x 301\n")]), "line 1")
