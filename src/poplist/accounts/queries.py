"""Reads about tenants."""

from __future__ import annotations

from django.db.models import Count, Sum

from poplist.accounts.models import Tenant


def tenant_summary(tenant: Tenant) -> dict:
    usage = tenant.lists.aggregate(lists=Count("id"), members=Sum("member_count"))
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "domains": [d.name for d in tenant.domains.all()],
        "lists": usage["lists"] or 0,
        "members": usage["members"] or 0,
        "quota_lists": tenant.quota_lists,
        "quota_members": tenant.quota_members,
        "quota_sites": tenant.quota_sites,
        "quota_storage_bytes": tenant.quota_storage_bytes,
        "created_at": tenant.created_at,
    }


def tenant_summaries() -> list[dict]:
    return [tenant_summary(t) for t in Tenant.objects.prefetch_related("domains")]
