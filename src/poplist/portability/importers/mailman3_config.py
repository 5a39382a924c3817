"""Mailman 3's list configuration (REST `lists/{id}/config`) mapped onto Poplist's settings, one function each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from poplist.portability.records import ListSource

ACTION = {"hold": "hold", "reject": "reject", "discard": "discard", "accept": "accept", "defer": "accept"}
DMARC = {"munge_from": "munge_from", "wrap_message": "wrap"}
# Read elsewhere (roster, templates) or Mailman's own bookkeeping: not reported as unmapped.
IGNORED = {
    "http_etag",
    "self_link",
    "list_id",
    "fqdn_listname",
    "list_name",
    "mail_host",
    "posting_address",
    "request_address",
    "owner_address",
    "join_address",
    "leave_address",
    "bounces_address",
    "no_reply_address",
    "created_at",
    "last_post_at",
    "digest_last_sent_at",
    "next_digest_number",
    "volume",
    "post_id",
    "usenet_watermark",
    "scheme",
    "web_host",
    "moderator_password",
    "accept_these_nonmembers",
    "hold_these_nonmembers",
    "reject_these_nonmembers",
    "discard_these_nonmembers",
}


def _text(key: str, target: str) -> Callable:
    def mapper(value: Any, source: ListSource) -> None:
        source.set(key, target, str(value or "").strip())

    return mapper


def _flag(key: str, target: str) -> Callable:
    def mapper(value: Any, source: ListSource) -> None:
        source.set(key, target, bool(value))

    return mapper


def _positive(key: str, target: str, convert: Callable[[Any], int] = int) -> Callable:
    def mapper(value: Any, source: ListSource) -> None:
        if isinstance(value, int | float) and value > 0:
            source.set(key, target, convert(value))
        else:
            source.report.skip(key, value, "0 means no limit in Mailman; Poplist keeps its default")

    return mapper


def _choice(key: str, target: str, table: dict[str, str]) -> Callable:
    def mapper(value: Any, source: ListSource) -> None:
        if value in table:
            source.set(key, target, table[value])
        else:
            source.report.skip(key, value, "no Poplist equivalent")

    return mapper


def _language(value: Any, source: ListSource) -> None:
    source.settings["language"] = source.language
    source.report.map("preferred_language", "language", source.language)


def _description(value: Any, source: ListSource) -> None:
    source.set("description", "description", str(value or ""))


def _info(value: Any, source: ListSource) -> None:
    if value:
        parts = [str(source.settings.get("description", "")), str(value)]
        source.set("info", "description", "\n\n".join(p for p in parts if p))


def _reply_to(value: Any, source: ListSource) -> None:
    source.set("reply_goes_to_list", "reply_to_list", value == "point_to_list")


def _reply_to_address(value: Any, source: ListSource) -> None:
    source.defer("reply_to_address", "reply_to_address", str(value or ""))


def _dmarc_action(value: Any, source: ListSource) -> None:
    if value in DMARC:
        source.set("dmarc_mitigate_action", "dmarc_action", DMARC[value])
    elif value in ("reject", "discard"):
        source.report.skip("dmarc_mitigate_action", value, "Poplist rewrites such posts instead of refusing them")
    if value == "no_mitigation":
        source.set("dmarc_mitigate_action", "dmarc_mitigation", "never")
    elif "dmarc_mitigation" not in source.settings:
        source.set("dmarc_mitigate_unconditionally", "dmarc_mitigation", "when_strict")


def _dmarc_always(value: Any, source: ListSource) -> None:
    if value and source.settings.get("dmarc_mitigation") != "never":
        source.set("dmarc_mitigate_unconditionally", "dmarc_mitigation", "always")


def _archive_policy(value: Any, source: ListSource) -> None:
    source.set("archive_policy", "archive_policy", {"never": "none"}.get(value, value))


def _acceptable_aliases(value: Any, source: ListSource) -> None:
    source.defer("acceptable_aliases", "acceptable_aliases", [str(v) for v in value or []])


def _bounce_days(key: str, target: str) -> Callable:
    """Mailman 3 writes intervals as 'D days, H:MM:SS' or seconds."""

    def mapper(value: Any, source: ListSource) -> None:
        days = _days(value)
        if days:
            source.set(key, target, days)

    return mapper


def _days(value: Any) -> int:
    if isinstance(value, int | float):
        return max(1, round(value / 86400)) if value > 0 else 0
    text = str(value or "")
    if "day" in text:
        return max(1, int(text.split()[0]))
    return 1 if text and text not in ("0:00:00",) else 0


MAPPERS: dict[str, Callable[[Any, ListSource], None]] = {
    "display_name": _text("display_name", "display_name"),
    "description": _description,
    "info": _info,
    "preferred_language": _language,
    "subscription_policy": _choice(
        "subscription_policy",
        "subscription_policy",
        {v: v for v in ("open", "confirm", "moderate", "confirm_then_moderate")},
    ),
    "member_roster_visibility": _choice(
        "member_roster_visibility",
        "roster_visibility",
        {"public": "public", "members": "members", "moderators": "owners"},
    ),
    "archive_policy": _archive_policy,
    "default_nonmember_action": _choice("default_nonmember_action", "nonmember_action", ACTION),
    "default_member_action": _choice(
        "default_member_action", "member_moderation_action", {"hold": "hold", "reject": "reject", "discard": "discard"}
    ),
    "emergency": _flag("emergency", "emergency_moderation"),
    "max_message_size": _positive("max_message_size", "max_message_kb"),
    "max_num_recipients": _positive("max_num_recipients", "max_recipients"),
    "max_days_to_hold": _positive("max_days_to_hold", "held_expiry_days"),
    "require_explicit_destination": _flag("require_explicit_destination", "require_explicit_destination"),
    "administrivia": _flag("administrivia", "administrivia"),
    "subject_prefix": _text("subject_prefix", "subject_prefix"),
    "send_welcome_message": _flag("send_welcome_message", "send_welcome"),
    "send_goodbye_message": _flag("send_goodbye_message", "send_goodbye"),
    "admin_notify_mchanges": _flag("admin_notify_mchanges", "notify_owners_on_membership"),
    "reply_goes_to_list": _reply_to,
    "reply_to_address": _reply_to_address,
    "dmarc_mitigate_action": _dmarc_action,
    "dmarc_mitigate_unconditionally": _dmarc_always,
    "personalize": lambda value, source: source.set("personalize", "personalize", value in ("individual", "full")),
    "digest_size_threshold": _positive("digest_size_threshold", "digest_size_kb", lambda v: int(v)),
    "digest_send_periodic": _flag("digest_send_periodic", "digest_daily"),
    "bounce_score_threshold": _positive("bounce_score_threshold", "bounce_score_threshold"),
    "bounce_info_stale_after": _bounce_days("bounce_info_stale_after", "bounce_decay_days"),
    "bounce_you_are_disabled_warnings": lambda v, s: s.set(
        "bounce_you_are_disabled_warnings", "bounce_warnings", int(v)
    ),
    "bounce_you_are_disabled_warnings_interval": _bounce_days(
        "bounce_you_are_disabled_warnings_interval", "bounce_warning_interval_days"
    ),
    "acceptable_aliases": _acceptable_aliases,
}


def map_config(config: dict, source: ListSource) -> None:
    # In this order: description before info, the DMARC action before 'unconditionally'.
    for key in sorted(config, key=lambda k: (k == "info", k == "dmarc_mitigate_unconditionally", k)):
        value = config[key]
        if key in MAPPERS:
            MAPPERS[key](value, source)
        elif key not in IGNORED:
            source.report.skip(key, value, "no Poplist equivalent")
