"""Garbage collection: deploys past the kept ones are pruned, unused blobs deleted, never one a deploy needs."""

import json
import os
from datetime import timedelta

import pytest
from django.utils import timezone

HOST = "blog.sites.test"
NOW = timedelta(0)


def age_blobs(days: int = 2) -> None:
    from poplist.sites.models import Blob

    Blob.objects.update(created_at=timezone.now() - timedelta(days=days))


def shas(deploy) -> set[str]:
    deploy.refresh_from_db()
    return {entry["sha256"] for entry in deploy.manifest.values()}


def test_old_deploys_are_pruned_their_own_blobs_deleted_shared_ones_kept(
    site, deploy, sites_client, sites_cache, monkeypatch
):
    from poplist.core.errors import NotFound
    from poplist.sites import cache
    from poplist.sites.gc import collect
    from poplist.sites.models import Blob
    from poplist.sites.services import rollback

    versions = [deploy({"index.html": f"version {n}", "theme.css": "shared"}) for n in range(1, 5)]
    gone = shas(versions[0]) - shas(versions[3])
    age_blobs()
    monkeypatch.setattr("poplist.sites.gc.GRACE", NOW)  # the trees on disk are as old as the blobs
    folders = sites_cache / "sites" / "deploys"
    for version in versions:  # each deploy materialised on disk, as on a machine that served them all
        cache.materialise(version)
    trees = set(os.listdir(sites_cache / "sites" / "trees"))

    dry = collect(keep=2, dry_run=True)
    assert (dry.deploys_pruned, dry.blobs_deleted) == (2, 2) and dry.folders_removed >= 1
    assert Blob.objects.filter(sha256__in=gone).count() == 1  # a dry run changes nothing
    assert list(site.deploys.order_by("number").values_list("status", flat=True)) == ["ready"] * 4

    done = collect(keep=2)
    assert (done.deploys_pruned, done.blobs_deleted) == (2, 2) and done.bytes_freed == len("version 1") * 2
    statuses = list(site.deploys.order_by("number").values_list("number", "status"))
    assert statuses == [(1, "pruned"), (2, "pruned"), (3, "ready"), (4, "ready")]
    assert not Blob.objects.filter(sha256__in=gone).exists()
    assert Blob.objects.filter(sha256__in=shas(versions[3])).count() == 2  # theme.css is shared: kept
    assert not os.path.lexists(folders / f"{versions[0].id}-{versions[0].key}")
    assert os.path.lexists(folders / f"{versions[2].id}-{versions[2].key}")
    # The top folders of deploys 1 and 2 are gone (folders are content-addressed: 3 and 4 keep theirs).
    assert len(trees - set(os.listdir(sites_cache / "sites" / "trees"))) == 2
    assert not list((sites_cache / "sites" / "blobs").glob(f"*/{next(iter(gone))}*"))
    assert sites_client.get(HOST, "/").text == "version 4"
    with pytest.raises(NotFound):
        rollback(site, 1)
    rollback(site, 3)
    assert sites_client.get(HOST, "/").text == "version 3"
    assert collect(keep=2).blobs_deleted == 0  # nothing more to do


def test_the_live_deploy_is_kept_even_when_older_than_the_kept_ones(site, deploy, sites_client):
    from poplist.sites.gc import collect
    from poplist.sites.services import rollback

    for n in range(1, 5):
        deploy({"index.html": f"version {n}"})
    rollback(site, 1)
    age_blobs()
    assert collect(keep=2).deploys_pruned == 1
    statuses = dict(site.deploys.values_list("number", "status"))
    assert statuses == {1: "ready", 2: "pruned", 3: "ready", 4: "ready"}
    assert sites_client.get(HOST, "/").text == "version 1"


def test_blobs_younger_than_the_grace_period_are_kept(site, deploy):
    from poplist.sites import blobs
    from poplist.sites.gc import collect
    from poplist.sites.models import Blob

    deploy({"index.html": "live"})
    orphan = blobs.sha256(b"uploaded for a deploy not committed yet")
    blobs.store({orphan: (b"uploaded for a deploy not committed yet", False)})
    assert collect().blobs_deleted == 0 and Blob.objects.filter(sha256=orphan).exists()
    assert collect(grace=NOW).blobs_deleted == 1 and not Blob.objects.filter(sha256=orphan).exists()


def test_a_deploy_reusing_a_blob_gc_is_deleting_gets_it_back(site, deploy, sites_client, monkeypatch):
    """gc runs between the moment a deploy saw its blobs stored and the commit of its manifest."""
    from poplist.sites import blobs, gc, services

    deploy({"index.html": "old"})
    deploy({"index.html": "new"})
    age_blobs()
    real_prepare = blobs.prepare
    ran = []

    def prepare_then_gc(payload, shas):
        rows = real_prepare(payload, shas)  # the deploy has seen "old" stored: nothing to prepare
        if not ran:
            ran.append(gc.collect(keep=1).blobs_deleted)  # "old" is unused at this instant: deleted
        return rows

    monkeypatch.setattr(blobs, "prepare", prepare_then_gc)
    services.deploy_files(site, {"index.html": b"old"}, via="cli")  # the same bytes again
    assert ran == [1]
    assert blobs.existing([blobs.sha256(b"old")]) == {blobs.sha256(b"old")}
    assert sites_client.get(HOST, "/").text == "old"


