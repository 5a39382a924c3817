"""Done when: smtplib to the LMTP port of `poplist serve`: accepted, held or refused, and seen by `poplist held`."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, child_env, free_port
from poplist.testing.fixtures_inbound import make_message


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.slow
def test_smtplib_to_a_running_serve(run_poplist):
    assert run_poplist("tenant", "create", "acme", "--name", "Acme", "--domain", "lists.acme.test").returncode == 0
    assert run_poplist("list", "create", "news@lists.acme.test", "--tenant", "acme").returncode == 0
    assert run_poplist("members", "add", "news@lists.acme.test", "ann@example.org").returncode == 0
    env = child_env()
    lmtp_port = int(env["POPLIST_LMTP_PORT"])
    server = subprocess.Popen(
        [sys.executable, "-m", "poplist", "serve", "--http-port", str(free_port())],
        env={**env, "POPLIST_BASE_URL": "http://127.0.0.1:9"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_port(lmtp_port, server)
        with smtplib.LMTP("127.0.0.1", lmtp_port) as client:
            assert client.sendmail("ann@example.org", ["news@lists.acme.test"], make_message()) == {}
            held = make_message(sender="zed@example.net", message_id="<z@example.net>")
            assert client.sendmail("zed@example.net", ["news@lists.acme.test"], held) == {}
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                client.sendmail("ann@example.org", ["nobody@lists.acme.test"], make_message())
            assert refused.value.recipients["nobody@lists.acme.test"][0] == 550
        listing = run_poplist("held", "ls", "news@lists.acme.test", "--json")
        assert listing.returncode == 0 and '"from": "zed@example.net"' in listing.stdout
    finally:
        os.killpg(server.pid, 15)
        server.wait(30)
    from poplist.delivery.models import DeliveryJob

    assert DeliveryJob.objects.filter(message_id="<m1@example.org>").exists()
