"""The REST API at /api/v1/ (django-ninja): token authentication, problem details, routers per domain.

Each domain package with endpoints has an `api.py` defining `router` and `PREFIX`; they are
found by core.discovery and mounted here. Every error, including a URL that matches nothing
and a method a path does not have, is an RFC 9457 problem details document (problems.py) in
the caller's language; each token has a rate limit (ratelimit.py).
"""

from __future__ import annotations

import functools
import logging
import re
from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, re_path
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.security import HttpBearer

from poplist.accounts.models import ApiToken
from poplist.api.problems import problem
from poplist.api.ratelimit import TokenRateThrottle
from poplist.api.validation import field_errors
from poplist.core.errors import PoplistError
from poplist.core.tokens import token_digest
from poplist.exchange.readonly import is_standby

log = logging.getLogger(__name__)
LAST_USED_PRECISION = timedelta(minutes=1)  # a write per request would serialise readers on SQLite


class TokenAuth(HttpBearer):
    """`Authorization: Bearer pl_…`; the request then carries `auth` = the ApiToken (tenant-scoped or host-wide)."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = (
            ApiToken.objects.select_related("tenant", "user")
            .filter(digest=token_digest(token), revoked_at__isnull=True)
            .first()
        )
        if found is None or not _usable(found):
            return None
        now = timezone.now()
        stale = found.last_used_at is None or now - found.last_used_at > LAST_USED_PRECISION
        if stale and not is_standby():  # a standby serves reads; it keeps no last use
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        if found.user_id and "HTTP_ACCEPT_LANGUAGE" not in request.META:
            translation.activate(found.user.language)  # no header: the user's own preference
        return found


def _usable(token: ApiToken) -> bool:
    """A user's token works while the user does; only an admin's may be host-wide."""
    if token.user_id is None:
        return True
    user = token.user
    if not user.is_active:
        return False
    return token.tenant_id is not None or user.is_superuser


class PoplistAPI(NinjaAPI):
    """NinjaAPI whose every answer, even for unknown URLs and methods, is problem details."""

    def _get_urls(self):
        urls = []
        for url in super()._get_urls():
            if isinstance(url, URLPattern) and url.name == "api-root":  # ninja's root raises Django's HTML 404
                url = URLPattern(url.pattern, _not_found_view, url.default_args, url.name)
            urls.append(_with_problem_405(url) if isinstance(url, URLPattern) else url)
        urls.append(re_path(r"^.*$", _not_found_view, name="not-found"))
        return urls


@csrf_exempt
def _not_found_view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    return problem(404, _("There is nothing at this address."))


_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _has_nul(request: HttpRequest) -> bool:
    """NUL in text: PostgreSQL refuses to store it, and no address, name or setting holds one."""
    if "\x00" in request.path or any("\x00" in key + value for key, value in request.GET.items()):
        return True
    if request.content_type == "application/json":
        return _JSON_NUL.search(request.body) is not None
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields = [*request.POST.items(), *((key, f.name or "") for key, f in request.FILES.items())]
        return any("\x00" in key + value for key, value in fields)
    return False


def _with_problem_405(url: URLPattern) -> URLPattern:
    view = url.callback

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            if _has_nul(request):
                return problem(400, _("Text may not contain NUL characters."))
        except RequestDataTooBig:
            return problem(413, _("The request body is too large."))
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and "Allow" in response:
            allowed = response["Allow"]
            response = problem(
                405,
                _("This address does not accept %(method)s.") % {"method": request.method},
                headers={"Allow": allowed},
            )
        return response

    return URLPattern(url.pattern, wrapper, url.default_args, url.name)


api = PoplistAPI(
    title="Poplist API",
    version="1",
    description="Mailing lists, members and archives of a Poplist host. See docs/api.md.",
    urls_namespace="api",
    auth=TokenAuth(),
    throttle=[TokenRateThrottle()],
    openapi_url="/openapi.json",
    docs_url="/docs",
)


@api.exception_handler(PoplistError)
def poplist_error(request: HttpRequest, exc: PoplistError) -> HttpResponse:
    return problem(exc.http_status, exc, code=exc.code)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return problem(422, _("Some fields are not valid; see errors."), errors=field_errors(exc.errors))


@api.exception_handler(Throttled)
def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return problem(
        429, _("This token made too many requests; retry after %(seconds)s seconds.") % {"seconds": exc.wait}
    )


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(
        401,
        _("Send a valid API token: Authorization: Bearer pl_…"),
        headers={"WWW-Authenticate": 'Bearer realm="poplist"'},
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem(exc.status_code, exc.message)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(404, _("There is nothing at this address."))


@api.exception_handler(Exception)
def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("API error on %s %s", request.method, request.path)
    return problem(500, _("Something went wrong on our side; nothing you sent was lost. Please try again."))


def mount_routers() -> None:
    from poplist.core.discovery import domain_modules

    for module in domain_modules("api"):
        api.add_router(module.PREFIX, module.router)


mount_routers()
