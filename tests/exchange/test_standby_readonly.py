"""A standby refuses every write, whatever the door (web, API, CLI, LMTP), with a clear answer; its follower writes."""

from __future__ import annotations

import pytest
from django.db import connection

from poplist.exchange import readonly
from poplist.exchange.models import Instance, this_instance
from poplist.inbound.server import running
from poplist.testing.fixtures_inbound import make_message

STANDBY_SENTENCE = "This node is a standby: it accepts no changes until it is promoted."


def set_role(role: str) -> None:
    with readonly.applying():
        Instance.objects.filter(pk=this_instance().pk).update(role=role)
    readonly.forget()


@pytest.fixture
def standby_role():
    """Make this instance a standby for the test, and forget the cached role afterwards."""
    set_role(Instance.Role.STANDBY)
    yield
    set_role(Instance.Role.PRIMARY)
    readonly.forget()


def test_services_and_raw_sql_are_refused_and_nothing_is_written(mailing_list, standby_role):
    from poplist.lists.models import Member
    from poplist.lists.services import create_list

    before = Member.objects.count()
    with pytest.raises(readonly.StandbyReadOnly) as refused:
        create_list(mailing_list.tenant, "other@lists.acme.test")
    assert STANDBY_SENTENCE in str(refused.value)
    assert refused.value.http_status == 503
    with pytest.raises(readonly.StandbyReadOnly), connection.cursor() as cursor:
        cursor.execute("UPDATE lists_member SET display_name = 'x'")
    with pytest.raises(readonly.StandbyReadOnly), connection.cursor() as cursor:
        cursor.execute(
            "WITH gone AS (SELECT id FROM lists_member) DELETE FROM lists_member WHERE id IN (SELECT id FROM gone)"
        )
    assert Member.objects.count() == before
    from poplist.lists.models import MailingList

    assert not MailingList.objects.filter(address="other@lists.acme.test").exists()


def test_the_follower_and_local_tables_still_write(mailing_list, standby_role):
    from poplist.exchange.feed import row_states
    from poplist.exchange.standby import apply_changes
    from poplist.lists.models import MailingList

    row = row_states(MailingList, [mailing_list.pk])[str(mailing_list.pk)]  # as the feed sends it
    row["display_name"] = "Renamed by the primary"
    with readonly.applying():
        apply_changes([{"seq": 1, "table": "lists_mailinglist", "pk": str(row["id"]), "at": None, "row": row}])
    assert MailingList.objects.get(pk=mailing_list.pk).display_name == "Renamed by the primary"
    with connection.cursor() as cursor:  # this node's own tables (sessions here) are not replicated
        cursor.execute("DELETE FROM django_session")


def test_writes_pass_again_once_promoted(mailing_list):
    from poplist.lists.services import create_list

    set_role(Instance.Role.STANDBY)
    try:
        with pytest.raises(readonly.StandbyReadOnly):
            create_list(mailing_list.tenant, "later@lists.acme.test")
    finally:
        set_role(Instance.Role.PRIMARY)
    assert create_list(mailing_list.tenant, "later@lists.acme.test").address == "later@lists.acme.test"


def test_web_pages_read_but_forms_get_503(owner_client, mailing_list, standby_role):
    page = owner_client.get(f"/lists/{mailing_list.address}/")
    assert page.status_code == 200
    console = owner_client.get("/console/lists/")
    assert console.status_code == 200
    refused = owner_client.post("/console/new-list/", {"local": "x", "name": "X"})
    assert refused.status_code == 503
    assert STANDBY_SENTENCE in refused.content.decode()
    assert refused["Retry-After"] == "60"


def test_api_reads_but_writes_get_a_503_problem(tenant, mailing_list, standby_role):
    from django.test import Client

    from poplist.accounts.services import create_api_token

    with readonly.applying():
        secret = create_api_token(tenant)[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/lists").status_code == 200  # the token's last use is not written on a standby
    refused = api.post(
        f"/api/v1/lists/{mailing_list.address}/members", {"email": "new@example.org"}, content_type="application/json"
    )
    assert refused.status_code == 503
    assert refused.json()["code"] == "standby"
    assert STANDBY_SENTENCE in refused.json()["detail"]


def test_cli_write_exits_2_with_the_sentence(cli, mailing_list, standby_role):
    from click.testing import CliRunner

    from poplist.cli import main

    result = CliRunner().invoke(main, ["list", "create", "cli@lists.acme.test", "--tenant", "acme"])
    assert result.exit_code == 2
    assert STANDBY_SENTENCE in result.output
    assert "Traceback" not in result.output


def test_lmtp_answers_451_standby_and_stores_nothing(transactional_db, tenant):
    from poplist.inbound.client import LMTPClient
    from poplist.inbound.models import InboundMessage
    from poplist.lists.services import create_list

    create_list(tenant, "news@lists.acme.test", owners=["owner@acme.test"])
    set_role(Instance.Role.STANDBY)
    try:
        with running(smtp=False) as listening:
            client = LMTPClient("127.0.0.1", listening.lmtp_port)
            try:
                replies = client.send("ann@example.org", ["news@lists.acme.test"], make_message())
            finally:
                client.close()
    finally:
        set_role(Instance.Role.PRIMARY)
    code, text = replies["news@lists.acme.test"]
    assert code == 451
    assert "4.3.2" in text and "standby" in text
    assert InboundMessage.objects.count() == 0


def test_the_worker_idles_on_a_standby_and_works_again_once_promoted(db):
    import threading

    from poplist.runtime.worker import Task, run

    ran: list[int] = []
    tasks = [Task("probe", lambda: ran.append(1) or 0)]
    set_role(Instance.Role.STANDBY)
    try:
        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        run(stop, tasks, idle_sleep=0.01)
        assert ran == []
    finally:
        set_role(Instance.Role.PRIMARY)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    run(stop, tasks, idle_sleep=0.01)
    assert ran


def test_one_click_unsubscribe_before_django_is_refused_too(mailing_list, standby_role):
    """The RFC 8058 layer answers before Django's middleware: the database guard still refuses, Django says 503."""
    import io

    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    from poplist.lists import subscriptions
    from poplist.lists.models import Member
    from poplist.lists.subscriptions import Origin
    from poplist.web.oneclick_wsgi import wrap

    with readonly.applying():
        ann = subscriptions.subscribe(mailing_list, "ann@example.org", origin=Origin(via="owner"), welcome=False)
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        body = b"List-Unsubscribe=One-Click"
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": f"/u/{subscriptions.unsubscribe_token(ann)}/",
            "QUERY_STRING": "",
            "SCRIPT_NAME": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "203.0.113.5",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(),
        }
        answer = {}
        chunks = wrap(get_wsgi_application())(environ, lambda status, headers, exc=None: answer.update(status=status))
        text = b"".join(chunks).decode()
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
    assert answer["status"].startswith("503")
    assert STANDBY_SENTENCE in text
    assert Member.objects.get(pk=ann.pk).status == "enabled"
