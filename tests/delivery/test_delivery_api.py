"""The jobs API: progress, pause/resume/cancel; another tenant's jobs are not found."""

from __future__ import annotations

import pytest
from django.test import Client

from poplist.accounts.services import create_api_token

pytestmark = pytest.mark.django_db


class ApiClient:
    def __init__(self, tenant) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {create_api_token(tenant)[1]}")

    def _answer(self, response):
        response.data = response.json() if response.content else None
        return response

    def get(self, path: str, **params):
        return self._answer(self.client.get("/api/v1" + path, params))

    def post(self, path: str):
        return self._answer(self.client.post("/api/v1" + path, content_type="application/json"))


def test_jobs_progress_and_actions(tenant, other_tenant, mailing_list, add_members, post_job):
    add_members(mailing_list, 5)
    job = post_job(mailing_list)
    acme, globex = ApiClient(tenant), ApiClient(other_tenant)

    listed = acme.get("/jobs")
    assert listed.status_code == 200
    assert [(j["id"], j["list"], j["status"]) for j in listed.data] == [(job.pk, "news@lists.acme.test", "pending")]
    assert globex.get("/jobs").data == []
    assert globex.get(f"/jobs/{job.pk}").status_code == 404
    assert globex.post(f"/jobs/{job.pk}/pause").status_code == 404

    paused = acme.post(f"/jobs/{job.pk}/pause")
    assert (paused.status_code, paused.data["status"], paused.data["pause_reason"]) == (200, "paused", "owner")
    again = acme.post(f"/jobs/{job.pk}/pause")
    assert again.status_code == 409 and "cannot be paused" in again.data["detail"]
    assert acme.post(f"/jobs/{job.pk}/resume").data["status"] == "pending"
    assert acme.post(f"/jobs/{job.pk}/cancel").data["status"] == "cancelled"
    assert acme.get("/jobs", active=True).status_code == 200
    assert acme.get(f"/jobs/daily/{mailing_list.address}").data == []
    assert globex.get(f"/jobs/daily/{mailing_list.address}").status_code == 404
