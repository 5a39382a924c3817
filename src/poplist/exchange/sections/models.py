"""A section made of model specs: rows out as JSON Lines, records in with bulk inserts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from poplist.exchange.format import Reader, Writer
from poplist.exchange.records import ModelSpec, bulk_insert, export_rows, to_values
from poplist.exchange.registry import ImportContext


@dataclass
class ModelSection:
    name: str
    order: int
    specs: list[ModelSpec]
    # After a spec's rows are in: add resolvers (natural key -> id) the next specs and sections need.
    after_import: dict[str, Callable[[ImportContext], None]] = field(default_factory=dict)

    @property
    def feed_specs(self) -> list[ModelSpec]:
        """The models a tenant's live feed carries for this section (exchange.tenantfeed)."""
        return self.specs

    def count(self, tenant: Any) -> int:
        return sum(spec.scope(tenant).count() for spec in self.specs)

    def export(self, writer: Writer, tenant: Any, folder: str) -> None:
        for spec in self.specs:
            path = f"{folder}/{spec.path}"
            writer.touch(path)
            for record in export_rows(spec, tenant, writer.include_secrets):
                writer.record(path, record)

    def import_(self, reader: Reader, folder: str, ctx: ImportContext) -> None:
        for spec in self.specs:
            path = f"{folder}/{spec.path}"
            ctx.counts[spec.path] = bulk_insert(spec.model, self._objects(reader, spec, path, ctx))
            if spec.path in self.after_import:
                self.after_import[spec.path](ctx)

    def _objects(self, reader: Reader, spec: ModelSpec, path: str, ctx: ImportContext):
        tenant_field = _tenant_field(spec.model)
        for record in reader.records(path):
            values = to_values(spec, record, path)
            for key, (_lookup, target) in spec.refs.items():
                values[target] = ctx.resolve(key, record.get(key), path)
            if tenant_field:
                values[tenant_field] = ctx.tenant.pk
            if ctx.on_record:
                ctx.on_record()
            yield spec.model(**values)


def _tenant_field(model) -> str | None:
    names = {f.name for f in model._meta.concrete_fields}
    return "tenant_id" if "tenant" in names else None
