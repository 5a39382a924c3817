"""Tenants never see each other's data, generated from the API's own OpenAPI document.

Every operation whose path names an object is called with a token of tenant globex (which
owns nothing) and the identifiers of tenant acme's objects: each must answer 404 and leave
acme's data as it was. A new endpoint is covered the moment it is mounted (a parameter with
no object of acme's named after it is tried with every identifier acme has). Query parameters
naming acme's objects (`?tenant=acme`) must answer 404 or an empty JSON page, never a file.
"""

from __future__ import annotations

import re

import pytest
from api_fixtures import ApiClient, new_token
from django.core.files.uploadedfile import SimpleUploadedFile

from poplist.api.api import api

pytest_plugins = ["api_fixtures"]
PARAM = re.compile(r"{(\w+)}")
MAX_PROBES = 3  # values tried per integer id


@pytest.fixture
def acme_world(mailing_list, tenant):
    """acme owns a list with a member and an owner, an archived thread, an import job, a subscription request
    and a token."""
    from poplist.accounts.services import create_api_token
    from poplist.archive.services import archive_message
    from poplist.lists.import_jobs import queue_import
    from poplist.lists.members import add_members
    from poplist.lists.subscriptions import Origin

    add_members(mailing_list, ["ann@example.org"], origin=Origin(), welcome=False)
    message = archive_message(
        mailing_list,
        b"From: ann@example.org\r\nSubject: Secret plans\r\nMessage-ID: <s1@example.org>\r\n\r\nSecret.\r\n",
    )
    token, _secret = create_api_token(tenant, name="acme's")
    job = queue_import(mailing_list, b"email\nbea@example.org\n", source="secret.csv")
    from poplist.delivery.jobs import enqueue_post

    delivery = enqueue_post(mailing_list, b"Subject: Secret plans\r\n\r\nSecret.\r\n", message_id="<s1@example.org>")
    from poplist.lists.models import PendingRequest
    from poplist.lists.subscriptions import request_subscription

    request_subscription(mailing_list, "cy@example.org", origin=Origin(via="web"))
    request = PendingRequest.objects.get(email="cy@example.org")
    return {
        "address": [mailing_list.address],
        "email": ["ann@example.org", "owner@acme.test"],
        "slug": ["acme"],
        "tenant": ["acme"],
        "name": ["lists.acme.test"],
        "domain": ["lists.acme.test"],
        "thread_id": [message.thread.permalink_id],
        "message_id": [message.permalink_id],
        "permalink_id": [message.permalink_id],
        "token_id": [str(token.pk)],
        "import_id": [str(job.pk)],
        "job_id": [str(delivery.pk)],
        "request_id": [str(request.pk)],
    }


def operations():
    """(method, path template, operation) for every operation the API serves that names an object."""
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if PARAM.search(path):
                yield method.upper(), path, operation, schema


def values_for(param: str, operation: dict, world: dict) -> list[str]:
    if param in world:
        return world[param]
    kind = next(
        (p.get("schema", {}).get("type") for p in operation.get("parameters", []) if p["name"] == param), "string"
    )
    if kind == "integer" or param.endswith("_id") or param == "id":
        # globex owns nothing: every small id in the database is acme's (or the host's).
        return [str(i) for i in range(1, MAX_PROBES + 1)]
    # A parameter this test has no object for: try every identifier acme has (a site named like
    # a list, a hash…) so an endpoint that ignores the tenant still shows; add it to acme_world.
    return sorted({value for values in world.values() for value in values if not value.isdigit()})


def call(client: ApiClient, method: str, url: str, operation: dict, schema: dict):
    """Send a valid body for the operation, so a refusal cannot come from validation before the lookup."""
    content = operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        form = sample(content["multipart/form-data"]["schema"], schema, "")
        files = {
            key: SimpleUploadedFile(f"{key}.csv", b"email\nsomeone@example.org\n")
            for key, node in content["multipart/form-data"]["schema"]["properties"].items()
            if node.get("format") == "binary"
        }
        answer = client.client.generic(
            method, url, **_multipart({**form, **files}), HTTP_AUTHORIZATION=f"Bearer {client.token}"
        )
        answer.data = None
        return answer
    body = sample(content["application/json"]["schema"], schema, "") if "application/json" in content else None
    return client.call(method, url, json=body)


