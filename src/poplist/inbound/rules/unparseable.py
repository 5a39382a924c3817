"""Mail the parser could not make sense of: held for a person, never dropped."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "unparseable"


def check(post: Post) -> Hit | None:
    if post.message is None or post.parse_problem:
        return Hit(_("The message is unparseable (%(problem)s).") % {"problem": post.parse_problem or "?"})
    return None
