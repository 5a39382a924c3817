"""Headers no honest mail client writes: several From or Subject headers, or line breaks smuggled in."""

from __future__ import annotations

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "suspicious_headers"
_SINGLE = ("From", "Subject", "To", "Sender", "Reply-To", "Message-ID", "Date")


def check(post: Post) -> Hit | None:
    if post.message is None:
        return None
    for name in _SINGLE:
        count = post.count(name)
        if count > 1:
            return Hit(_("The message has %(count)s %(header)s headers.") % {"count": count, "header": name})
    for name in ("From", "Subject", "Reply-To"):
        value = post.header(name)
        if "\r" in value or "\n" in value or "\x00" in value:
            return Hit(_("The %(header)s header hides a line break.") % {"header": name})
    if not post.header("From"):
        if post.count("From"):
            return Hit(_("The From header cannot be read (a line break or garbage in it)."))
        return Hit(_("The message has no From header."))
    return None
