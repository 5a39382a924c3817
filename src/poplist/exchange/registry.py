"""The sections of an export, found by discovery: every domain package's `exchange.py` lists its `sections`.

A section writes and reads its own files in a tenant's folder (`tenants/<slug>/`). Sections run
in `order` (a tenant before its lists, lists before members): a domain adding one picks an
order after the sections it refers to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from poplist.exchange.format import Reader, Writer


@dataclass
class ImportContext:
    """What one tenant's import knows so far: the new tenant, and resolvers from natural keys to ids."""

    tenant: Any
    old_slug: str
    resolvers: dict[str, Callable[[Any], int | None]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    on_record: Callable[[], None] | None = None

    def resolve(self, key: str, value: Any, path: str) -> int | None:
        from django.utils.translation import gettext_lazy as _

        from poplist.core.errors import InvalidInput

        if value is None:
            return None
        found = self.resolvers[key](value)
        if found is None:
            raise InvalidInput(
                _("%(path)s refers to %(key)s %(value)s, which the export does not contain."),
                path=path,
                key=key,
                value=str(value)[:200],
            )
        return found


class Section(Protocol):
    name: str
    order: int

    def count(self, tenant: Any) -> int:
        """About how many records export() will write (for the progress bar)."""

    def export(self, writer: Writer, tenant: Any, folder: str) -> None: ...

    def import_(self, reader: Reader, folder: str, ctx: ImportContext) -> None: ...


def sections() -> list[Section]:
    from poplist.core.discovery import domain_modules

    found: list[Section] = []
    for module in domain_modules("exchange"):
        found.extend(getattr(module, "sections", []))
    return sorted(found, key=lambda s: (s.order, s.name))
