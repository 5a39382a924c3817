"""Secrets that travel in links and addresses.

Two kinds:
- random single-use tokens (confirmations): only their sha256 is stored, so a copy of the
  database does not hand out working links;
- signed identifiers (unsubscribe links, VERP): stateless, an id plus a truncated HMAC,
  cheap enough to make one per recipient of a million-member post (~1 µs each).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import struct

from django.conf import settings

_MAC_BYTES = 12  # 96 bits: forging one takes ~2**95 tries at the web server's rate


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _key(purpose: str) -> bytes:
    return _derived_key(purpose, settings.SECRET_KEY)


@functools.lru_cache(maxsize=64)
def _derived_key(purpose: str, secret: str) -> bytes:
    return hashlib.sha256(f"poplist:{purpose}:{secret}".encode()).digest()


def sign_id(purpose: str, value: int) -> str:
    """A short url-safe token naming `value`, that only this instance can make."""
    packed = struct.pack(">Q", value)
    mac = hmac.new(_key(purpose), packed, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(packed.lstrip(b"\0").rjust(1, b"\0") + mac).decode().rstrip("=")


def unsign_id(purpose: str, token: str) -> int | None:
    """The value a token of `sign_id` names, or None when it was not made here for `purpose`."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) <= _MAC_BYTES or len(raw) > _MAC_BYTES + 8:
        return None
    packed = raw[:-_MAC_BYTES].rjust(8, b"\0")
    expected = hmac.new(_key(purpose), packed, hashlib.sha256).digest()[:_MAC_BYTES]
    if not hmac.compare_digest(expected, raw[-_MAC_BYTES:]):
        return None
    return struct.unpack(">Q", packed)[0]
