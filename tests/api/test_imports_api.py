"""CSV imports through /api/v1/: the upload answers 202 at once, the job runs in the background, the caller polls."""

from __future__ import annotations

import time

import pytest
from api_fixtures import ApiClient, assert_problem, new_token
from django.core.files.uploadedfile import SimpleUploadedFile

from poplist.lists.import_jobs import run_queued_imports
from poplist.lists.models import ImportJob, Member

pytest_plugins = ["api_fixtures"]
NEWS = "/lists/news@lists.acme.test"
CSV = b"email,name,city\nann@example.org,Ann,Paris\nnot-an-address,Bad,Lyon\nbob@example.org,Bob,Nice\n"


def upload(client: ApiClient, data: bytes, name: str = "members.csv", **form):
    answer = client.client.post(
        f"/api/v1{NEWS}/imports",
        {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **form},
        HTTP_AUTHORIZATION=f"Bearer {client.token}",
    )
    answer.data = answer.json()
    return answer


@pytest.mark.django_db
def test_upload_then_poll_a_worker_run_import(acme, mailing_list):
    queued = upload(acme, CSV)
    assert queued.status_code == 202, queued.content
    job = queued.json()
    assert job["state"] == "queued" and job["size"] == len(CSV) and job["source"] == "members.csv"
    assert run_queued_imports() == 1  # what `poplist worker` does every second
    done = acme.get(f"{NEWS}/imports/{job['id']}").data
    assert done["state"] == "done" and done["progress"] == 1.0
    assert (done["rows"], done["added"], done["rejected"]) == (3, 2, 1)
    assert done["rejections"] == [
        {"line": 3, "text": "not-an-address,Bad,Lyon", "reason": done["rejections"][0]["reason"]}
    ]
    assert Member.objects.get(email="ann@example.org").attributes == {"city": "Paris"}
    assert ImportJob.objects.get(pk=job["id"]).data == b""  # the file is dropped once imported
    assert [j["id"] for j in acme.get(f"{NEWS}/imports").data["items"]] == [job["id"]]
    assert run_queued_imports() == 0


@pytest.mark.django_db
def test_an_import_that_fails_reports_why_and_imports_nothing(acme, mailing_list):
    job = upload(acme, b"name;city\nAnn;Paris\n").json()
    run_queued_imports()
    failed = acme.get(f"{NEWS}/imports/{job['id']}").data
    assert failed["state"] == "failed" and "no email column" in failed["error"]
    assert not Member.objects.filter(role="member").exists()


@pytest.mark.django_db
def test_import_refusals(acme, mailing_list):
    assert_problem(upload(acme, CSV, mode="sometimes"), 422)
    assert_problem(upload(acme, CSV, encoding="klingon"), 400)
    no_file = acme.client.post(f"/api/v1{NEWS}/imports", {}, HTTP_AUTHORIZATION=f"Bearer {acme.token}")
    assert no_file.status_code == 422
    assert_problem(acme.get(f"{NEWS}/imports/999"), 404)


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_the_web_process_runs_the_import_itself(tenant, mailing_list):
    """Without a worker: the upload's own process starts the job after commit; polling sees it finish."""
    client = ApiClient(new_token(tenant))
    rows = b"email\n" + b"".join(b"user%d@example.org\n" % i for i in range(20_000))
    job = upload(client, rows).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"{NEWS}/imports/{job['id']}").data
        if state["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert state["state"] == "done", state
    assert state["added"] == 20_000 and state["bytes_done"] == len(rows)
    mailing_list.refresh_from_db()
    assert mailing_list.member_count == 20_000
