"""Mailing lists, their members (with consent records), suppressions and pending requests."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.accounts.models import Domain, Tenant


class MailingList(models.Model):
    class Style(models.TextChoices):
        DISCUSSION = "discussion"
        ANNOUNCE = "announce"  # only owners and allowed posters post

    class SubscriptionPolicy(models.TextChoices):
        OPEN = "open"
        CONFIRM = "confirm"
        MODERATE = "moderate"
        CONFIRM_THEN_MODERATE = "confirm_then_moderate"

    class ArchivePolicy(models.TextChoices):
        PUBLIC = "public"
        PRIVATE = "private"
        NONE = "none"

    class Action(models.TextChoices):
        ACCEPT = "accept"
        HOLD = "hold"
        REJECT = "reject"
        DISCARD = "discard"

    class Dmarc(models.TextChoices):
        NEVER = "never"
        WHEN_STRICT = "when_strict"
        ALWAYS = "always"

    class DmarcAction(models.TextChoices):
        MUNGE_FROM = "munge_from"
        WRAP = "wrap"

    class RosterVisibility(models.TextChoices):
        OWNERS = "owners"
        MEMBERS = "members"
        PUBLIC = "public"

    LANGUAGES = [("en", "English"), ("fr", "Français")]

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="lists")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="lists")
    local_part = models.CharField(max_length=64)
    address = models.CharField(max_length=254, unique=True)  # local_part@domain, the routing key
    display_name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=8, choices=LANGUAGES, default="en")
    style = models.CharField(max_length=16, choices=Style.choices, default=Style.DISCUSSION)
    subscription_policy = models.CharField(
        max_length=32, choices=SubscriptionPolicy.choices, default=SubscriptionPolicy.CONFIRM
    )
    archive_policy = models.CharField(max_length=16, choices=ArchivePolicy.choices, default=ArchivePolicy.PUBLIC)
    roster_visibility = models.CharField(
        max_length=16, choices=RosterVisibility.choices, default=RosterVisibility.OWNERS
    )
    # Notices
    send_welcome = models.BooleanField(default=True)
    send_goodbye = models.BooleanField(default=True)
    welcome_text = models.TextField(blank=True)
    goodbye_text = models.TextField(blank=True)
    notify_owners_on_membership = models.BooleanField(default=False)
    # Posting and moderation (the inbound pipeline)
    emergency_moderation = models.BooleanField(default=False)
    new_members_moderated = models.BooleanField(default=False)
    member_moderation_action = models.CharField(max_length=16, choices=Action.choices, default=Action.HOLD)
    nonmember_action = models.CharField(max_length=16, choices=Action.choices, default=Action.HOLD)
    max_message_kb = models.PositiveIntegerField(default=5120)
    max_recipients = models.PositiveIntegerField(default=10)
    require_explicit_destination = models.BooleanField(default=True)
    administrivia = models.BooleanField(default=True)
    held_expiry_days = models.PositiveIntegerField(default=14)
    # What a post becomes
    subject_prefix = models.CharField(max_length=100, blank=True)
    footer = models.TextField(blank=True)
    reply_to_list = models.BooleanField(default=False)
    dmarc_mitigation = models.CharField(max_length=16, choices=Dmarc.choices, default=Dmarc.WHEN_STRICT)
    dmarc_action = models.CharField(max_length=16, choices=DmarcAction.choices, default=DmarcAction.MUNGE_FROM)
    # Delivery
    personalize = models.BooleanField(default=True)
    digest_size_kb = models.PositiveIntegerField(default=30)
    digest_daily = models.BooleanField(default=True)
    # Bounces
    bounce_score_threshold = models.FloatField(default=5.0)
    bounce_decay_days = models.PositiveIntegerField(default=7)
    bounce_warnings = models.PositiveIntegerField(default=3)
    bounce_warning_interval_days = models.PositiveIntegerField(default=7)

    member_count = models.PositiveBigIntegerField(default=0)  # role=member rows; kept by the services
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["address"]
        constraints = [models.UniqueConstraint(fields=["domain", "local_part"], name="list_unique_local_part")]

    def __str__(self) -> str:
        return self.address

    def role_address(self, suffix: str) -> str:
        """`list-request@domain` and friends."""
        return f"{self.local_part}-{suffix}@{self.domain.name}"


# Settings an operator may change with `poplist list set` and owners in the web console.
# docs/list-settings.md documents each one; a test keeps the two in step.
SETTABLE_FIELDS = [
    "display_name",
    "description",
    "language",
    "style",
    "subscription_policy",
    "archive_policy",
    "roster_visibility",
    "send_welcome",
    "send_goodbye",
    "welcome_text",
    "goodbye_text",
    "notify_owners_on_membership",
    "emergency_moderation",
    "new_members_moderated",
    "member_moderation_action",
    "nonmember_action",
    "max_message_kb",
    "max_recipients",
    "require_explicit_destination",
    "administrivia",
    "held_expiry_days",
    "subject_prefix",
    "footer",
    "reply_to_list",
    "dmarc_mitigation",
    "dmarc_action",
    "personalize",
    "digest_size_kb",
    "digest_daily",
    "bounce_score_threshold",
    "bounce_decay_days",
    "bounce_warnings",
    "bounce_warning_interval_days",
]


class Member(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MODERATOR = "moderator", _("Moderator")
        MEMBER = "member", _("Member")

    class DeliveryMode(models.TextChoices):
        REGULAR = "regular", _("Every post")
        MIME_DIGEST = "mime_digest", _("Digest (MIME)")
        PLAIN_DIGEST = "plain_digest", _("Digest (plain text)")
        NOMAIL = "nomail", _("No mail (paused)")

    class Status(models.TextChoices):
        ENABLED = "enabled", _("Enabled")
        DISABLED = "disabled", _("Disabled")

    class DisabledReason(models.TextChoices):
        NONE = ""
        BY_USER = "by_user"
        BY_OWNER = "by_owner"
        BY_BOUNCES = "by_bounces"

    class Via(models.TextChoices):
        WEB = "web"
        EMAIL = "email"
        IMPORT = "import"
        OWNER = "owner"
        API = "api"
        MIGRATION = "migration"

    # No database constraint: PostgreSQL checks a foreign key row by row, deferred to COMMIT, which
    # was 3.4 s of a 14.1 s million-row import (bench/import_members.py). Members are written only by
    # lists' services, which hold the list; a bulk import takes one KEY SHARE lock on the list row
    # instead, and deleting a list deletes its members (Django's cascade).
    mailing_list = models.ForeignKey(
        MailingList, on_delete=models.CASCADE, related_name="members", db_index=False, db_constraint=False
    )
    email = models.CharField(max_length=254)
    display_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    delivery_mode = models.CharField(max_length=16, choices=DeliveryMode.choices, default=DeliveryMode.REGULAR)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ENABLED)
    disabled_reason = models.CharField(max_length=16, choices=DisabledReason.choices, default="", blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    moderated = models.BooleanField(default=False)
    attributes = models.JSONField(default=dict, blank=True)
    # The consent record: how, when and from where they joined, and when they confirmed.
    joined_via = models.CharField(max_length=16, choices=Via.choices, default=Via.OWNER)
    joined_at = models.DateTimeField(default=timezone.now)
    joined_ip = models.GenericIPAddressField(null=True, blank=True)
    joined_ref = models.CharField(max_length=255, blank=True)  # Message-ID, import file, actor
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailing_list", "email", "role"], name="member_unique_address_role"),
        ]
        indexes = [
            # Delivery walks the enabled regular members of one list in id order (keyset paging). Partial and
            # two columns wide: smaller than a five-column index, which also makes bulk imports ~15% faster.
            models.Index(
                fields=["mailing_list", "id"],
                name="member_delivery",
                condition=Q(role="member", status="enabled", delivery_mode="regular"),
            ),
            # The console's member search by the start of a name (web work): an index range, not a scan.
            models.Index(fields=["mailing_list", "display_name"], name="member_name_search"),
            # Bounces match a reported address to a member whose local part differs only in case. An
            # address stored in lower case is found by its lower-case form through the unique index;
            # only the others are kept here, so importing lower-case addresses writes no entry in it
            # (one index less per row: ~1.2 of ~12 s of server CPU a million rows, bench/import_members.py).
            models.Index(
                "mailing_list", Lower("email"), name="member_email_mixed_case", condition=~Q(email=Lower("email"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.role} of {self.mailing_list_id})"


class Suppression(models.Model):
    """An address that left or was cleaned: imports never add it back; only its own confirmation does."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed"
        REMOVED = "removed"  # by an owner
        BOUNCED = "bounced"
        COMPLAINT = "complaint"
        CLEANED = "cleaned"
        MANUAL = "manual"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="suppressions")
    mailing_list = models.ForeignKey(
        MailingList, null=True, blank=True, on_delete=models.CASCADE, related_name="suppressions"
    )  # null: every list of the tenant
    email = models.CharField(max_length=254)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "email"], name="suppression_lookup")]
        constraints = [
            models.UniqueConstraint(
                fields=["mailing_list", "email"],
                condition=Q(mailing_list__isnull=False),
                name="suppression_per_list",
            ),
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=Q(mailing_list__isnull=True),
                name="suppression_per_tenant",
            ),
        ]


