"""Creating sites, deploying from the CLI (folder, zip, tar.gz), history, rollback, hostnames, shared blobs."""

import io
import json
import tarfile
import zipfile

import pytest

HOST = "blog.sites.test"


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def tar_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            data = content.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_cli_create_deploy_rollback_and_domains(cli, tenant, sites_cache, sites_client, write_tree, tmp_path):
    created = cli("site", "create", "blog", "--tenant", "acme", "--domain", "www.acme.test", "--verified", "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["hostnames"] == ["blog.sites.test", "www.acme.test"]

    first = cli("site", "deploy", "blog", str(write_tree({"index.html": "one", "a/b.txt": "b"})))
    assert first.exit_code == 0 and "deploy 1 of blog is live: 2 files" in first.output
    assert sites_client.get("www.acme.test", "/").text == "one"

    archive = tmp_path / "site.zip"
    archive.write_bytes(zip_of({"index.html": "two"}))
    assert cli("site", "deploy", "blog", str(archive)).exit_code == 0
    assert sites_client.get(HOST, "/").text == "two"

    tarball = tmp_path / "site.tar.gz"
    tarball.write_bytes(tar_of({"./index.html": "three", "docs/x.html": "x"}))
    assert cli("site", "deploy", "blog", str(tarball)).exit_code == 0
    assert sites_client.get(HOST, "/docs/x").text == "x"

    history = cli("site", "deploys", "blog")
    assert history.output.splitlines()[1].split()[:2] == ["3", "ready"] and "(live)" in history.output

    assert cli("site", "rollback", "blog").output.strip() == "deploy 2 of blog is live"
    assert sites_client.get(HOST, "/").text == "two"
    assert cli("site", "rollback", "blog", "1").exit_code == 0
    assert sites_client.get(HOST, "/").text == "one"
    missing = cli("site", "rollback", "blog", "9")
    assert missing.exit_code == 2 and "no finished deploy 9" in missing.output

    assert cli("site", "domains", "blog", "add", "shop.acme.test", "--verified").exit_code == 0
    assert sites_client.get("shop.acme.test", "/").text == "one"
    assert cli("site", "domains", "blog", "remove", "shop.acme.test").exit_code == 0
    assert sites_client.get("shop.acme.test", "/").status == 299  # not a site any more: the host's pages
    listed = cli("site", "domains", "blog").output.splitlines()
    assert listed == ["blog.sites.test  default", "www.acme.test  verified"]


def test_hostnames_are_unique_across_the_instance(site, other_tenant):
    from poplist.core.errors import Conflict, InvalidInput
    from poplist.sites.services import add_hostname, create_site

    add_hostname(site, "www.acme.test", verified=True)
    theirs = create_site(other_tenant, "globex")
    with pytest.raises(Conflict, match="already used"):
        add_hostname(theirs, "WWW.ACME.TEST")
    with pytest.raises(Conflict, match="already a hostname of this site"):
        add_hostname(site, "www.acme.test")
    with pytest.raises(Conflict, match="taken"):
        create_site(other_tenant, "blog")
    with pytest.raises(InvalidInput, match="given by the host"):
        add_hostname(theirs, "blog2.sites.test")
    with pytest.raises(InvalidInput):
        create_site(other_tenant, "Bad_Name!")


def test_another_tenant_cannot_reach_a_site_by_name(site, other_tenant):
    from poplist.core.errors import NotFound
    from poplist.sites.services import get_site

    assert get_site("blog", site.tenant) == site
    with pytest.raises(NotFound):
        get_site("blog", other_tenant)


def test_blobs_are_shared_across_deploys_and_sites(deploy, tenant, site):
    from poplist.sites.models import Blob
    from poplist.sites.services import create_site

    files = {f"page{i}.html": f"page {i}" for i in range(50)}
    deploy(files)
    before = Blob.objects.count()
    deploy({**files, "page7.html": "changed"})
    assert Blob.objects.count() == before + 1
    deploy(files, target=create_site(tenant, "mirror"))
    assert Blob.objects.count() == before + 1


def test_deploys_are_atomic_a_rejected_one_leaves_the_live_one(deploy, site, sites_client):
    from poplist.core.errors import InvalidInput
    from poplist.sites.services import deploy_files

    deploy({"index.html": "live"})
    with pytest.raises(InvalidInput, match="line 2"):
        deploy_files(site, {"index.html": b"new", "_redirects": b"/a /b\n/broken\n"}, via="cli")
    assert sites_client.get(HOST, "/").text == "live"
    statuses = list(site.deploys.order_by("number").values_list("status", "error"))
    assert statuses[0][0] == "ready" and statuses[1][0] == "failed" and "line 2" in statuses[1][1]


def test_folders_on_disk_are_shared_by_deploys_and_sites_with_the_same_content(deploy, tenant, site, sites_cache):
    import os

    from poplist.sites import cache
    from poplist.sites.services import create_site

    trees = sites_cache / "sites" / "trees"
    files = {"index.html": "home", "theme/a.css": "a{}" * 100, "theme/b.css": "b{}" * 100, "posts/1.html": "one"}
    first = cache.materialise(deploy(files))
    assert len(os.listdir(trees)) == 3  # the top folder, theme/, posts/
    assert sorted(os.listdir(first / "theme")) == ["a.css", "a.css.br", "a.css.gz", "b.css", "b.css.br", "b.css.gz"]
    second = cache.materialise(deploy({**files, "posts/1.html": "changed"}))
    assert len(os.listdir(trees)) == 5  # one file changed: only the folders on its path are new
    assert (second / "posts" / "1.html").read_text() == "changed" and (first / "posts" / "1.html").read_text() == "one"
    mirror = cache.materialise(deploy(files, target=create_site(tenant, "mirror")))
    assert len(os.listdir(trees)) == 5 and os.path.realpath(mirror) == os.path.realpath(first)
