"""A suspended tenant's lists distribute nothing; posts wait until the account is active again."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "suspended"


def check(post: Post) -> Hit | None:
    if not post.mailing_list.tenant.is_active:
        return Hit(_("The account this list belongs to is suspended; posts are not distributed."))
    return None
