"""DKIM signing (RFC 6376, relaxed/relaxed) with `cryptography`, prepared once per post.

dkimpy signs ~100 messages/s per core (pure-Python RSA); `cryptography` makes ~2,600 RSA-2048
signatures/s per core here, so every copy of a large list can be signed. Tests verify with dkimpy.

Per post: the canonical form of every signed header that is the same for all copies, and the
canonical body (or its hash state up to the first personal part). Per copy: the canonical
List-Unsubscribe headers, the body hash when the body is personal, one signature.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
    b"list-id",
    b"list-post",
    b"list-archive",
)
PERSONAL_HEADERS = (b"list-unsubscribe", b"list-unsubscribe-post")

_WSP = re.compile(rb"[ \t]+")
_TRAILING_WSP = re.compile(rb"[ \t]+(?=\r\n)")
_TRAILING_LINES = re.compile(rb"(\r\n)+\Z")


def canon_header(name: bytes, value: bytes) -> bytes:
    """Relaxed header canonicalization: lower-case name, unfolded value with WSP runs as one space."""
    value = value.replace(b"\r\n", b"")
    value = _WSP.sub(b" ", value).strip(b" ")
    return name.strip().lower() + b":" + value + b"\r\n"


def canon_body(body: bytes, *, final: bool = True, nonempty: bool = False) -> bytes:
    """Relaxed body canonicalization; `final=False` for a part that more text follows (keeps empty lines),
    `nonempty` for the last part of a body whose earlier parts hold text (it always ends with CRLF)."""
    body = _WSP.sub(b" ", body)
    body = _TRAILING_WSP.sub(b"", body)
    if body.endswith(b" ") and final:
        body = body.rstrip(b" ")
    if final:
        body = _TRAILING_LINES.sub(b"", body)
        if body or nonempty:
            body += b"\r\n"
    return body


@dataclass(frozen=True)
class Signer:
    domain: str
    selector: str
    algorithm: str  # rsa-sha256 | ed25519-sha256
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        # RFC 8463: Ed25519 signs the SHA-256 of the canonical headers.
        return self.key.sign(hashlib.sha256(data).digest())


def load_signer(domain: str, selector: str, algorithm: str, pem: str) -> Signer:
    """A signer from a stored key; a missing or corrupt key is a clear error, never an unsigned copy."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            _("The DKIM key %(selector)s of %(domain)s cannot be read (%(error)s)."),
            selector=selector,
            domain=domain,
            error=str(exc)[:200],
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise InvalidInput(
            _("The DKIM key %(selector)s of %(domain)s is neither RSA nor Ed25519."), selector=selector, domain=domain
        )
    return Signer(domain, selector, algorithm, key)


def split_message(raw: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """(headers as (name, raw value with folding), body) of CRLF bytes."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, body = raw, b""
    headers: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b"\r\n" + line)
        elif b":" in line:
            name, _, value = line.partition(b":")
            headers.append((name, value))
    return headers, body


class PreparedSignature:
    """What is fixed per post: the canonical signed headers and the body's canonical parts."""

    def __init__(self, signers: list[Signer], headers: list[tuple[bytes, bytes]], body_parts: list[bytes]) -> None:
        self.signers = signers
        present: dict[bytes, list[bytes]] = {}
        for name, value in headers:
            present.setdefault(name.strip().lower(), []).append(value)
        # h= lists each present header as many times as it occurs; canonical order is bottom-up.
        names: list[bytes] = []
        canon = b""
        for name in SIGNED_HEADERS:
            for value in reversed(present.get(name, [])):
                names.append(name)
                canon += canon_header(name, value)
        self.fixed_names = names
        self.fixed_canon = canon
        # Body: canonical parts between the personal values; hash of the first part kept as a state.
        if len(body_parts) == 1:
            self.body_hash: bytes | None = base64.b64encode(hashlib.sha256(canon_body(body_parts[0])).digest())
            self.body_canon_parts: list[bytes] = []
        else:
            self.body_hash = None
            self.body_canon_parts = [canon_body(p, final=False) for p in body_parts[:-1]] + [
                canon_body(body_parts[-1], nonempty=True)
            ]
            self._first_state = hashlib.sha256(self.body_canon_parts[0])

    def body_hash_for(self, values: list[bytes]) -> bytes:
        if self.body_hash is not None:
            return self.body_hash
        state = self._first_state.copy()
        for value, part in zip(values, self.body_canon_parts[1:], strict=True):
            state.update(value)
            state.update(part)
        return base64.b64encode(state.digest())

    def signature_headers(self, personal: list[tuple[bytes, bytes]], values: list[bytes]) -> bytes:
        """The DKIM-Signature header lines (one per signer) for one copy."""
        bh = self.body_hash_for(values)
        names = self.fixed_names + [n.lower() for n, _ in personal]
        canon = self.fixed_canon + b"".join(canon_header(n, v) for n, v in personal)
        stamp = str(int(time.time())).encode()
        out = []
        for signer in self.signers:
            tags = (
                b"v=1; a="
                + signer.algorithm.encode()
                + b"; c=relaxed/relaxed; d="
                + signer.domain.encode()
                + b"; s="
                + signer.selector.encode()
                + b"; t="
                + stamp
                + b"; h="
                + b":".join(names)
                + b"; bh="
                + bh
                + b"; b="
            )
            to_sign = canon + canon_header(b"dkim-signature", b" " + tags)[:-2]
            b = base64.b64encode(signer.sign(to_sign))
            out.append(b"DKIM-Signature: " + tags + _fold(b) + b"\r\n")
        return b"".join(out)


def sign_message(raw: bytes, signers: list[Signer]) -> bytes:
    """A whole message signed by each signer (notices: one copy, nothing prepared to share), in CRLF form.

    Signs the headers of SIGNED_HEADERS and PERSONAL_HEADERS that the message has, like a post."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not signers:
        return raw
    headers, body = split_message(raw)
    own = [(n.strip(), v) for n, v in headers if n.strip().lower() in PERSONAL_HEADERS]
    prepared = PreparedSignature(signers, headers, [body])
    return prepared.signature_headers(own, []) + raw


def header_domain(raw: bytes, name: bytes = b"from") -> str:
    """The domain of the first address in a header (lower case), or "" when there is none."""
    from email.utils import getaddresses

    head = raw.replace(b"\r\n", b"\n").partition(b"\n\n")[0].replace(b"\n", b"\r\n")
    for header, value in split_message(head + b"\r\n\r\n")[0]:
        if header.strip().lower() == name:
            text = value.replace(b"\r\n", b"").decode("utf-8", "replace")
            addresses = [a for _, a in getaddresses([text]) if "@" in a]
            return addresses[0].rpartition("@")[2].strip().lower().rstrip(".") if addresses else ""
    return ""


def _fold(value: bytes, width: int = 76) -> bytes:
    return b"\r\n\t".join(value[i : i + width] for i in range(0, len(value), width))
