"""Rows to records and back, generically: a model's own fields, plus references by natural key.

A record never carries a database id: references name what they point to (a list by its
address, a thread by its permalink id), so an export imports into any instance and a
re-export of the import gives the same bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import F
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput

BATCH = 2000


@dataclass
class ModelSpec:
    """How one model becomes `path` in a tenant's folder.

    refs maps a record key to the ORM lookup that names the referenced row (export) and
    to a resolver that turns that name back into an id (import): {"list": ("mailing_list__address",
    "mailing_list_id")}; the resolver is looked up in the import context by record key.
    """

    model: type[models.Model]
    path: str
    scope: Callable[[Any], models.QuerySet]
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)
    exclude: set[str] = field(default_factory=set)
    secret: set[str] = field(default_factory=set)  # exported only with --include-secrets
    fixed: dict[str, Any] = field(default_factory=dict)  # set on import whatever the record says
    defaults: dict[str, Any] = field(default_factory=dict)  # set on import when the record lacks the field
    # For tables of millions of rows: the tenant's rows are those whose `parent` (a foreign key column) is in
    # `parents(tenant)`; a big tenant is then read by walking the primary key (see export_rows).
    parent: str = ""
    parents: Callable[[Any], Any] | None = None

    def own_fields(self) -> list[models.Field]:
        skip = {"id"} | self.exclude
        return [
            f
            for f in self.model._meta.concrete_fields
            if f.name not in skip and not f.is_relation and f.name not in self.fixed
        ]


def export_rows(spec: ModelSpec, tenant: Any, include_secrets: bool) -> Iterator[dict[str, Any]]:
    """The tenant's rows as records, in id order, read in keyset pages of BATCH rows (flat memory)."""
    names = [f.name for f in spec.own_fields() if include_secrets or f.name not in spec.secret]
    binary = {f.name for f in spec.own_fields() if isinstance(f, models.BinaryField)}
    lookups = [lookup for lookup, _target in spec.refs.values()]
    keys = list(spec.refs)
    last = 0
    base, walking = _walk(spec, tenant)
    if walking:  # no join (it would drive the query by the parent's index again): references resolved per page
        lookups = [_split(spec.model, lookup)[0] for lookup in lookups]
    while True:
        rows = list(base.filter(id__gt=last).order_by("id").values_list("id", *names, *lookups)[:BATCH])
        if walking:
            rows = _resolve_refs(spec, rows, 1 + len(names))
        for row in rows:
            record = dict(zip(names, row[1 : 1 + len(names)], strict=True))
            for name in binary:
                if name in record and record[name] is not None:
                    record[name] = base64.b64encode(bytes(record[name])).decode("ascii")
            for key, value in zip(keys, row[1 + len(names) :], strict=True):
                record[key] = value
            yield record
        if len(rows) < BATCH:
            return
        last = rows[-1][0]


WALK_ABOVE = 50_000


def _walk(spec: ModelSpec, tenant: Any) -> tuple[models.QuerySet, bool]:
    """The query whose pages `id > last ORDER BY id LIMIT n` cost one page each, not the whole tenant.

    Through the scope's join, SQLite (and PostgreSQL without a (parent, id) index) reads every row
    of the tenant after `last` by the parent's index and sorts them, for each page: quadratic
    (1,000,000 members: 111 s, 9,000 rows/s, against 21,000 rows/s at 250,000). A big tenant is
    read instead along the primary key, its parent column made unusable as an index (`+ 0`) and
    checked against the tenant's parents: one pass over the table (4,000,000 members: see
    docs/exchange.md). A small tenant of a big instance keeps the index.
    """
    base = spec.scope(tenant)
    if not spec.parent or spec.parents is None or base.count() <= WALK_ABOVE:
        return base, False
    parents = list(spec.parents(tenant))
    return spec.model._base_manager.alias(_parent=F(spec.parent) + 0).filter(_parent__in=parents), True


def _split(model: type[models.Model], lookup: str) -> tuple[str, str | None]:
    """`mailing_list__address` -> (`mailing_list_id`, `address`); a plain column -> (itself, None)."""
    head, sep, rest = lookup.partition("__")
    if not sep:
        return lookup, None
    return model._meta.get_field(head).attname, rest


def _resolve_refs(spec: ModelSpec, rows: list[tuple], start: int) -> list[tuple]:
    """Replace each reference's foreign key by the referenced row's natural key (one query per reference)."""
    rows = [list(row) for row in rows]
    for offset, (lookup, _target) in enumerate(spec.refs.values()):
        _column, rest = _split(spec.model, lookup)
        if rest is None:
            continue
        related = spec.model._meta.get_field(lookup.partition("__")[0]).related_model
        ids = {row[start + offset] for row in rows} - {None}
        names = dict(related._base_manager.filter(pk__in=ids).values_list("pk", rest)) if ids else {}
        for row in rows:
            row[start + offset] = names.get(row[start + offset])
    return [tuple(row) for row in rows]


def to_values(spec: ModelSpec, record: dict[str, Any], path: str) -> dict[str, Any]:
    """A record's own fields as model values; unknown keys are ignored, bad values refused."""
    values: dict[str, Any] = {}
    for f in spec.own_fields():
        if f.name not in record:
            continue
        value = record[f.name]
        try:
            if value is None:
                if not f.null:
                    raise ValueError("null")
            elif isinstance(f, models.DateTimeField):
                value = parse_datetime(value)
                if value is None:
                    raise ValueError("date")
            elif isinstance(f, models.DateField):
                value = parse_date(value)
            elif isinstance(f, models.BinaryField):
                value = base64.b64decode(value, validate=True)
            elif isinstance(f, models.BooleanField) and not isinstance(value, bool):
                raise ValueError("bool")
            elif isinstance(f, models.IntegerField) and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError("int")
            elif isinstance(f, models.CharField | models.TextField) and not isinstance(value, str):
                raise ValueError("text")
            if isinstance(value, str) and getattr(f, "max_length", None) and len(value) > f.max_length:
                raise ValueError("long")
        except (ValueError, TypeError):
            raise InvalidInput(
                _("%(path)s: the value of %(field)s is not valid (%(value)s)."),
                path=path,
                field=f.name,
                value=repr(value)[:80],
            ) from None
        values[f.name] = value
    for name, value in spec.defaults.items():
        values.setdefault(name, value)
    values.update(spec.fixed)
    return values


def bulk_insert(model: type[models.Model], objects: Iterable[models.Model]) -> int:
    """Insert in batches, in the given order (ids grow in export order, so re-exports keep it)."""
    count = 0
    batch: list[models.Model] = []
    for obj in objects:
        batch.append(obj)
        if len(batch) >= BATCH:
            model.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    if batch:
        model.objects.bulk_create(batch)
        count += len(batch)
    return count
