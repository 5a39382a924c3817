"""An author who is neither a member, an owner, a moderator nor an accepted sender."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "nonmember"


def check(post: Post) -> Hit | None:
    if post.roles or post.accepted:
        return None
    shown = post.from_address or post.mail_from or "?"
    return Hit(_("%(address)s is not a member of the list.") % {"address": shown}, post.mailing_list.nonmember_action)
