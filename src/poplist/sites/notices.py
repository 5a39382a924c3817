"""The host's own pages for site visitors: no site here (404), site suspended (503)."""

from __future__ import annotations

from functools import lru_cache

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header


def _language(accept: str) -> str:
    for code, _q in parse_accept_lang_header(accept):
        base = code.split("-")[0].lower()
        if base in ("en", "fr"):
            return base
    return "en"


@lru_cache(maxsize=8)
def _render(status: int, language: str) -> bytes:
    with translation.override(language):
        return render_to_string("sites/notice.html", {"status": status, "language": language}).encode()


def render_notice(status: int, accept_language: str = "") -> bytes:
    return _render(status, _language(accept_language[:200]))
