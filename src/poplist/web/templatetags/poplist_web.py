"""Template helpers of the web pages: navigation tabs, obfuscated addresses, SVG charts."""

from __future__ import annotations

from django import template

from poplist.web import nav

register = template.Library()


def _path(context) -> str:
    request = context.get("request")
    return request.path if request else ""


@register.simple_tag(takes_context=True)
def console_tabs(context, address: str) -> list[nav.Tab]:
    return nav.tabs("CONSOLE_TABS", address, path=_path(context))


@register.simple_tag(takes_context=True)
def tenant_tabs(context) -> list[nav.Tab]:
    return nav.tabs("TENANT_TABS", path=_path(context))


@register.simple_tag(takes_context=True)
def admin_tabs(context) -> list[nav.Tab]:
    return nav.tabs("ADMIN_TABS", path=_path(context))


@register.filter
def obfuscate(address: str) -> str:
    """ann@example.org -> 'ann at example.org' for the public: harvesters look for an @."""
    from poplist.web.sanitize import obfuscate_address

    return obfuscate_address(address or "")


@register.filter
def grouped(value) -> str:
    """1234567 -> 1,234,567 (en) or 1 234 567 (fr)."""
    from django.utils import translation

    try:
        number = int(value)
    except (TypeError, ValueError):
        return value
    text = f"{number:,}"
    return text.replace(",", "\u202f") if translation.get_language() == "fr" else text