def test_gc_spares_blobs_of_deploys_committed_after_its_mark(site, deploy, sites_client, monkeypatch):
    """A deploy commits its manifest between gc's mark and its sweep: the sweep re-reads it."""
    from poplist.sites import gc, services

    deploy({"index.html": "old"})
    deploy({"index.html": "new"})
    age_blobs()
    real_unmarked = gc._unmarked

    def unmarked_then_deploy(marked, cutoff):
        found = real_unmarked(marked, cutoff)
        services.deploy_files(site, {"index.html": b"old"}, via="cli")
        return found

    monkeypatch.setattr(gc, "_unmarked", unmarked_then_deploy)
    assert gc.collect(keep=1).blobs_deleted == 0
    assert sites_client.get(HOST, "/").text == "old"


def test_an_api_deploy_finalised_after_gc_took_its_blob_asks_for_it_again(site, sites_api, deploy):
    import hashlib

    from poplist.sites import gc
    from poplist.sites.models import Deploy

    deploy({"index.html": "kept"})
    age_blobs()
    data = b"uploaded, then lost"
    digest = hashlib.sha256(data).hexdigest()
    started = sites_api("post", "/blog/deploys", {"files": {"index.html": digest}}).json()
    sites_api("put", f"/blog/deploys/{started['deploy']}/blobs/{digest}", raw=data)
    Deploy.objects.filter(number=started["deploy"]).update(created_at=timezone.now() - timedelta(days=2))
    age_blobs()
    report = gc.collect(grace=NOW)  # abandoned for two days: expired, its blob freed
    assert report.pending_expired == 1 and report.blobs_deleted == 1
    refused = sites_api("post", f"/blog/deploys/{started['deploy']}/finalise", {})
    assert refused.status_code == 409 and "not waiting for files" in refused.json()["detail"]


@pytest.mark.django_db(transaction=True)  # the task's thread has its own connection: it sees committed rows
def test_the_cli_command_and_the_worker_task(cli, site, deploy, monkeypatch):
    from poplist.sites.tasks import worker_tasks

    for n in range(3):
        deploy({"index.html": f"version {n}"})
    age_blobs()
    dry = cli("sites", "gc", "--dry-run", "--keep", "1", "--json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["deploys_pruned"] == 2 and json.loads(dry.output)["dry_run"] is True
    assert "would be" in cli("sites", "gc", "--dry-run", "--keep", "1").output
    monkeypatch.setenv("POPLIST_SITES_KEEP_DEPLOYS", "1")
    task = {t.name: t for t in worker_tasks()}["sites garbage collection"]
    assert task.every == 3600
    task.run()
    task.run.thread.join(timeout=30)
    assert list(site.deploys.order_by("number").values_list("status", flat=True)) == ["pruned", "pruned", "ready"]
    assert cli("sites", "gc", "--keep", "0").exit_code == 2


@pytest.mark.django_db(transaction=True)
def test_a_long_gc_never_delays_the_workers_other_tasks(site, deploy, monkeypatch):
    """The real worker loop with the real gc task: gc stays in its sweep until another task (which
    reads the database) has run five times on its schedule; with gc in the loop, that never happens."""
    import itertools
    import threading
    import time

    from poplist.runtime.worker import Task, run
    from poplist.sites import blobs, gc
    from poplist.sites.models import Blob, Site
    from poplist.sites.tasks import BackgroundCollector

    deploy({"index.html": "live"})
    orphans = {blobs.sha256(f"orphan {n}".encode()): (f"orphan {n}".encode(), False) for n in range(1200)}
    blobs.store(orphans)
    age_blobs()
    probed: list[float] = []
    five = threading.Event()
    in_sweep: list[float] = []
    real_sweep = gc._sweep

    def probe() -> int:
        Site.objects.count()
        probed.append(time.monotonic())
        if in_sweep and sum(t >= in_sweep[0] for t in probed) >= 5:
            five.set()
        return 0

    def long_sweep(*args):
        in_sweep.append(time.monotonic())
        five.wait(timeout=10)  # a big gc: still sweeping while the loop goes on
        return real_sweep(*args)

    monkeypatch.setattr(gc, "_sweep", long_sweep)
    collector = BackgroundCollector()
    stop = threading.Event()
    tasks = [Task("gc", collector, every=3600), Task("probe", probe, every=0.05)]

    def worker() -> None:
        from django.db import connection

        try:
            run(stop, tasks, idle_sleep=0.01)
        finally:
            connection.close()

    loop = threading.Thread(target=worker)
    loop.start()
    try:
        assert five.wait(timeout=10), "the other task did not run while gc was sweeping"
        during = [t for t in probed if t >= in_sweep[0]]
        assert len(during) >= 5 and max(b - a for a, b in itertools.pairwise(during)) < 1.0
        collector.thread.join(timeout=30)
        assert not collector.thread.is_alive()
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not Blob.objects.filter(sha256__in=list(orphans)).exists()  # and the gc did its work
    assert Blob.objects.count() == 1
