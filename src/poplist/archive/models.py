"""Archived posts and their threads."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from poplist.lists.models import MailingList


class Thread(models.Model):
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="threads")
    permalink_id = models.CharField(max_length=32)  # the first message's permalink id; never changes
    subject = models.CharField(max_length=500)
    normalized_subject = models.CharField(max_length=500, db_index=True)
    started_at = models.DateTimeField()
    last_activity = models.DateTimeField()
    message_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["mailing_list", "last_activity"], name="thread_activity")]
        constraints = [
            models.UniqueConstraint(fields=["mailing_list", "permalink_id"], name="thread_unique_permalink"),
        ]


class ArchivedMessage(models.Model):
    """One post as the list distributed it (before per-member personalisation)."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="archived_messages")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    message_id = models.CharField(max_length=998)
    # sha1 of the Message-ID in base32: stable across re-imports and instances, so permalinks never change.
    permalink_id = models.CharField(max_length=32)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    subject = models.CharField(max_length=500, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    author_email = models.CharField(max_length=254, blank=True)
    date = models.DateTimeField()  # from the Date header when sane, else the arrival time
    archived_at = models.DateTimeField(default=timezone.now)
    body_text = models.TextField(blank=True)  # plain text for display and search
    has_attachments = models.BooleanField(default=False)
    size = models.PositiveIntegerField(default=0)
    raw = models.BinaryField()

    class Meta:
        indexes = [
            models.Index(fields=["mailing_list", "date"], name="archive_by_date"),
            models.Index(fields=["thread", "date"], name="archive_by_thread"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["mailing_list", "permalink_id"], name="archive_unique_permalink"),
        ]
