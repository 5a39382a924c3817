"""Larger than the list's size limit."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "max_size"


def check(post: Post) -> Hit | None:
    limit = post.mailing_list.max_message_kb
    if limit and len(post.raw) > limit * 1024:
        return Hit(
            _("The message is %(size)s KB; the list allows %(limit)s KB.")
            % {"size": len(post.raw) // 1024, "limit": limit}
        )
    return None
