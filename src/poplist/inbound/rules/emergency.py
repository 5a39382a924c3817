"""Emergency moderation: every post waits for a moderator, except the moderators' own."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "emergency"


def check(post: Post) -> Hit | None:
    if post.mailing_list.emergency_moderation and not post.privileged:
        return Hit(_("The list is under emergency moderation."))
    return None
