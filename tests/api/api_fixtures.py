"""Fixtures of the API tests (imported by each tests/api module: tests/conftest.py is shared)."""

from __future__ import annotations

import json as jsonlib

import pytest
from django.test import Client


class ApiClient:
    """Django's test client speaking JSON with a bearer token; answers carry `.data` (the decoded body)."""

    def __init__(self, token: str | None = None, language: str | None = None) -> None:
        self.client = Client()
        self.token = token
        self.language = language

    def call(self, method: str, path: str, json=None, token: str | None = None, **extra):
        headers = {}
        if token or self.token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token or self.token}"
        if self.language:
            headers["HTTP_ACCEPT_LANGUAGE"] = self.language
        headers.update(extra)
        url = path if path.startswith("/api/") else "/api/v1" + path
        body = jsonlib.dumps(json) if json is not None else None
        kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
        response = getattr(self.client, method.lower())(url, **kwargs, **headers)
        content_type = response.get("Content-Type", "")
        response.data = jsonlib.loads(response.content) if "json" in content_type and response.content else None
        return response

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.call("POST", path, json=json if json is not None else {}, **kw)

    def patch(self, path, json=None, **kw):
        return self.call("PATCH", path, json=json if json is not None else {}, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


def new_token(tenant=None, user=None) -> str:
    from poplist.accounts.services import create_api_token

    return create_api_token(tenant, user=user)[1]


@pytest.fixture
def acme(tenant) -> ApiClient:
    """A client holding a token of tenant acme."""
    return ApiClient(new_token(tenant))


@pytest.fixture
def globex(other_tenant) -> ApiClient:
    """A client holding a token of tenant globex (which owns nothing)."""
    return ApiClient(new_token(other_tenant))


@pytest.fixture
def admin(db) -> ApiClient:
    """A client holding a host-wide token."""
    return ApiClient(new_token())


@pytest.fixture
def anonymous(db) -> ApiClient:
    return ApiClient()


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/problem+json")
    data = response.data
    assert data["status"] == status and data["title"] and data["detail"] and data["type"].endswith(data["code"])
    if code:
        assert data["code"] == code
    return data
