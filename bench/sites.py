"""Figures for websites (issue 7), each against a baseline measured in the same run.

1. Requests/s, keep-alive, wrk on loopback, for a small page and a 1 MB file: Poplist's own
   server (`poplist web`, one granian worker) vs nginx (one worker) serving the same files
   from a plain folder, and nginx running `poplist sites nginx-config`; with each server's CPU
   time per request (requests/s move with the machine's load, CPU per request much less).
2. N sites of F files deployed on one instance: time to deploy them all, one `sites gc` run over
   them, time to serve a first request on each with a cold disk cache, the server's memory.
3. A 10,000-file site redeployed through the HTTP API with one changed file: bytes uploaded, seconds.

    .venv/bin/python bench/sites.py                      # the issue's sizes (about 10 minutes)
    .venv/bin/python bench/sites.py --sites 200 --duration 3 --big-files 2000   # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure(data_dir: Path) -> None:
    os.environ.update(
        {
            "POPLIST_DATA_DIR": str(data_dir),
            "POPLIST_DATABASE_URL": f"sqlite:///{data_dir}/poplist.sqlite3",
            "POPLIST_SITES_DOMAIN": "sites.bench",
            "POPLIST_SECRET_KEY": "bench",
            "POPLIST_API_RATE": "100000",
            "POPLIST_API_BURST": "100000",
            "DJANGO_SETTINGS_MODULE": "poplist.settings",
        }
    )
    import poplist

    poplist.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def start_poplist(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "poplist", "web", "--workers", "1", "--http-port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("poplist web did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=20)


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, AttributeError, ProcessLookupError):
            continue
    return total


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and all its descendants, threads included."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def wrk(url: str, host: str, duration: int, server_pid: int | None = None) -> tuple[float, float | None]:
    """Requests/s, and the server's CPU time per request in µs (when its pid is given).

    CPU per request is the figure that survives a busy machine: requests/s fall with the load of
    other processes, the work a server does per request does not (much).
    """
    before = tree_cpu_seconds(server_pid) if server_pid else 0.0
    out = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{duration}s", "-H", f"Host: {host}", url],
        capture_output=True,
        text=True,
        timeout=duration + 30,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if not server_pid:
        return rate, None
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return rate, (tree_cpu_seconds(server_pid) - before) * 1e6 / max(requests, 1)


# --- 1. throughput --------------------------------------------------------------------------------


def throughput(tmp: Path, duration: int, rounds: int) -> dict:
    from poplist.accounts.services import create_tenant
    from poplist.sites.nginx import render_config
    from poplist.sites.services import create_site, deploy_files
    from poplist.testing.nginx import run_nginx

    small = ("<!doctype html><title>Hello</title>" + "<p>A small page of a small site.</p>" * 30).encode()
    big = os.urandom(1024**2)
    tenant = create_tenant("speed", "Speed")
    site = create_site(tenant, "speed")
    deploy_files(site, {"small.html": small, "big.bin": big}, via="cli")
    plain = tmp / "plain"
    plain.mkdir()
    (plain / "small.html").write_bytes(small)
    (plain / "big.bin").write_bytes(big)
    ports = {"poplist": free_port(), "nginx": free_port(), "nginx-generated": free_port()}
    host = "speed.sites.bench"
    plain_conf = f"server {{ listen 127.0.0.1:{ports['nginx']}; server_name {host}; root {plain}; etag on; }}"
    generated = render_config(upstream=f"127.0.0.1:{ports['poplist']}", listen=f"127.0.0.1:{ports['nginx-generated']}")
    results: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    server = start_poplist(ports["poplist"])
    try:
        with run_nginx(tmp / "nginx-plain", plain_conf), run_nginx(tmp / "nginx-gen", generated):
            pids = {
                "poplist": server.pid,
                "nginx": int((tmp / "nginx-plain" / "nginx.pid").read_text()),
                "nginx-generated": int((tmp / "nginx-gen" / "nginx.pid").read_text()),
            }
            for _ in range(rounds):
                for name, port in ports.items():
                    for label, path in (("small page", "/small.html"), ("1 MB file", "/big.bin")):
                        rate, used = wrk(f"http://127.0.0.1:{port}{path}", host, duration, pids[name])
                        results.setdefault(f"{label}|{name}", []).append(rate)
                        cpu.setdefault(f"{label}|{name}", []).append(used)
    finally:
        stop(server)
    medians = {key: statistics.median(values) for key, values in results.items()}
    cpu_medians = {key: statistics.median(values) for key, values in cpu.items()}
    print(f"\n1. Requests/s, keep-alive (wrk -t1 -c16 -d{duration}s, median of {rounds}), one worker each;")
    print("   and the server's CPU time per request (all its processes and threads): nginx's over the server's is")
    print("   the ratio of the rates each would reach on a core of its own, a figure that survives a busy machine")
    print(f"   (load average now {os.getloadavg()[0]:.1f})")
    for label in ("small page", "1 MB file"):
        base, base_cpu = medians[f"{label}|nginx"], cpu_medians[f"{label}|nginx"]
        for name in ports:
            rate, used = medians[f"{label}|{name}"], cpu_medians[f"{label}|{name}"]
            print(
                f"   {label:10} {name:16} {rate:10.0f} req/s {rate / base:5.2f}x nginx"
                f"   {used:8.1f} µs CPU/request {base_cpu / used:5.2f}x nginx"
            )
    return {"rates": medians, "cpu_us": cpu_medians}


# --- 2. many sites --------------------------------------------------------------------------------


def site_files(index: int, files: int, theme: dict[str, bytes]) -> dict[str, bytes]:
    """A generated site: a shared theme (the same bytes on every site) and its own pages."""
    own = {
        f"posts/{n}.html": (
            f"<!doctype html><h1>Site {index}, post {n}</h1>" + "<p>Words of the post.</p>" * 40
        ).encode()
        for n in range(files - len(theme) - 1)
    }
    return {"index.html": f"<h1>Site {index}</h1>".encode(), **theme, **own}


def many_sites(data_dir: Path, count: int, files: int) -> dict:
    from poplist.accounts.services import create_tenant
    from poplist.sites.services import create_site, deploy_files

    theme = {f"theme/{n}.css": (f".c{n} {{ color: #{n:06x}; }}\n" * 60).encode() for n in range(files * 3 // 4)}
    tenant = create_tenant("many", "Many")
    tenant.quota_sites = count
    tenant.quota_storage_bytes = 10**12
    tenant.save()
    started = time.perf_counter()
    for index in range(count):
        deploy_files(create_site(tenant, f"s{index}"), site_files(index, files, theme), via="cli")
    deploy_seconds = time.perf_counter() - started
    print(
        f"\n2. {count} sites of {files} files: deployed in {deploy_seconds:.1f} s"
        f" ({count / deploy_seconds:.1f} sites/s)"
    )

    # Garbage collection over all of it (the worker's hourly run): nothing to free, so this is the
    # cost of marking every manifest, walking every blob and the disk cache.
    from poplist.sites.gc import collect

    started = time.perf_counter()
    report = collect()
    gc_seconds = time.perf_counter() - started
    print(f"   sites gc over {count} sites (nothing to free): {gc_seconds:.1f} s; {report.as_dict()}")

    # The nginx file is written again after every deploy (its roots are the live deploys' folders).
    from poplist.sites.nginx import render_config

    started = time.perf_counter()
    text = render_config()
    print(f"   nginx file for {count} sites: written in {time.perf_counter() - started:.2f} s, {len(text)} bytes")

    # Cold: nothing on disk, every deploy rebuilt from the database (a rename: deleting 400,000 links takes minutes).
    os.rename(data_dir / "sites", data_dir / "sites-wiped")
    port = free_port()
    server = start_poplist(port)
    latencies = []
    memory = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            checkpoints = {1, max(count // 10, 1), count}
            begun = time.perf_counter()
            for index in range(count):
                before = time.perf_counter()
                answer = client.get("/", headers={"Host": f"s{index}.sites.bench"})
                latencies.append(time.perf_counter() - before)
                assert answer.status_code == 200 and f"Site {index}<" in answer.text, answer.text[:200]
                if index + 1 in checkpoints:
                    memory[index + 1] = tree_rss_kb(server.pid)
            cold_seconds = time.perf_counter() - begun
            # And again, warm: the hostname map holds every site now.
            warm = time.perf_counter()
            for index in range(count):
                client.get("/", headers={"Host": f"s{index}.sites.bench"})
            warm_seconds = time.perf_counter() - warm
            memory["warm"] = tree_rss_kb(server.pid)
    finally:
        stop(server)
    latencies.sort()
    tenth = max(count // 10, 1)
    growth = (memory[count] - memory[tenth]) / max(count - tenth, 1)
    print(
        f"   first request on each, cold cache: {cold_seconds:.1f} s in all,"
        f" median {latencies[len(latencies) // 2] * 1000:.1f} ms,"
        f" p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms; warm pass {warm_seconds:.1f} s"
    )
    print(
        f"   server memory (all processes): {memory[1] / 1024:.1f} MB after 1 site,"
        f" {memory[tenth] / 1024:.1f} MB after {tenth},"
        f" {memory[count] / 1024:.1f} MB after {count}, {memory['warm'] / 1024:.1f} MB after a warm pass:"
        f" {growth:.1f} KB per site"
    )
    return {
        "deploy_s": deploy_seconds,
        "gc_s": gc_seconds,
        "cold_s": cold_seconds,
        "memory_kb": memory,
        "kb_per_site": growth,
    }


# --- 3. redeploy of a big site --------------------------------------------------------------------


def big_redeploy(files: int) -> dict:
    from poplist.accounts.models import Tenant
    from poplist.accounts.services import create_api_token, create_tenant
    from poplist.sites.models import Blob
    from poplist.sites.services import create_site, deploy_files

    tenant = Tenant.objects.filter(slug="big").first() or create_tenant("big", "Big")
    site = create_site(tenant, "big")
    content = {
        f"pages/{n // 100}/{n}.html": f"<h1>Page {n}</h1><p>Text of page {n}.</p>".encode() for n in range(files)
    }
    started = time.perf_counter()
    deploy_files(site, content, via="cli")
    first = time.perf_counter() - started
    _token, secret = create_api_token(tenant, name="bench")
    content["pages/0/7.html"] = b"<h1>Page 7, corrected</h1>"
    blobs_before = Blob.objects.count()
    port = free_port()
    server = start_poplist(port)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1/sites", headers={"Authorization": f"Bearer {secret}"}, timeout=300
        ) as api:
            started = time.perf_counter()
            manifest = json.dumps({"files": {p: hashlib.sha256(d).hexdigest() for p, d in content.items()}}).encode()
            answer = api.post("/big/deploys", content=manifest, headers={"Content-Type": "application/json"}).json()
            by_sha = {hashlib.sha256(d).hexdigest(): d for d in content.values()}
            uploaded = 0
            for digest in answer["missing"]:
                api.put(f"/big/deploys/{answer['deploy']}/blobs/{digest}", content=by_sha[digest]).raise_for_status()
                uploaded += len(by_sha[digest])
            api.post(f"/big/deploys/{answer['deploy']}/finalise", json={}).raise_for_status()
            seconds = time.perf_counter() - started
            check = httpx.get(f"http://127.0.0.1:{port}/pages/0/7", headers={"Host": "big.sites.bench"})
            assert "corrected" in check.text
    finally:
        stop(server)
    print(
        f"\n3. Redeploy of a {files}-file site with one changed file, through the HTTP API: "
        f"{len(answer['missing'])} blob uploaded ({uploaded} bytes; manifest {len(manifest)} bytes), {seconds:.2f} s"
        f" (first deploy of all {files} files, in process: {first:.1f} s);"
        f" new blobs stored: {Blob.objects.count() - blobs_before}"
    )
    return {"blobs": len(answer["missing"]), "bytes": uploaded, "manifest_bytes": len(manifest), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--big-files", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: throughput,many,big")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (apt install wrk)")
    skip = set(args.skip.split(","))
    with tempfile.TemporaryDirectory(prefix="poplist-bench-sites-") as name:
        tmp = Path(name)
        data_dir = tmp / "data"
        data_dir.mkdir()
        configure(data_dir)
        os.chmod(tmp, 0o755)  # nginx's workers read the cache
        if "throughput" not in skip:
            throughput(tmp, args.duration, args.rounds)
        if "many" not in skip:
            many_sites(data_dir, args.sites, args.files)
        if "big" not in skip:
            big_redeploy(args.big_files)


if __name__ == "__main__":
    main()
