"""Reads about lists and members; member walks are keyset-paged so memory stays flat."""

from __future__ import annotations

from collections.abc import Iterator

from poplist.lists.models import SETTABLE_FIELDS, MailingList, Member

EXPORT_FIELDS = [
    "email",
    "display_name",
    "role",
    "delivery_mode",
    "status",
    "disabled_reason",
    "moderated",
    "joined_via",
    "joined_at",
    "joined_ip",
    "joined_ref",
    "confirmed_at",
    "attributes",
]


def list_summary(mailing_list: MailingList) -> dict:
    data = {
        "address": mailing_list.address,
        "tenant": mailing_list.tenant.slug,
        "members": mailing_list.member_count,
        "owners": list(
            Member.objects.filter(mailing_list=mailing_list, role=Member.Role.OWNER).values_list("email", flat=True)
        ),
        "moderators": list(
            Member.objects.filter(mailing_list=mailing_list, role=Member.Role.MODERATOR).values_list("email", flat=True)
        ),
        "created_at": mailing_list.created_at,
    }
    data.update({key: getattr(mailing_list, key) for key in SETTABLE_FIELDS})
    return data


def iter_members(
    mailing_list: MailingList,
    *,
    role: str | None = Member.Role.MEMBER,
    batch: int = 5000,
    fields: list[str] | None = None,
) -> Iterator[dict]:
    """Every member as a dict of `fields`, in id order, `batch` rows per query."""
    fields = fields or EXPORT_FIELDS
    query = Member.objects.filter(mailing_list=mailing_list)
    if role:
        query = query.filter(role=role)
    last = 0
    while True:
        rows = list(query.filter(pk__gt=last).order_by("pk").values("pk", *fields)[:batch])
        if not rows:
            return
        last = rows[-1]["pk"]
        for row in rows:
            row.pop("pk")
            yield row


def lists_of(tenant=None) -> list[MailingList]:
    query = MailingList.objects.select_related("tenant", "domain")
    if tenant is not None:
        query = query.filter(tenant=tenant)
    return list(query)
