"""A big tenant's members are read along the primary key (no quadratic sort): the records are the same."""

from __future__ import annotations

from poplist.exchange import records
from poplist.exchange.sections.core import lists


def test_walking_the_primary_key_gives_the_same_records(rich_instance, monkeypatch):
    from poplist.accounts.models import Tenant
    from poplist.lists.models import Member

    tenant = Tenant.objects.get(slug="acme")
    specs = [s for s in lists.specs if s.parent]
    assert {s.path for s in specs} == {"members.jsonl", "member_events.jsonl"}
    joined = {s.path: list(records.export_rows(s, tenant, False)) for s in specs}
    assert len(joined["members.jsonl"]) == Member.objects.filter(mailing_list__tenant=tenant).count() > 3
    monkeypatch.setattr(records, "BATCH", 2)  # several pages
    monkeypatch.setattr(records, "WALK_ABOVE", 0)
    assert records._walk(specs[0], tenant)[1] is True
    walked = {s.path: list(records.export_rows(s, tenant, False)) for s in specs}
    assert walked == joined
    assert all(r["list"] for r in walked["members.jsonl"])  # references resolved, never an id