def _multipart(data: dict) -> dict:
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    return {"data": encode_multipart(BOUNDARY, data), "content_type": MULTIPART_CONTENT}


def sample(node: dict, schema: dict, name: str):
    if "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in node:
        node = next(n for n in node["anyOf"] if n.get("type") != "null")
        return sample(node, schema, name)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        required = node.get("required", [])
        return {key: sample(value, schema, key) for key, value in node.get("properties", {}).items() if key in required}
    if kind == "array":
        return [sample(node.get("items", {}), schema, name)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if "email" in name or name == "address":
        return "someone@lists.acme.test"
    return "x"


def snapshot() -> dict:
    from poplist.accounts.models import ApiToken, Domain, Tenant
    from poplist.archive.models import ArchivedMessage
    from poplist.lists.models import MailingList, Member

    return {
        "tenants": list(Tenant.objects.values_list("slug", "status").order_by("slug")),
        "domains": list(Domain.objects.values_list("name", flat=True).order_by("name")),
        "lists": list(MailingList.objects.values().order_by("id")),
        "members": list(Member.objects.values().order_by("id")),
        "messages": ArchivedMessage.objects.count(),
        "tokens": list(ApiToken.objects.values_list("id", "revoked_at").order_by("id")),
    }


@pytest.mark.django_db
def test_every_object_path_is_covered():
    """The router map has the endpoints this test guards (a sanity check on the generator itself)."""
    paths = {path for _m, path, _o, _s in operations()}
    assert {"/api/v1/lists/{address}", "/api/v1/lists/{address}/members/{email}", "/api/v1/tenants/{slug}"} <= paths
    assert len(paths) >= 12


@pytest.mark.django_db
def test_another_tenants_token_gets_404_for_every_object_of_acme(acme_world, other_tenant):
    globex = ApiClient(new_token(other_tenant))
    before = snapshot()
    leaks = []
    for method, path, operation, schema in operations():
        params = PARAM.findall(path)
        combos = [{}]
        for param in params:
            combos = [{**c, param: v} for c in combos for v in values_for(param, operation, acme_world)]
        for combo in combos:
            url = PARAM.sub(lambda m, c=combo: c[m.group(1)], path)
            answer = call(globex, method, url, operation, schema)
            # A 404's detail may echo what globex sent, never anything else of acme's.
            echoed = "ann@example.org" in url
            leaked = b"Secret" in answer.content or (b"ann@example.org" in answer.content and not echoed)
            if answer.status_code != 404 or leaked:
                leaks.append((method, url, answer.status_code, answer.content[:200]))
            elif not answer["Content-Type"].startswith("application/problem+json"):
                leaks.append((method, url, "not a problem document", answer.content[:200]))
    assert leaks == []
    assert snapshot() == before


@pytest.mark.django_db
def test_query_parameters_naming_acmes_objects_give_nothing(acme_world, other_tenant):
    globex = ApiClient(new_token(other_tenant))
    leaks = []
    for path, methods in api.get_openapi_schema()["paths"].items():
        operation = methods.get("get")
        if operation is None or PARAM.search(path):
            continue
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query" or parameter["name"] not in acme_world:
                continue
            value = acme_world[parameter["name"]][0]
            answer = globex.get(f"{path}?{parameter['name']}={value}")
            empty = answer.status_code == 200 and answer.data is not None and answer.data.get("items") == []
            if answer.status_code != 404 and not empty:
                leaks.append((path, parameter["name"], answer.status_code, answer.content[:200]))
    assert leaks == []


@pytest.mark.django_db
def test_acme_reaches_the_same_objects(acme_world, tenant):
    """The control: acme's own token gets its objects on the same read paths (so the 404s above mean something)."""
    acme = ApiClient(new_token(tenant))
    for method, path, operation, _schema in operations():
        if method != "GET" or not set(operation.get("tags", [])) & {"accounts", "lists", "archive"}:
            continue  # the routers whose objects acme_world creates
        url = PARAM.sub(lambda m, o=operation: values_for(m.group(1), o, acme_world)[0], path)
        assert acme.get(url).status_code == 200, url
