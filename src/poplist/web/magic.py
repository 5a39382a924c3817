"""Magic links: a signed, expiring token mailed to an address, proving the reader owns it (no password)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput

MAX_AGE = 24 * 3600
SALT = "poplist.web.magic"


def make_token(purpose: str, list_id: int, email: str) -> str:
    return signing.dumps({"p": purpose, "l": list_id, "e": email}, salt=SALT, compress=True)


def read_token(token: str, purpose: str) -> tuple[int, str]:
    """(list id, address) the link was made for; InvalidInput when forged, for another purpose or too old."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidInput(_("This link has expired; ask for a new one.")) from None
    except signing.BadSignature:
        raise InvalidInput(_("This link is not valid.")) from None
    if data.get("p") != purpose:
        raise InvalidInput(_("This link is not valid."))
    return int(data["l"]), str(data["e"])


def link(purpose: str, list_id: int, email: str) -> str:
    name = {"preferences": "web:preferences", "archive": "web:archive_login_done"}[purpose]
    return settings.BASE_URL + reverse(name, args=[make_token(purpose, list_id, email)])
