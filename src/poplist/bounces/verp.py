"""VERP: the envelope sender names the member, so a bounce says who it is about.

`news-bounces+TOKEN@lists.example.org`, where TOKEN is an HMAC-signed member id: a forged
bounce cannot name, and so cannot penalise, anyone.
"""

from __future__ import annotations

from poplist.core.tokens import sign_id, unsign_id
from poplist.lists.models import MailingList

PURPOSE = "verp"


def verp_token(member_id: int) -> str:
    return sign_id(PURPOSE, member_id)


def verp_address(mailing_list: MailingList, member_id: int) -> str:
    return f"{mailing_list.local_part}-bounces+{verp_token(member_id)}@{mailing_list.domain.name}"


def member_id_from_token(token: str) -> int | None:
    """The member id a VERP token names, or None when it was forged or mangled."""
    return unsign_id(PURPOSE, token)
