"""Retrying the archiving of accepted posts whose archiving failed in the acceptance transaction.

Posts are archived before 250 (`inbound.accept`); one whose archiving raised was accepted all the
same with a `PendingArchive` row, which leaves the table only in the transaction that writes its
archive entry. Nothing accepted is lost.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F

from poplist.archive.services import archive_message
from poplist.delivery.models import DeliveryJob
from poplist.inbound.models import PendingArchive
from poplist.inbound.post import fast_parse

log = logging.getLogger(__name__)
BATCH = 200
MAX_ATTEMPTS = 5


def archive_pending(limit: int = BATCH) -> int:
    """Archive the oldest waiting posts, in arrival order (a reply after its parent). Returns how many."""
    rows = list(
        PendingArchive.objects.filter(attempts__lt=MAX_ATTEMPTS)
        .select_related("mailing_list__domain", "mailing_list__tenant", "job")
        .order_by("id")[:limit]
    )
    done = 0
    for row in rows:
        try:
            with transaction.atomic():
                if not PendingArchive.objects.filter(pk=row.pk).delete()[0]:
                    continue  # another worker took it
                prepared = bytes(row.job.message)  # the bytes every member gets
                archived = archive_message(
                    row.mailing_list,
                    prepared,
                    message_id=row.message_id,
                    received_at=row.received_at,
                    message=fast_parse(prepared),
                    subject=row.subject,
                )
                DeliveryJob.objects.filter(pk=row.job_id).update(archived=archived)
            done += 1
        except Exception:
            log.exception("could not archive post %s of list %s; will retry", row.message_id, row.mailing_list_id)
            PendingArchive.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
    return done
