"""The API's docs cannot drift: every operation of the OpenAPI document is written down under docs/.

docs/api.md documents the shared machinery and the accounts, lists and archive endpoints;
other domains document theirs on their own page, as `METHOD /api/v1/path`.
"""

from __future__ import annotations

from pathlib import Path

from poplist.api.api import api

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_api_path_is_documented():
    text = "\n".join(page.read_text() for page in DOCS.glob("*.md"))
    missing = [
        f"{method.upper()} {path}"
        for path, methods in api.get_openapi_schema()["paths"].items()
        for method in methods
        if f"`{method.upper()} {path}`" not in text
    ]
    assert missing == []


def test_the_openapi_document_is_served_without_a_token(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.json()["info"]["title"] == "Poplist API"
    assert "/api/v1/lists/{address}/members" in answer.json()["paths"]
