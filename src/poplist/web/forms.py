"""Forms of the console: list settings grouped by topic with help, the new-list wizard, members."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from poplist.lists.models import SETTABLE_FIELDS, MailingList, Member

# (topic, [(field, help)]): every settable field appears once (a test checks it).
SETTING_GROUPS = [
    (
        _("Identity"),
        [
            ("display_name", _("The name shown in pages, notices and in “Name via List” senders.")),
            ("description", _("Shown on the list's public page.")),
            ("language", _("The language of the list's pages and notices.")),
            ("style", _("Discussion: members post. Announce: only owners, moderators and accepted senders post.")),
        ],
    ),
    (
        _("Subscription"),
        [
            (
                "subscription_policy",
                _(
                    "Open: join at once. Confirm: double opt-in by mail. Moderate: an owner approves. "
                    "Both: confirm, then approve."
                ),
            ),
            ("roster_visibility", _("Who may see the member list.")),
            ("send_welcome", _("Send the welcome notice to new members.")),
            ("welcome_text", _("Extra text inside the welcome notice.")),
            ("send_goodbye", _("Send the goodbye notice to members who leave.")),
            ("goodbye_text", _("Extra text inside the goodbye notice.")),
            ("notify_owners_on_membership", _("Tell the owners of every subscription and unsubscription.")),
        ],
    ),
    (
        _("Archives"),
        [
            (
                "archive_policy",
                _("Public: anyone reads. Private: members only, after a link by mail. None: not archived."),
            )
        ],
    ),
    (
        _("Posting and moderation"),
        [
            ("emergency_moderation", _("Hold every post, whoever sends it.")),
            ("new_members_moderated", _("New members start with their moderation flag set.")),
            ("member_moderation_action", _("What happens to posts of moderated members.")),
            ("nonmember_action", _("What happens to posts from non-members.")),
            ("max_message_kb", _("Larger posts are refused.")),
            ("max_recipients", _("Posts with more explicit recipients are held (likely spam).")),
            ("require_explicit_destination", _("Hold posts that do not name the list in To or Cc.")),
            ("administrivia", _("Hold posts that look like commands sent to the list by mistake.")),
            ("held_expiry_days", _("Held posts nobody decided on are discarded after this many days.")),
        ],
    ),
    (
        _("What a post becomes"),
        [
            ("subject_prefix", _("Added to subjects, never stacked.")),
            ("footer", _("Text appended to each post.")),
            ("reply_to_list", _("Set Reply-To to the list address.")),
            ("dmarc_mitigation", _("When to protect posts from DMARC rejection.")),
            (
                "dmarc_action",
                _("Munge From: “Name via List”, the author in Reply-To. Wrap: the post travels attached."),
            ),
        ],
    ),
    (
        _("Delivery"),
        [
            ("personalize", _("Each member gets their own copy with a personal unsubscribe link.")),
            ("digest_size_kb", _("A digest is sent when it reaches this size.")),
            ("digest_daily", _("Also send the digest once a day, whatever its size.")),
        ],
    ),
    (
        _("Bounces"),
        [
            ("bounce_score_threshold", _("A member whose bounce score reaches this is disabled.")),
            ("bounce_decay_days", _("Bounce scores fade after this many days without bounces.")),
            ("bounce_warnings", _("Warnings sent to a disabled member before removal.")),
            ("bounce_warning_interval_days", _("Days between two warnings.")),
        ],
    ),
]


class SettingsForm(forms.ModelForm):
    class Meta:
        model = MailingList
        fields = SETTABLE_FIELDS

    def groups(self):
        for title, fields in SETTING_GROUPS:
            yield title, [(self[name], help_text) for name, help_text in fields]

    def as_text_values(self) -> dict[str, str]:
        """Changed values as the text `lists.services.update_settings` parses."""
        values = {}
        for name in self.changed_data:
            value = self.cleaned_data[name]
            values[name] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        return values


class NewListForm(forms.Form):
    local_part = forms.CharField(label=_("Address"), max_length=64)
    domain = forms.ChoiceField(label=_("Domain"))
    display_name = forms.CharField(label=_("Name"), max_length=200, required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)
    style = forms.ChoiceField(
        label=_("Style"),
        choices=[
            ("discussion", _("Discussion: members write to each other")),
            ("announce", _("Announcements: only owners post")),
        ],
        widget=forms.RadioSelect,
        initial="discussion",
    )
    language = forms.ChoiceField(label=_("Language"), choices=MailingList.LANGUAGES, initial="en")
    subscription_policy = forms.ChoiceField(
        label=_("Who may join"),
        choices=[
            ("confirm", _("Anyone, after confirming their address (recommended)")),
            ("moderate", _("Anyone, after an owner approves")),
            ("confirm_then_moderate", _("Anyone, after confirming and an owner approving")),
            ("open", _("Anyone, at once")),
        ],
        initial="confirm",
    )
    archive_policy = forms.ChoiceField(label=_("Archive"), choices=MailingList.ArchivePolicy.choices, initial="public")

    STEPS = [
        (_("Address"), ["local_part", "domain", "display_name", "description"]),
        (_("Style"), ["style", "language"]),
        (_("Policies"), ["subscription_policy", "archive_policy"]),
    ]

    def __init__(self, *args, domains: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domain"].choices = [(d, d) for d in domains]


class AddMembersForm(forms.Form):
    emails = forms.CharField(
        label=_("Addresses to add"),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "ann@example.org\nBob <bob@example.org>"}),
        help_text=_("One per line. They get the welcome notice."),
    )
    force = forms.BooleanField(label=_("Also add addresses that left before (I have their consent)"), required=False)


class MemberOptionsForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=200, required=False)
    delivery_mode = forms.ChoiceField(label=_("Delivery"), choices=Member.DeliveryMode.choices)
    moderated = forms.BooleanField(label=_("Moderated: hold this member's posts"), required=False)
    enabled = forms.BooleanField(label=_("Delivery enabled"), required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file or a list of addresses"))
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=[
            ("direct", _("Add them now (I have their consent)")),
            ("confirm", _("Invite them: each confirms by mail")),
        ],
        initial="direct",
        widget=forms.RadioSelect,
    )


class SuppressionForm(forms.Form):
    email = forms.CharField(label=_("Address"), max_length=254)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
