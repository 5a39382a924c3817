"""The REST API at /api/v1/ (django-ninja): token authentication, problem details, routers per domain.

Each domain package with endpoints has an `api.py` defining `router` and `PREFIX`; they are
found by core.discovery and mounted here.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import NinjaAPI
from ninja.security import HttpBearer

from poplist.accounts.models import ApiToken
from poplist.core.errors import PoplistError
from poplist.core.tokens import token_digest


class TokenAuth(HttpBearer):
    """`Authorization: Bearer pl_…`; the request then carries `auth` = the ApiToken (tenant-scoped or host-wide)."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = (
            ApiToken.objects.select_related("tenant", "user")
            .filter(digest=token_digest(token), revoked_at__isnull=True)
            .first()
        )
        if found is None:
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        return found


api = NinjaAPI(
    title="Poplist API",
    version="1",
    urls_namespace="api",
    auth=TokenAuth(),
    openapi_url="/openapi.json",
    docs_url="/docs",
)


@api.exception_handler(PoplistError)
def poplist_error(request: HttpRequest, exc: PoplistError):
    """Errors as RFC 9457 problem details."""
    return api.create_response(
        request,
        {
            "type": f"https://poplist.invalid/problems/{exc.code}",
            "title": exc.code.replace("_", " "),
            "status": exc.http_status,
            "detail": str(exc),
        },
        status=exc.http_status,
    )


def mount_routers() -> None:
    from poplist.core.discovery import domain_modules

    for module in domain_modules("api"):
        api.add_router(module.PREFIX, module.router)


mount_routers()
