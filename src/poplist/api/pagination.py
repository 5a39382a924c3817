"""Cursor (keyset) pagination any endpoint can reuse: pages stay fast however deep they go.

A page is `{"items": [...], "next": "<cursor>" | null}`; the cursor is an opaque, signed token
holding the ordering key of the last item, so page 20,000 of a million-member list costs what
page 1 costs (one index range scan), and a forged or stale cursor is a clear 400, not a 500.

    @router.get("/things", response=Page[ThingOut])
    def things(request, cursor: str | None = None, limit: int = Query(50, ge=1, le=MAX_LIMIT)):
        return paginate(Thing.objects.filter(...), order=("name", "id"), cursor=cursor, limit=limit)

`order` must be unique (end it with the primary key or another unique column set); a leading
`-` sorts that column descending.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from django.core import signing
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from ninja import Schema

from poplist.core.errors import InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_ID = 2**63 - 1  # ids in paths: larger numbers cannot name a row (and overflow SQLite)
_SALT = "poplist.api.cursor"


class Page(Schema, Generic[T]):
    items: list[T]
    next: str | None = None


def paginate(queryset: QuerySet, *, order: Sequence[str], cursor: str | None, limit: int) -> dict[str, Any]:
    """One page of `queryset` in `order`, starting after `cursor`; returns {"items", "next"}."""
    limit = max(1, min(limit, MAX_LIMIT))
    fields = [name.lstrip("-") for name in order]
    queryset = queryset.order_by(*order)
    if cursor:
        queryset = queryset.filter(_after(order, _decode(cursor, queryset.model, fields)))
    rows = list(queryset[: limit + 1])
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = encode_cursor([_key_of(rows[-1], field) for field in fields], queryset.model)
    return {"items": rows, "next": following}


def encode_cursor(values: list[Any], model: type) -> str:
    plain = [v.isoformat() if isinstance(v, (datetime, date)) else v for v in values]
    return signing.dumps([model._meta.label_lower, plain], salt=_SALT, compress=True)


def _decode(cursor: str, model: type, fields: list[str]) -> list[Any]:
    try:
        label, values = signing.loads(cursor, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidInput(_("This cursor is not valid; start again from the first page.")) from None
    if label != model._meta.label_lower or not isinstance(values, list) or len(values) != len(fields):
        raise InvalidInput(_("This cursor is not valid; start again from the first page."))
    return values


def _key_of(row: Any, field: str) -> Any:
    return row[field] if isinstance(row, dict) else getattr(row, field)


def _after(order: Sequence[str], values: list[Any]) -> Q:
    """Rows strictly after `values`: (a > x) OR (a = x AND b > y) …, and a >= x so an index range applies."""
    condition = Q()
    equal = Q()
    for name, value in zip(order, values, strict=True):
        field = name.lstrip("-")
        beyond = Q(**{f"{field}__lt" if name.startswith("-") else f"{field}__gt": value})
        condition |= equal & beyond
        equal &= Q(**{field: value})
    first = order[0]
    leading = Q(**{f"{first.lstrip('-')}__lte" if first.startswith("-") else f"{first}__gte": values[0]})
    return leading & condition
