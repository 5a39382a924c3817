"""A member whose moderation flag is set: the list's member moderation action applies."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "member_moderated"


def check(post: Post) -> Hit | None:
    if post.moderated and not post.privileged:
        return Hit(
            _("Posts from %(address)s are moderated.") % {"address": post.from_address},
            post.mailing_list.member_moderation_action,
        )
    return None
