"""Every write to tenants, domains, users and tokens goes through these functions."""

from __future__ import annotations

import re
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.accounts.models import ApiToken, Domain, Tenant, User
from poplist.core import addresses, tokens
from poplist.core.errors import Conflict, InvalidInput, NotFound

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def create_tenant(slug: str, name: str, domain: str | None = None) -> Tenant:
    if not _SLUG.fullmatch(slug):
        raise InvalidInput(
            _("%(slug)s is not a valid tenant slug: use lower-case letters, digits and dashes."), slug=slug
        )
    with transaction.atomic():
        if Tenant.objects.filter(slug=slug).exists():
            raise Conflict(_("A tenant named %(slug)s already exists."), slug=slug)
        tenant = Tenant.objects.create(slug=slug, name=name or slug)
        if domain:
            add_domain(tenant, domain)
    return tenant


def add_domain(tenant: Tenant, name: str) -> Domain:
    normalized = addresses.domain_to_unicode(name)
    try:
        with transaction.atomic():
            return Domain.objects.create(tenant=tenant, name=normalized)
    except IntegrityError:
        raise Conflict(_("The domain %(domain)s is already in use."), domain=normalized) from None


def create_user(
    email: str,
    *,
    tenant: Tenant | None = None,
    superuser: bool = False,
    password: str | None = None,
    name: str = "",
    language: str = "en",
) -> tuple[User, str]:
    """Create a login; returns the user and the password (generated when none is given)."""
    email = addresses.normalize(email)
    password = password or secrets.token_urlsafe(12)
    if User.objects.filter(email=email).exists():
        raise Conflict(_("A user %(email)s already exists."), email=email)
    manager = User.objects
    create = manager.create_superuser if superuser else manager.create_user
    user = create(email, password, tenant=tenant, name=name, language=language)
    return user, password


def create_api_token(tenant: Tenant | None, *, user: User | None = None, name: str = "") -> tuple[ApiToken, str]:
    """A new API token; the secret is returned once and only its digest is kept."""
    secret = "pl_" + tokens.new_token()
    token = ApiToken.objects.create(
        tenant=tenant, user=user, name=name, prefix=secret[:10], digest=tokens.token_digest(secret)
    )
    return token, secret


def get_tenant(slug: str) -> Tenant:
    try:
        return Tenant.objects.get(slug=slug)
    except Tenant.DoesNotExist:
        raise NotFound(_("There is no tenant %(slug)s."), slug=slug) from None


def set_tenant_status(tenant: Tenant, status: str, reason: str = "") -> Tenant:
    if status not in Tenant.Status.values:
        raise InvalidInput(_("Unknown status %(status)s."), status=status)
    tenant.status = status
    tenant.status_reason = reason
    tenant.status_changed_at = timezone.now()
    tenant.save(update_fields=["status", "status_reason", "status_changed_at"])
    return tenant


def revoke_api_token(token: ApiToken) -> None:
    """The token stops working at once; the row stays for the record."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


# --- Tenant status changes from the host's admin pages (web work) ------------------------------------


def create_tenant_with_owner(
    slug: str, name: str, *, domain: str | None = None, owner: str | None = None
) -> tuple[Tenant, str | None]:
    """A tenant, its first domain and its first owner's login; returns the generated password once."""
    with transaction.atomic():
        tenant = create_tenant(slug, name, domain)
        password = None
        if owner:
            _user, password = create_user(owner, tenant=tenant)
    return tenant, password


def _notify_owners(tenant: Tenant, notice: str, reason: str = "") -> None:
    from poplist.delivery.notices import send_host_notice

    for user in tenant.users.filter(is_active=True):
        send_host_notice(
            notice, user.email, {"tenant": tenant, "reason": reason}, language=user.language, tenant=tenant
        )


def suspend_tenant(tenant: Tenant, *, reason: str = "", actor: str = "") -> Tenant:
    """No service (lists stop sending, sites show a notice), but owners still log in and export everything."""
    with transaction.atomic():
        set_tenant_status(tenant, Tenant.Status.SUSPENDED, reason)
        _notify_owners(tenant, "tenant_suspended", reason)
    return tenant


def reactivate_tenant(tenant: Tenant, *, actor: str = "") -> Tenant:
    with transaction.atomic():
        set_tenant_status(tenant, Tenant.Status.ACTIVE, "")
        _notify_owners(tenant, "tenant_reactivated")
    return tenant


def close_tenant(tenant: Tenant, *, reason: str = "", actor: str = "") -> Tenant:
    """Closed: data kept for the retention period and still exportable by its owners."""
    with transaction.atomic():
        set_tenant_status(tenant, Tenant.Status.CLOSED, reason)
        _notify_owners(tenant, "tenant_closed", reason)
    return tenant
