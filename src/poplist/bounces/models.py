"""What the bounce processor records: each event, each member's score, each step taken, each report."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from poplist.accounts.models import Tenant
from poplist.lists.models import MailingList, Member


class BounceEvent(models.Model):
    """One failure (or complaint) about one address, or one message we could not use, with why."""

    class Kind(models.TextChoices):
        HARD = "hard"
        SOFT = "soft"
        POLICY = "policy"
        WARNING = "warning"
        COMPLAINT = "complaint"
        AUTO_REPLY = "auto_reply"
        LOOP = "loop"
        UNRECOGNISED = "unrecognised"

    class Source(models.TextChoices):
        VERP = "verp"  # the envelope token named the member; the parse gave the class
        DSN = "dsn"
        ARF = "arf"
        HEURISTIC = "heuristic"
        SMTP = "smtp"  # refused by the relay while delivery was sending
        NONE = ""

    class Outcome(models.TextChoices):
        SCORED = "scored"  # the member's score went up
        NOT_SCORED = "not_scored"  # counted already today, or a class that never scores
        UNSUBSCRIBED = "unsubscribed"  # a complaint
        NOT_A_MEMBER = "not_a_member"
        DISCARDED = "discarded"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="bounce_events")
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.CharField(max_length=254, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.CharField(max_length=16, choices=Source.choices, blank=True)
    status = models.CharField(max_length=16, blank=True)  # enhanced status code, 5.1.1
    diagnostic = models.CharField(max_length=500, blank=True)  # the server's words
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=200, blank=True)
    sending_domain = models.CharField(max_length=253, blank=True)  # the list's domain: what providers judge
    inbound_message_id = models.BigIntegerField(null=True, blank=True)  # the stored message (inbound)
    job_id = models.BigIntegerField(null=True, blank=True)  # the delivery job that met an SMTP refusal
    # Kept for messages nobody could be attributed from, so `bounces reprocess` can retry them.
    raw = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["mailing_list", "created_at"], name="bounce_event_list"),
            models.Index(fields=["tenant", "created_at"], name="bounce_event_tenant"),
            models.Index(fields=["mailing_list", "email"], name="bounce_event_email"),
        ]


class BounceScore(models.Model):
    """A member's standing: the score, when it last rose, and where they are in disable-warn-remove."""

    class State(models.TextChoices):
        OK = "ok"
        DISABLED = "disabled"  # delivery disabled by bounces; warnings go out

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="bounce_score")
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="bounce_scores")
    score = models.FloatField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OK)
    last_bounce_at = models.DateTimeField(null=True, blank=True)
    last_increment_on = models.DateField(null=True, blank=True)
    warnings_sent = models.PositiveIntegerField(default=0)
    next_warning_at = models.DateTimeField(null=True, blank=True)
    last_event = models.ForeignKey(BounceEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["state", "next_warning_at"], name="bounce_score_due")]


class BounceStep(models.Model):
    """A step taken about a member because of bounces, with the event that caused it (visible to owners)."""

    class Action(models.TextChoices):
        SCORED = "scored"
        DECAYED = "decayed"
        DISABLED = "disabled"
        WARNED = "warned"
        REMOVED = "removed"
        REENABLED = "reenabled"
        COMPLAINT_UNSUBSCRIBED = "complaint_unsubscribed"

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="bounce_steps")
    email = models.CharField(max_length=254)
    action = models.CharField(max_length=32, choices=Action.choices)
    score = models.FloatField(default=0)
    event = models.ForeignKey(BounceEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["mailing_list", "email"], name="bounce_step_email")]


class BounceReport(models.Model):
    """A periodic report sent to a list's owners (the last one tells when the next is due)."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="bounce_reports")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    summary = models.JSONField(default=dict)
    sent_at = models.DateTimeField(default=timezone.now)
