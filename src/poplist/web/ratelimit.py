"""Rate limits kept in the database, so every web process (and machine) counts together."""

from __future__ import annotations

import time

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import PoplistError
from poplist.web.models import RateCounter


class TooManyRequests(PoplistError):
    http_status = 429
    code = "rate_limited"


def hit(key: str, *, limit: int, window: int = 3600) -> None:
    """Count one request for `key`; refuse when more than `limit` arrived in the current window."""
    slot = int(time.time()) // window
    key = key[:200]
    with transaction.atomic():
        updated = RateCounter.objects.filter(key=key, window=slot).update(count=F("count") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    RateCounter.objects.create(key=key, window=slot, count=1)
            except IntegrityError:  # another process created it first
                RateCounter.objects.filter(key=key, window=slot).update(count=F("count") + 1)
            RateCounter.objects.filter(key=key, window__lt=slot - 1).delete()
        count = RateCounter.objects.filter(key=key, window=slot).values_list("count", flat=True).first() or 0
    if count > limit:
        raise TooManyRequests(_("Too many requests from your address; please try again in an hour."))
