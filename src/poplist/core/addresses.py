"""Email addresses: validation and the normal form Poplist stores.

The normal form keeps the local part as written (RFC 5321: it is case-sensitive) and
lower-cases the domain (compared case-insensitively), with internationalised domains
as NFC Unicode (U-labels). Internationalised local parts (RFC 6531) are accepted.

Bulk imports call `normalize` once per row, so the ASCII case is one compiled regex:
~1 µs per address here, against ~25 µs for the email-validator package.
"""

from __future__ import annotations

import re
import unicodedata

import idna

from poplist.core.errors import InvalidInput

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = rf"(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
_LOCAL_ASCII = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
_UTF8_ATEXT = r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f\s])"

ASCII_ADDRESS = re.compile(rf"({_LOCAL_ASCII}|{_QUOTED})@({_DOMAIN})")
_ASCII_LOCAL = re.compile(_LOCAL_ASCII)
_ASCII_DOMAIN = re.compile(_DOMAIN)
_UTF8_LOCAL = re.compile(rf"{_UTF8_ATEXT}+(?:\.{_UTF8_ATEXT}+)*|{_QUOTED}")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


class InvalidAddress(InvalidInput):
    code = "invalid_address"


def _invalid(address: str, reason: str) -> InvalidAddress:
    shown = _FORBIDDEN.sub("?", address)[:100]
    return InvalidAddress("%(address)s is not a valid email address: %(reason)s", address=shown, reason=reason)


# Domains already validated by the ASCII path, as written -> lower-cased. A list's addresses share
# few domains, so most rows check only their local part: 1.2-2.0 s -> 0.8-1.0 s of CPU for the
# million addresses of bench/import_members.py. Bounded; once full it only stops growing.
_KNOWN_DOMAINS: dict[str, str] = {}
_KNOWN_DOMAINS_MAX = 4096


def normalize(address: str) -> str:
    """Return the stored form of `address`, or raise InvalidAddress with the reason."""
    address = address.strip()
    local, _at, domain = address.rpartition("@")
    known = _KNOWN_DOMAINS.get(domain)
    if known is not None and len(local) <= 64 and len(address) <= 254 and _ASCII_LOCAL.fullmatch(local):
        return f"{local}@{known}"
    match = ASCII_ADDRESS.fullmatch(address)
    if match is not None:
        local, domain = match.group(1), match.group(2)
        if len(local) > 64 or len(address) > 254:
            raise _invalid(address, "too long")
        lowered = domain.lower()
        if "xn--" not in lowered:
            if len(_KNOWN_DOMAINS) < _KNOWN_DOMAINS_MAX:
                _KNOWN_DOMAINS[domain] = lowered
            return f"{local}@{lowered}"
    return _normalize_slow(address)


def _normalize_slow(address: str) -> str:
    if _FORBIDDEN.search(address):
        raise _invalid(address, "it contains a control character or a line break")
    if "@" not in address:
        raise _invalid(address, "it has no @")
    local, _, domain = address.rpartition("@")
    if not local:
        raise _invalid(address, "nothing before the @")
    if not domain:
        raise _invalid(address, "nothing after the @")
    local = unicodedata.normalize("NFC", local)
    if not _UTF8_LOCAL.fullmatch(local):
        raise _invalid(address, "the part before the @ has characters not allowed there")
    domain = domain_to_unicode(domain, address)
    if len(local.encode()) > 64 or len(local.encode()) + len(domain.encode()) + 1 > 254:
        raise _invalid(address, "too long")
    return f"{local}@{domain}"


def domain_to_unicode(domain: str, address: str | None = None) -> str:
    """The lower-cased U-label form of a domain name, validated (IDNA 2008 with UTS 46 mapping)."""
    try:
        ascii_domain = idna.encode(domain.rstrip("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise _invalid(address or domain, "the domain name is not valid") from None
    if not _ASCII_DOMAIN.fullmatch(ascii_domain) or len(ascii_domain) > 253:
        raise _invalid(address or domain, "the domain name is not valid")
    if ascii_domain.isascii() and "xn--" not in ascii_domain:
        return ascii_domain.lower()
    return idna.decode(ascii_domain)


def domain_to_ascii(domain: str) -> str:
    """The A-label (punycode) form, for DNS and for SMTP without SMTPUTF8."""
    if domain.isascii():
        return domain
    return idna.encode(domain, uts46=True).decode("ascii")


def smtp_form(address: str) -> str:
    """The address with its domain in A-labels, suitable for any SMTP server when the local part is ASCII."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain_to_ascii(domain)}"


def needs_smtputf8(address: str) -> bool:
    return not address.rpartition("@")[0].isascii()


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]
