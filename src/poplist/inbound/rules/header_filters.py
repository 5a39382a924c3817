"""The list's header filters: the first pattern that matches a header decides."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "header_filters"


def check(post: Post) -> Hit | None:
    if post.message is None:
        return None
    for header_filter in post.header_filters:
        try:
            pattern = re.compile(header_filter.pattern, re.IGNORECASE)
        except re.error:
            continue  # saved before validation existed; never let one bad pattern stop the list
        values = post.message.get_all(header_filter.header, []) or []
        for value in values:
            if pattern.search(str(value)[:10_000]):
                return Hit(
                    _("The header %(header)s matches the filter %(pattern)s.")
                    % {"header": header_filter.header, "pattern": header_filter.pattern},
                    header_filter.action,
                )
    return None
