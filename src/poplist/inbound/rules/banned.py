"""An author the list banned (exact address or ^pattern)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "banned"


def check(post: Post) -> Hit | None:
    if post.banned:
        return Hit(_("The sender %(address)s is banned from this list.") % {"address": post.from_address})
    return None
