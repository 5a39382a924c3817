"""Announce lists: only owners, moderators and the accepted senders post."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit
from poplist.lists.models import MailingList

NAME = "announce_only"


def check(post: Post) -> Hit | None:
    if post.mailing_list.style != MailingList.Style.ANNOUNCE or post.privileged or post.accepted:
        return None
    return Hit(_("This is an announce list: only its owners and allowed posters may post."))
