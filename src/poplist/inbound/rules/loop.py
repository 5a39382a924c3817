"""Our own post coming back (List-Id or X-BeenThere of this list): discarded, never re-sent."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.listheaders import list_id
from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "loop"


def check(post: Post) -> Hit | None:
    if post.message is None:
        return None
    address = post.mailing_list.address.lower()
    been_there = [v.strip().lower() for v in post.raw_values("X-BeenThere")]
    if address in been_there or list_id(post.mailing_list).lower() in post.header("List-Id").lower():
        return Hit(_("The message has already been through this list (a mail loop)."))
    return None
