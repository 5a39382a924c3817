"""The DMARC policy of an author's domain (RFC 7489), looked up with dnspython and cached.

Tests and benchmarks install a stub with `set_resolver`; nothing here is ever mocked on the
network. A failed lookup counts as "no policy" (and is cached for a shorter while).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

TTL = 3600.0
NEGATIVE_TTL = 300.0
STRICT = {"reject", "quarantine"}

_cache: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()
_resolver: Callable[[str], list[str]] | None = None


def set_resolver(resolver: Callable[[str], list[str]] | None) -> None:
    """Install a function name -> TXT strings (None: dnspython). Clears the cache."""
    global _resolver
    _resolver = resolver
    with _lock:
        _cache.clear()


def _txt(name: str) -> list[str]:
    if _resolver is not None:
        return _resolver(name)
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=2.0)
    except (dns.exception.DNSException, OSError):
        return []
    return [b"".join(record.strings).decode("ascii", "replace") for record in answer]


def _organizational_domain(domain: str) -> str:
    return _psl().privatesuffix(domain) or domain


_psl_instance = None


def _psl():
    global _psl_instance
    if _psl_instance is None:
        from publicsuffixlist import PublicSuffixList

        _psl_instance = PublicSuffixList()
    return _psl_instance


def _policy_record(name: str) -> str | None:
    for text in _txt(f"_dmarc.{name}"):
        if text.strip().lower().startswith("v=dmarc1"):
            for tag in text.split(";"):
                key, _, value = tag.strip().partition("=")
                if key.strip().lower() == "p":
                    return value.strip().lower()
            return "none"
    return None


def policy(domain: str) -> str:
    """'reject', 'quarantine', 'none', or '' when the domain publishes nothing."""
    domain = domain.strip().rstrip(".").lower()
    if not domain:
        return ""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(domain)
    if cached and cached[0] > now:
        return cached[1]
    found = _policy_record(domain)
    if found is None:
        org = _organizational_domain(domain)
        if org != domain:
            found = _policy_record(org)
    value = found or ""
    with _lock:
        _cache[domain] = (now + (TTL if value else NEGATIVE_TTL), value)
    return value


def is_strict(domain: str) -> bool:
    return policy(domain) in STRICT
