"""Too many addresses in To and Cc: the mark of spam and of reply-all storms."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "max_recipients"


def check(post: Post) -> Hit | None:
    limit = post.mailing_list.max_recipients
    if not limit or post.message is None:
        return None
    count = len(post.recipients())
    if count > limit:
        return Hit(
            _("The message has %(count)s recipients; the list allows %(limit)s.") % {"count": count, "limit": limit}
        )
    return None
