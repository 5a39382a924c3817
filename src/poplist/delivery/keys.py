"""DKIM keys per sending domain: generated here, stored in the database (one thing to back up)."""

from __future__ import annotations

import base64
from datetime import date
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from poplist import config
from poplist.core.errors import InvalidInput
from poplist.delivery.dkim import Signer, load_signer
from poplist.delivery.models import DkimKey


def generate(domain: str, *, selector: str | None = None, ed25519_too: bool = False) -> list[DkimKey]:
    """An RSA-2048 key (and an Ed25519 one for dual signing) for `domain`; older keys stop signing."""
    domain = domain.strip().lower().rstrip(".")
    if not domain or "." not in domain or " " in domain:
        raise InvalidInput(_("%(domain)s is not a domain name."), domain=domain)
    selector = selector or f"poplist{date.today():%Y%m}"
    made = [(DkimKey.Algorithm.RSA, selector, rsa.generate_private_key(public_exponent=65537, key_size=2048))]
    if ed25519_too:
        made.append((DkimKey.Algorithm.ED25519, f"{selector}e", ed25519.Ed25519PrivateKey.generate()))
    with transaction.atomic():
        if DkimKey.objects.filter(domain=domain, selector__in=[s for _, s, _ in made]).exists():
            raise InvalidInput(
                _("%(domain)s already has a key with selector %(selector)s; choose another with --selector."),
                domain=domain,
                selector=selector,
            )
        DkimKey.objects.filter(domain=domain).update(active=False)
        return [
            DkimKey.objects.create(
                domain=domain,
                selector=sel,
                algorithm=algorithm,
                private_key=key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ).decode(),
            )
            for algorithm, sel, key in made
        ]


def dns_record(key: DkimKey) -> tuple[str, str]:
    """(name, TXT value) to publish for a key."""
    private = serialization.load_pem_private_key(key.private_key.encode(), password=None)
    public = private.public_key()
    if key.algorithm == DkimKey.Algorithm.ED25519:
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        tag = "ed25519"
    else:
        raw = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        tag = "rsa"
    return f"{key.selector}._domainkey.{key.domain}", f"v=DKIM1; k={tag}; p={base64.b64encode(raw).decode()}"


def signers_for(domain: str, *, required: bool | None = None) -> list[Signer]:
    """The active keys of a domain, loaded (a corrupt key raises InvalidInput); [] when it has none,
    unless a key is `required` (default: the `dkim_required` setting), where that is an error too."""
    keys = list(DkimKey.objects.filter(domain=domain.lower(), active=True).order_by("algorithm", "id"))
    if required is None:
        required = config.get("dkim_required").lower() in {"1", "true", "yes"}
    if not keys and required:
        raise InvalidInput(_("%(domain)s has no DKIM key: run `poplist dkim generate %(domain)s`."), domain=domain)
    return [_load(k.pk, k.domain, k.selector, k.algorithm, k.private_key) for k in keys]


@lru_cache(maxsize=64)
def _load(pk: int, domain: str, selector: str, algorithm: str, pem: str) -> Signer:
    # Parsing a PEM key takes 50-90 ms here: once per key per worker, not once per notice batch.
    # (A corrupt key raises and is not cached: it is read again after it is fixed.)
    return load_signer(domain, selector, algorithm, pem)
