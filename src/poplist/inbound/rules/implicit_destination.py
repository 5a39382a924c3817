"""The list is in neither To nor Cc (a Bcc, or spam): held when the list requires an explicit destination."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "implicit_destination"


def check(post: Post) -> Hit | None:
    if not post.mailing_list.require_explicit_destination or post.message is None:
        return None
    found = set(post.recipients())
    list_address = post.mailing_list.address.lower()
    if list_address in found or any(
        a.endswith(f"@{post.mailing_list.domain.name}") and a.split("@")[0] == post.mailing_list.local_part.lower()
        for a in found
    ):
        return None
    return Hit(_("The list address is not in To or Cc."))
