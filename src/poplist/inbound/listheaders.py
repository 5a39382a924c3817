"""The RFC 2369 / 2919 / 5064 headers of a list's posts."""

from __future__ import annotations

from django.conf import settings

from poplist.archive.services import permalink_id
from poplist.lists.models import MailingList


def list_id(mailing_list: MailingList) -> str:
    """RFC 2919: the list address with its @ turned into a dot."""
    return f"{mailing_list.local_part}.{mailing_list.domain.name}"


def archive_url(mailing_list: MailingList) -> str:
    return f"{settings.BASE_URL}/lists/{mailing_list.address}/archive/"


def archived_at(mailing_list: MailingList, message_id: str) -> str:
    return f"{archive_url(mailing_list)}{permalink_id(message_id)}/"


def post_headers(mailing_list: MailingList, message_id: str) -> list[tuple[str, str]]:
    """The list headers every copy carries; List-Unsubscribe is added per member by delivery."""
    domain = mailing_list.domain.name
    name = mailing_list.display_name.replace('"', "").replace("\\", "")
    headers = [
        ("List-Id", f'"{name}" <{list_id(mailing_list)}>' if name.isascii() else f"<{list_id(mailing_list)}>"),
        ("List-Post", f"<mailto:{mailing_list.address}>"),
        ("List-Help", f"<mailto:{mailing_list.local_part}-request@{domain}?subject=help>"),
        (
            "List-Subscribe",
            f"<{settings.BASE_URL}/lists/{mailing_list.address}/>, <mailto:{mailing_list.local_part}-join@{domain}>",
        ),
    ]
    if mailing_list.archive_policy != MailingList.ArchivePolicy.NONE:
        headers.append(("List-Archive", f"<{archive_url(mailing_list)}>"))
        headers.append(("Archived-At", f"<{archived_at(mailing_list, message_id)}>"))
    headers.append(("Precedence", "list"))
    headers.append(("X-BeenThere", mailing_list.address))
    return headers


# Headers of the incoming message that the list replaces with its own.
REPLACED = {
    "list-id",
    "list-post",
    "list-help",
    "list-subscribe",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-archive",
    "list-owner",
    "archived-at",
    "precedence",
}
