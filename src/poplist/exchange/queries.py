"""What the Export page shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from poplist.accounts.models import Tenant
from poplist.exchange import services
from poplist.lists.models import MailingList


def export_page(tenant: Tenant) -> dict[str, Any]:
    lists = MailingList.objects.filter(tenant=tenant)
    available_until = None
    if tenant.status == Tenant.Status.CLOSED:
        available_until = (tenant.status_changed_at or tenant.created_at) + timedelta(days=services.retention_days())
    try:
        services.check_downloadable(tenant)
        downloadable = True
    except services.Gone:
        downloadable = False
    return {
        "list_count": lists.count(),
        "member_count": sum(lists.values_list("member_count", flat=True)),
        "available_until": available_until,
        "downloadable": downloadable,
    }
