"""Which list, and which of its addresses, a recipient names (`news@`, `news-request@`, `news-confirm+T@`…)."""

from __future__ import annotations

from dataclasses import dataclass

from poplist.core.addresses import InvalidAddress, domain_to_unicode
from poplist.lists.models import MailingList

# suffix -> route (InboundMessage.Route values)
SUFFIXES = {
    "request": "request",
    "owner": "owner",
    "join": "join",
    "subscribe": "join",
    "leave": "leave",
    "unsubscribe": "leave",
    "confirm": "confirm",
    "bounces": "bounces",
}
TOKEN_ROUTES = {"confirm", "bounces"}  # the only ones that take `+TOKEN`; confirm requires one


@dataclass(frozen=True)
class Route:
    list_id: int
    list_address: str
    route: str
    token: str = ""
    recipient: str = ""  # as the envelope wrote it
    needs_dmarc: bool = False  # a post to a list that rewrites From only for strict DMARC domains


def candidates(address: str) -> list[tuple[str, str, str]] | None:
    """(list address, route, token) readings of a recipient, or None when it cannot be one of ours."""
    address = address.strip().strip("<>").strip()
    local, _, domain = address.rpartition("@")
    if not local or not domain or any(ch in address for ch in "\r\n\x00 "):
        return None
    try:
        domain = domain_to_unicode(domain)
    except InvalidAddress:
        return None
    local = local.lower()
    base, plus, token = local.partition("+")
    found = []
    if not plus:
        found.append((f"{base}@{domain}", "post", ""))
    for suffix, route in SUFFIXES.items():
        if base.endswith(f"-{suffix}") and len(base) > len(suffix) + 1:
            if plus and route not in TOKEN_ROUTES:
                continue
            if route == "confirm" and not token:
                continue
            # The token keeps its case: it is base64.
            original_token = address.rpartition("@")[0].partition("+")[2] if plus else ""
            found.append((f"{base[: -len(suffix) - 1]}@{domain}", route, original_token))
    return found


def resolve(address: str) -> Route | None:
    """The route of one recipient, or None (unknown: refused at RCPT with 550 5.1.1)."""
    readings = candidates(address)
    if not readings:
        return None
    rows = MailingList.objects.filter(address__in=[r[0] for r in readings]).values_list(
        "address", "id", "dmarc_mitigation"
    )
    lists = {row[0]: row[1:] for row in rows}
    for list_address, route, token in readings:
        if list_address in lists:
            list_id, dmarc_mode = lists[list_address]
            needs_dmarc = route == "post" and dmarc_mode == MailingList.Dmarc.WHEN_STRICT
            return Route(list_id, list_address, route, token, address.strip().strip("<>"), needs_dmarc)
    return None