class PendingRequest(models.Model):
    """Something waiting for a person: a confirmation by its address, or an owner's approval."""

    class Kind(models.TextChoices):
        SUBSCRIBE = "subscribe"  # the address confirms it wants to join
        UNSUBSCRIBE = "unsubscribe"  # the member confirms it wants to leave
        INVITE = "invite"  # an owner invited the address; it accepts
        APPROVAL = "approval"  # an owner approves a subscription

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        REFUSED = "refused"
        EXPIRED = "expired"

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="pending_requests")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    email = models.CharField(max_length=254)
    display_name = models.CharField(max_length=200, blank=True)
    token_digest = models.CharField(max_length=64, unique=True, null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)  # via, ip, ref, requested_at, attributes, confirmed_at
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=254, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["mailing_list", "kind", "state"], name="pending_by_list")]


class MemberEvent(models.Model):
    """The history of a membership: each step, who did it, through what, from where."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="member_events")
    email = models.CharField(max_length=254)
    action = models.CharField(max_length=32)
    via = models.CharField(max_length=16, blank=True)
    actor = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    ref = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # True: a one-click departure whose goodbye and owners' notice the worker has yet to write
    # (lists.oneclick); null otherwise (a nullable column is added without rewriting the table).
    notices_pending = models.BooleanField(null=True, default=None)

    class Meta:
        indexes = [
            models.Index(fields=["mailing_list", "email"], name="member_event_lookup"),
            models.Index(fields=["id"], condition=Q(notices_pending=True), name="member_event_notices_due"),
            # The dashboard's subscribers-over-time chart reads recent events per list (web work).
            models.Index(fields=["mailing_list", "created_at"], name="member_event_recent"),
        ]


class ImportRun(models.Model):
    """One `members import`: what came in and what became of each kind of row."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="imports")
    source = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    mode = models.CharField(max_length=16)
    actor = models.CharField(max_length=254, blank=True)
    rows = models.PositiveBigIntegerField(default=0)
    added = models.PositiveBigIntegerField(default=0)
    invited = models.PositiveBigIntegerField(default=0)
    skipped_existing = models.PositiveBigIntegerField(default=0)
    skipped_suppressed = models.PositiveBigIntegerField(default=0)
    rejected = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)


class ImportJob(models.Model):
    """A members import handed over by the API (or a page): stored first, run in the background, polled.

    The file is kept in the database until the job ends (one source of truth: a web process that
    dies after answering 202 loses nothing; a worker picks the job up), then dropped; the
    ImportRun it produced keeps the file's sha256.
    """

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="import_jobs")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    source = models.CharField(max_length=500)
    mode = models.CharField(max_length=16, default="direct")
    encoding = models.CharField(max_length=32, default="utf-8")
    actor = models.CharField(max_length=254, blank=True)
    data = models.BinaryField(default=b"")
    size = models.PositiveBigIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rejections = models.JSONField(default=list, blank=True)  # the first KEPT_REJECTIONS: line, text, reason
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "id"], name="import_job_queue")]

    WEB_PREFIX = "web:"  # the source of a console upload: "web:" and the file's name

    @property
    def filename(self) -> str:
        return self.source.removeprefix(self.WEB_PREFIX)

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(100 * self.bytes_done / self.size) if self.size else 0

    @property
    def saving(self) -> bool:
        """The file is read; the members are being written (one transaction, no finer progress)."""
        return self.state == self.State.RUNNING and bool(self.size) and self.bytes_done >= self.size
