"""What inbound keeps: every message it acknowledged, the moderation queue, sender and header filters."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from poplist.lists.models import MailingList


class InboundMessage(models.Model):
    """One message for one list address, stored with its envelope and decision before the server says 250."""

    class Route(models.TextChoices):
        POST = "post"
        REQUEST = "request"
        OWNER = "owner"
        JOIN = "join"
        LEAVE = "leave"
        CONFIRM = "confirm"
        BOUNCES = "bounces"

    class Decision(models.TextChoices):
        ACCEPTED = "accepted"
        HELD = "held"
        REJECTED = "rejected"
        DISCARDED = "discarded"
        DUPLICATE = "duplicate"
        PROCESSED = "processed"  # a command, confirmation, bounce or mail to the owners, handled

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="inbound_messages")
    route = models.CharField(max_length=16, choices=Route.choices)
    mail_from = models.CharField(max_length=998, blank=True)
    recipient = models.CharField(max_length=998)
    raw = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=998, blank=True)
    # sha1 of the Message-ID for posts, null otherwise: a second delivery of one post to one list collides here.
    dedup_key = models.CharField(max_length=40, null=True, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    sender = models.CharField(max_length=254, blank=True)  # the From address as written, for listings
    received_at = models.DateTimeField(default=timezone.now)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    rule = models.CharField(max_length=32, blank=True)  # the rule that decided, if any
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["mailing_list", "received_at"], name="inbound_by_list")]
        constraints = [
            models.UniqueConstraint(fields=["mailing_list", "dedup_key"], name="inbound_unique_post"),
        ]


class HeldMessage(models.Model):
    """A post waiting for a moderator: approve, reject with a reason, discard, or accept and whitelist."""

    class State(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        DISCARDED = "discarded"
        EXPIRED = "expired"

    inbound = models.OneToOneField(InboundMessage, on_delete=models.CASCADE, related_name="held")
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="held_messages")
    rule = models.CharField(max_length=32)
    reason = models.CharField(max_length=500)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # sha256 of the single-use token a moderator's reply carries (list-confirm+TOKEN@).
    token_digest = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=254, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["mailing_list", "state", "created_at"], name="held_queue")]


class SenderFilter(models.Model):
    """An address (or a ^regex) a list bans, or accepts from non-members and on announce lists."""

    class Kind(models.TextChoices):
        BAN = "ban"
        ACCEPT = "accept"

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="sender_filters")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    pattern = models.CharField(max_length=254)  # an address, or a regular expression when it starts with ^
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=254, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailing_list", "kind", "pattern"], name="sender_filter_unique"),
        ]


class HeaderFilter(models.Model):
    """A header matching a regular expression decides the post (hold, reject, discard or accept)."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="header_filters")
    header = models.CharField(max_length=100)
    pattern = models.CharField(max_length=500)
    action = models.CharField(max_length=16, choices=MailingList.Action.choices, default=MailingList.Action.HOLD)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(header=""), name="header_filter_has_header"),
        ]


class PendingArchive(models.Model):
    """An accepted post whose archiving failed in the acceptance transaction, for the worker to retry.

    Posts are archived before the reply, with their acceptance (`inbound.accept`); an error there
    (a bug on an odd message, say) must not refuse the post, so this row is committed instead and
    `poplist worker` retries (`inbound.archiving`). The prepared bytes are the delivery job's.
    """

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey("delivery.DeliveryJob", on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=998)
    received_at = models.DateTimeField()
    subject = models.TextField(null=True, blank=True)  # the author's subject (null: the prepared one)
    attempts = models.PositiveSmallIntegerField(default=0)  # failed archiving attempts; given up after 5
