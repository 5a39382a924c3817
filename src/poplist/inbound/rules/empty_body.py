"""No text and no attachment: usually a mistake."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "empty_body"


def check(post: Post) -> Hit | None:
    if post.message is None:
        return None
    text, attachments = post.body()
    if not text.strip() and not attachments:
        return Hit(_("The message is empty."))
    return None
