"""Every error of the API as an RFC 9457 problem details document, in the caller's language.

{"type": "https://poplist.invalid/problems/<code>", "title": …, "status": …, "detail": …, "code": …}
plus `errors` (one entry per invalid field) for validation errors.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

PROBLEM_TYPE = "https://poplist.invalid/problems/"
CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: _("Bad request"),
    401: _("Authentication required"),
    403: _("Forbidden"),
    404: _("Not found"),
    405: _("Method not allowed"),
    409: _("Conflict"),
    413: _("Request too large"),
    415: _("Unsupported media type"),
    422: _("Invalid input"),
    429: _("Too many requests"),
    500: _("Server error"),
}
CODES = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}


def problem(
    status: int,
    detail: Any,
    *,
    code: str | None = None,
    errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """A problem details response; `detail` may be a lazy translation (rendered in the active language)."""
    code = code or CODES.get(status, "error")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": str(TITLES.get(status, _("Error"))),
        "status": status,
        "detail": str(detail),
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=CONTENT_TYPE + "; charset=utf-8"
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response
