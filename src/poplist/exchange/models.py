"""This instance's identity (named in every export) and its role for the standby."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


def _new_uuid() -> str:
    return str(uuid.uuid4())


class Instance(models.Model):
    """One row: who this instance is. Exports name it; a standby follows another one."""

    class Role(models.TextChoices):
        PRIMARY = "primary"
        STANDBY = "standby"  # read-only, follows `primary_url`

    uuid = models.CharField(max_length=36, default=_new_uuid)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PRIMARY)
    created_at = models.DateTimeField(default=timezone.now)


def this_instance() -> Instance:
    found = Instance.objects.order_by("id").first()
    return found or Instance.objects.create()
