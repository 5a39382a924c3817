"""HTTP on a standby: a request that would change something gets 503 and one sentence, before any work."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from poplist.exchange.readonly import StandbyReadOnly, is_standby

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
EXEMPT = ("/api/v1/export/feed/fence",)  # a newer primary fences this node over HTTP, also when it is fenced


class StandbyMiddleware:
    """POST, PUT, PATCH and DELETE on a standby: 503 (problem details under /api/, a page elsewhere)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in SAFE_METHODS and not request.path.startswith(EXEMPT) and is_standby():
            return refusal(request)
        return self.get_response(request)


def refusal(request: HttpRequest) -> HttpResponse:
    error = StandbyReadOnly()
    if request.path.startswith("/api/"):
        from poplist.api.problems import problem

        response = problem(error.http_status, error, code=error.code)
    else:
        response = render(request, "web/error.html", {"message": str(error)}, status=error.http_status)
    response["Retry-After"] = "60"
    return response
