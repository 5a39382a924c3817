"""Custom domains: a customer proves they own a name before any site serves it.

The proof is in the DNS, which the customer controls and we only read: either a TXT record
`_poplist-challenge.<domain>` whose value is the claim's token, or `<domain>` being a CNAME to
the site's own default hostname (`NAME.<sites domain>`: a CNAME to the host in general would
prove nothing about *which* customer). Until one is seen the name is pending: not served, not
given a certificate, and another site may claim it (a pending claim must not let anyone squat
a name). The worker re-checks pending names by itself (tasks.py); owners can ask for a check.

`resolve` is the one function that leaves the machine; tests replace it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from poplist.sites.models import Hostname

log = logging.getLogger(__name__)

CHALLENGE = "_poplist-challenge"
LIFETIME = 5.0  # seconds for one DNS question
SOON, LATER, AFTER = timedelta(minutes=5), timedelta(hours=6), timedelta(days=1)
BATCH = 100


class DnsError(Exception):
    """The DNS did not answer (timeout, no server): nothing can be concluded."""


def resolve(name: str, rtype: str) -> list[str]:
    """The answers to one DNS question: TXT strings, or CNAME targets (lower-case, no final dot).

    [] when the name or the record does not exist; DnsError when the DNS does not answer.
    """
    try:
        import dns.exception
        import dns.resolver
    except ImportError:  # pragma: no cover - dnspython is a dependency; the socket module knows no TXT
        return _resolve_with_socket(name, rtype)
    resolver = dns.resolver.Resolver()
    resolver.lifetime = LIFETIME
    try:
        answer = resolver.resolve(name, rtype)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        raise DnsError(type(exc).__name__) from None
    if rtype == "TXT":
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]
    return [str(record.target).rstrip(".").lower() for record in answer]


def _resolve_with_socket(name: str, rtype: str) -> list[str]:  # pragma: no cover
    if rtype != "CNAME":
        return []
    try:
        canonical, aliases, _addresses = socket.gethostbyname_ex(name)
    except socket.gaierror:
        return []
    return [canonical.lower()] if canonical.lower() != name and name in aliases else []


def token_for(tenant_id: int, host: str) -> str:
    """The same token each time a tenant claims a name: a claim taken over and made again keeps
    matching the TXT record its owner already published."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"sites-domain:{tenant_id}:{host}".encode(), hashlib.sha256).hexdigest()[:32]


def cname_target(host: Hostname) -> str:
    return f"{host.site.name}.{settings.SITES_DOMAIN}".lower()


def check(host: Hostname) -> bool:
    """Look for the proof now; record what was found. True when the name is (now) verified."""
    if host.verified_at is not None:
        return True
    found: list[str] = []
    verified = False
    try:
        txt = [value.strip() for value in resolve(f"{CHALLENGE}.{host.name}", "TXT")]
        verified = host.token in txt
        found += [f"TXT {value[:60]}" for value in txt]
        if not verified:
            cnames = resolve(host.name, "CNAME")
            verified = cname_target(host) in cnames
            found += [f"CNAME {value}" for value in cnames]
    except DnsError as exc:
        found = [f"DNS error: {exc}"]
    now = timezone.now()
    host.checked_at = now
    host.check_error = "" if verified else ("; ".join(found) or "nothing")[:500]
    with transaction.atomic():
        changes = {"checked_at": now, "check_error": host.check_error}
        if verified:
            host.verified_at = changes["verified_at"] = now
        # Only a pending row changes: a claim removed or taken over meanwhile stays as it is.
        updated = Hostname.objects.filter(pk=host.pk, verified_at__isnull=True).update(**changes)
        if verified and updated:
            from poplist.sites import cache, services

            services._bump()
            transaction.on_commit(cache.touch_generation)
    return verified


def due(now=None) -> list[Hostname]:
    """Pending names whose next check is due: every 5 minutes on their first day, then every 6 hours."""
    now = now or timezone.now()
    recent = Q(created_at__gte=now - AFTER, checked_at__lt=now - SOON)
    return list(
        Hostname.objects.filter(verified_at__isnull=True)
        .filter(Q(checked_at__isnull=True) | recent | Q(checked_at__lt=now - LATER))
        .select_related("site")
        .order_by("checked_at", "id")[:BATCH]
    )


def check_due() -> int:
    """The worker's task: check the pending names that are due; how many became verified."""
    verified = 0
    for host in due():
        try:
            verified += check(host)
        except Exception:  # one bad name must not stop the others
            log.exception("checking %s failed", host.name)
    return verified
