"""What the token of a request may see and do; endpoints of every domain use these.

A tenant token (or a user's token) sees only its tenant: another tenant's object is
"not found", exactly as if it did not exist. A host-wide token (an admin's) sees every tenant.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from poplist.accounts.models import ApiToken, Tenant
from poplist.core.errors import Forbidden


def token_of(request: HttpRequest) -> ApiToken:
    return request.auth  # set by TokenAuth


def tenant_scope(request: HttpRequest) -> Tenant | None:
    """The tenant the token is limited to; None for a host-wide (admin) token."""
    return token_of(request).tenant


def is_admin(request: HttpRequest) -> bool:
    return tenant_scope(request) is None


def require_admin(request: HttpRequest) -> None:
    if not is_admin(request):
        raise Forbidden(_("Only the host's administrators may do this."))


def require_writable(request: HttpRequest, tenant: Tenant) -> None:
    """A suspended or closed tenant keeps read access to everything, but changes nothing (admins may)."""
    if is_admin(request) or tenant.is_active:
        return
    if tenant.status == Tenant.Status.SUSPENDED:
        raise Forbidden(
            _("The account %(tenant)s is suspended: its data can be read, not changed."), tenant=tenant.slug
        )
    raise Forbidden(_("The account %(tenant)s is closed: its data can be read, not changed."), tenant=tenant.slug)


def actor(request: HttpRequest) -> str:
    """Who acts, for the history: the token's user, else the token itself."""
    token = token_of(request)
    return token.user.email if token.user_id else f"api:{token.prefix}"
