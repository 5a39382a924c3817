"""What the web pages keep of their own: rate-limit counters (console uploads are `lists.ImportJob`s)."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """Requests per key (an IP, an address) in one time window; old windows are deleted as new ones start."""

    key = models.CharField(max_length=200)
    window = models.BigIntegerField()  # unix time // window length
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="rate_counter_unique")]
