"""GNU Mailman 2.1: a list's config.pck (read with the restricted unpickler) and its archive mbox.

The attribute names and codes are Mailman 2.1's (Mailman/MailList.py InitVars, Defaults.py,
MemberAdaptor.py); what each one becomes is in docs/importing.md. One function per setting
that maps, so that each is read and tested alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from poplist.portability.importers.common import PREFERENCES, decode_text, list_page_url, require_file
from poplist.portability.importers.mailman2_roster import CHARSETS, Text, members, roles
from poplist.portability.importers.mailman2_rules import header_filter_rules, patterns
from poplist.portability.mbox import mbox_archive
from poplist.portability.records import ListSource
from poplist.portability.safepickle import BounceInfo, load_config_pck

SYSTEM = "mailman2"

SECRETS = {"password", "mod_password", "post_password", "passwords"}
INTERNAL = {
    "data_version",
    "volume",
    "post_id",
    "last_post_time",
    "created_at",
    "next_digest_number",
    "digest_last_sent_at",
    "one_last_digest",
    "hold_and_cmd_autoresponses",
    "admin_member_chunksize",
    "host_name",
    "web_page_url",
    "available_languages",
    "encode_ascii_prefixes",
    "next_post_number",
    "usenet_watermark",
    "bounce_info",
    "topics_userinterest",
    "new_member_options",
    "pending",
}


def read(config_path: Path, *, archive: Path | None = None, address: str = "", charset: str = "") -> ListSource:
    """The list in `config_path` (and its archive mbox) as a ListSource; nothing is written."""
    with open(require_file(config_path, "The Mailman configuration"), "rb") as stream:
        config = load_config_pck(stream, name=config_path.name)
    language = _str(config.get("preferred_language", b"en"), "utf-8") or "en"
    text = Text(charset or CHARSETS.get(language, "utf-8"))
    name = text(config.get("real_name", b"")).lower() or config_path.parent.name
    host = text(config.get("host_name", b""))
    source = ListSource.start(
        SYSTEM,
        name,
        [str(config_path), str(archive or "")],
        address=address or (f"{name}@{host}" if host else ""),
        language=language.split("_")[0],
    )
    handled: set[str] = set()
    for keys, mapper in MAPPERS:
        present = {key: config[key] for key in keys if key in config}
        if present:
            mapper(present, source, text, config)
            handled.update(keys)
    source.roles = roles(config, text)
    source.members = lambda: members(config, text, name)
    _note_the_rest(config, source, handled)
    if archive is not None:
        source.archives.append(mbox_archive(require_file(archive, "The archive mbox")))
    return source


def _str(value: Any, charset: str) -> str:
    return decode_text(value, charset).strip() if isinstance(value, bytes | str) else ""


# --- Settings: one function each --------------------------------------------------------------


def _display_name(v: dict, source: ListSource, text: Text, config: dict) -> None:
    source.set("real_name", "display_name", text(v["real_name"]))


def _description(v: dict, source: ListSource, text: Text, config: dict) -> None:
    parts = [text(v.get("description", b"")), text(v.get("info", b""))]
    source.set("description, info", "description", "\n\n".join(part for part in parts if part))


def _language(v: dict, source: ListSource, text: Text, config: dict) -> None:
    source.report.map("preferred_language", "language", source.language)
    source.settings["language"] = source.language


def _subscription_policy(v: dict, source: ListSource, text: Text, config: dict) -> None:
    policy = {0: "open", 1: "confirm", 2: "moderate", 3: "confirm_then_moderate"}.get(v["subscribe_policy"])
    if policy:
        source.set("subscribe_policy", "subscription_policy", policy)


def _roster_visibility(v: dict, source: ListSource, text: Text, config: dict) -> None:
    visibility = {0: "public", 1: "members", 2: "owners"}.get(v["private_roster"])
    if visibility:
        source.set("private_roster", "roster_visibility", visibility)


def _archive_policy(v: dict, source: ListSource, text: Text, config: dict) -> None:
    # Mailman 3's importer does the same: a missing archive_private counts as private.
    if not v.get("archive", 0):
        source.set("archive", "archive_policy", "none")
    else:
        source.set("archive, archive_private", "archive_policy", "private" if v.get("archive_private", 1) else "public")


def _nonmember_action(v: dict, source: ListSource, text: Text, config: dict) -> None:
    action = {0: "accept", 1: "hold", 2: "reject", 3: "discard"}.get(v["generic_nonmember_action"])
    if action:
        source.set("generic_nonmember_action", "nonmember_action", action)


def _member_moderation(v: dict, source: ListSource, text: Text, config: dict) -> None:
    if "default_member_moderation" in v:
        source.set("default_member_moderation", "new_members_moderated", bool(v["default_member_moderation"]))
    action = {0: "hold", 1: "reject", 2: "discard"}.get(v.get("member_moderation_action"))
    if action:
        source.set("member_moderation_action", "member_moderation_action", action)


def _flag(source_key: str, target: str) -> Callable:
    def mapper(v: dict, source: ListSource, text: Text, config: dict) -> None:
        source.set(source_key, target, bool(v[source_key]))

    return mapper


def _limit(source_key: str, target: str, unit: str, convert: Callable[[Any], int] = int) -> Callable:
    """A number where Mailman's 0 means 'no limit', which Poplist does not have: 0 keeps Poplist's default."""

    def mapper(v: dict, source: ListSource, text: Text, config: dict) -> None:
        value = v[source_key]
        if not isinstance(value, int | float) or value <= 0:
            source.report.skip(source_key, value, f"0 means no limit in Mailman; Poplist keeps its default {unit}")
            return
        source.set(source_key, target, convert(value))

    return mapper


def _subject_prefix(v: dict, source: ListSource, text: Text, config: dict) -> None:
    prefix = text(v["subject_prefix"])
    if re.search(r"%\d*d", prefix):
        source.report.notes.append(
            "subject_prefix: Mailman's post number (%d) is dropped: Poplist does not number posts"
        )
        prefix = " ".join(re.sub(r"\s*%\d*d\s*", " ", prefix).split())
        prefix = prefix.replace("[ ", "[").replace(" ]", "]")
    source.set("subject_prefix", "subject_prefix", prefix)


def _texts(v: dict, source: ListSource, text: Text, config: dict) -> None:
    for key, target in (("msg_footer", "footer"), ("welcome_msg", "welcome_text"), ("goodbye_msg", "goodbye_text")):
        if key in v:
            source.set(key, target, expand(text(v[key]), source, text, config))
    if "msg_header" in v and text(v["msg_header"]):
        source.report.skip("msg_header", text(v["msg_header"]), "Poplist adds a footer to posts, not a header")


def _notices(v: dict, source: ListSource, text: Text, config: dict) -> None:
    for key, target in (("send_welcome_msg", "send_welcome"), ("send_goodbye_msg", "send_goodbye")):
        if key in v:
            source.set(key, target, bool(v[key]))
    if "admin_notify_mchanges" in v:
        source.set("admin_notify_mchanges", "notify_owners_on_membership", bool(v["admin_notify_mchanges"]))


def _reply_to(v: dict, source: ListSource, text: Text, config: dict) -> None:
    mode = v.get("reply_goes_to_list", 0)
    source.set("reply_goes_to_list", "reply_to_list", mode == 1)
    if mode == 2:
        source.defer("reply_to_address", "reply_to_address", text(v.get("reply_to_address", b"")))


def _dmarc(v: dict, source: ListSource, text: Text, config: dict) -> None:
    # 0 none, 1 munge From, 2 wrap, 3 reject, 4 discard. from_is_list applies to every post,
    # dmarc_moderation_action only to senders whose domain publishes a strict DMARC policy.
    always, strict = v.get("from_is_list", 0), v.get("dmarc_moderation_action", 0)
    action = always if always in (1, 2) else strict
    if action in (3, 4):
        source.report.skip("dmarc_moderation_action", action, "Poplist rewrites such posts instead of refusing them")
        action = 1
    source.set(
        "from_is_list, dmarc_moderation_action",
        "dmarc_mitigation",
        "always" if always in (1, 2) else "when_strict" if action in (1, 2) else "never",
    )
    if action in (1, 2):
        source.set("dmarc action", "dmarc_action", "munge_from" if action == 1 else "wrap")


def _digest(v: dict, source: ListSource, text: Text, config: dict) -> None:
    if v.get("digest_size_threshhold", 0) > 0:
        source.set("digest_size_threshhold", "digest_size_kb", int(v["digest_size_threshhold"]))
    if "digest_send_periodic" in v:
        source.set("digest_send_periodic", "digest_daily", bool(v["digest_send_periodic"]))
    for key in ("digest_header", "digest_footer"):
        if text(v.get(key, b"")):
            source.report.skip(key, text(v[key]), "Poplist's digests have their own header and footer")
    if "digestable" in v and not v["digestable"]:
        source.report.skip("digestable", 0, "members can always choose digests in Poplist")


def _bounces(v: dict, source: ListSource, text: Text, config: dict) -> None:
    days = 86400
    if v.get("bounce_score_threshold", 0) > 0:
        source.set("bounce_score_threshold", "bounce_score_threshold", float(v["bounce_score_threshold"]))
    if v.get("bounce_info_stale_after", 0) > 0:
        source.set("bounce_info_stale_after", "bounce_decay_days", max(1, round(v["bounce_info_stale_after"] / days)))
    if "bounce_you_are_disabled_warnings" in v:
        source.set("bounce_you_are_disabled_warnings", "bounce_warnings", int(v["bounce_you_are_disabled_warnings"]))
    if v.get("bounce_you_are_disabled_warnings_interval", 0) > 0:
        interval = max(1, round(v["bounce_you_are_disabled_warnings_interval"] / days))
        source.set("bounce_you_are_disabled_warnings_interval", "bounce_warning_interval_days", interval)
    if "bounce_processing" in v and not v["bounce_processing"]:
        source.report.skip("bounce_processing", 0, "Poplist always processes bounces")


def _sender_filters(v: dict, source: ListSource, text: Text, config: dict) -> None:
    source.defer("banned_addresses", "ban_list", patterns(v.get("ban_list", []), text))
    for action in ("accept", "hold", "reject", "discard"):
        key = f"{action}_these_nonmembers"
        source.defer(f"nonmember_{action}", key, patterns(v.get(key, []), text))
    source.defer("acceptable_aliases", "acceptable_aliases", text.lines(v.get("acceptable_aliases", b"")))


def _header_filters(v: dict, source: ListSource, text: Text, config: dict) -> None:
    rules = header_filter_rules(v.get("header_filter_rules", []), text, source.report)
    for line in text.lines(v.get("bounce_matching_headers", b"")):
        if not line.startswith("#") and ":" in line:
            header, _sep, pattern = line.partition(":")
            rules.append({"header": header.strip().lower(), "pattern": pattern.strip() or ".*", "action": "hold"})
    source.defer("header_filters", "header_filter_rules, bounce_matching_headers", rules)


def _content_filter(v: dict, source: ListSource, text: Text, config: dict) -> None:
    if not v.get("filter_content"):
        return
    actions = {0: "discard", 1: "reject", 2: "forward", 3: "preserve"}
    value = {
        key: text.lines(v.get(key, b""))
        for key in ("filter_mime_types", "pass_mime_types", "filter_filename_extensions", "pass_filename_extensions")
    }
    value.update(
        action=actions.get(v.get("filter_action", 0), "discard"),
        collapse_alternatives=bool(v.get("collapse_alternatives", 1)),
        convert_html_to_plaintext=bool(v.get("convert_html_to_plaintext", 0)),
    )
    source.defer("content_filter", "filter_content", value)


def _moderation_notices(v: dict, source: ListSource, text: Text, config: dict) -> None:
    notices = {
        "member": text(v.get("member_moderation_notice", b"")),
        "nonmember": text(v.get("nonmember_rejection_notice", b"")),
    }
    source.defer(
        "moderation_notices",
        "member_moderation_notice, nonmember_rejection_notice",
        {k: n for k, n in notices.items() if n},
    )


MAPPERS: list[tuple[tuple[str, ...], Callable]] = [
    (("real_name",), _display_name),
    (("description", "info"), _description),
    (("preferred_language",), _language),
    (("subscribe_policy",), _subscription_policy),
    (("private_roster",), _roster_visibility),
    (("archive", "archive_private"), _archive_policy),
    (("generic_nonmember_action",), _nonmember_action),
    (("default_member_moderation", "member_moderation_action"), _member_moderation),
    (("emergency",), _flag("emergency", "emergency_moderation")),
    (("require_explicit_destination",), _flag("require_explicit_destination", "require_explicit_destination")),
    (("administrivia",), _flag("administrivia", "administrivia")),
    (("personalize",), _flag("personalize", "personalize")),
    (("max_message_size",), _limit("max_message_size", "max_message_kb", "size limit")),
    (("max_num_recipients",), _limit("max_num_recipients", "max_recipients", "recipient limit")),
    (("max_days_to_hold",), _limit("max_days_to_hold", "held_expiry_days", "expiry of held posts")),
    (("subject_prefix",), _subject_prefix),
    (("msg_footer", "msg_header", "welcome_msg", "goodbye_msg"), _texts),
    (("send_welcome_msg", "send_goodbye_msg", "admin_notify_mchanges"), _notices),
    (("reply_goes_to_list", "reply_to_address"), _reply_to),
    (("from_is_list", "dmarc_moderation_action"), _dmarc),
    (("digest_size_threshhold", "digest_send_periodic", "digest_header", "digest_footer", "digestable"), _digest),
    (
        (
            "bounce_score_threshold",
            "bounce_info_stale_after",
            "bounce_you_are_disabled_warnings",
            "bounce_you_are_disabled_warnings_interval",
            "bounce_processing",
        ),
        _bounces,
    ),
    (
        (
            "ban_list",
            "accept_these_nonmembers",
            "hold_these_nonmembers",
            "reject_these_nonmembers",
            "discard_these_nonmembers",
            "acceptable_aliases",
        ),
        _sender_filters,
    ),
    (("header_filter_rules", "bounce_matching_headers"), _header_filters),
    (
        (
            "filter_content",
            "filter_mime_types",
            "pass_mime_types",
            "filter_filename_extensions",
            "pass_filename_extensions",
            "filter_action",
            "collapse_alternatives",
            "convert_html_to_plaintext",
        ),
        _content_filter,
    ),
    (("member_moderation_notice", "nonmember_rejection_notice"), _moderation_notices),
]
ROSTER_KEYS = {
    "owner",
    "moderator",
    "members",
    "digest_members",
    "user_options",
    "delivery_status",
    "usernames",
    "language",
}


def expand(template: str, source: ListSource, text: Text, config: dict) -> str:
    """Mailman's %(name)s placeholders in footers and welcome texts, turned into what they stood for."""
    address = source.address
    local, _at, domain = address.rpartition("@")
    values = {
        "real_name": text(config.get("real_name", b"")) or local,
        "list_name": local,
        "_internal_name": local,
        "host_name": domain,
        "description": text(config.get("description", b"")),
        "info": text(config.get("info", b"")),
        "cgiext": "",
        "user_optionsurl": PREFERENCES,
    }
    page = list_page_url(address)
    template = re.sub(r"%\(web_page_url\)s(listinfo|options)%\(cgiext\)s/%\(_internal_name\)s/?", page, template)
    template = template.replace("%(web_page_url)s", page)

    def substitute(match: re.Match) -> str:
        key = match.group(1)
        if key in values:
            return values[key]
        source.report.notes.append(f"placeholder %({key})s has no Poplist equivalent and was left as written")
        return match.group(0)

    return re.sub(r"%\((\w+)\)s", substitute, template).replace("%%", "%")


def _note_the_rest(config: dict, source: ListSource, handled: set[str]) -> None:
    for key in sorted(config):
        if key in handled or key in ROSTER_KEYS:
            continue
        if key in SECRETS:
            source.report.skip(key, "(not shown)", "passwords are never imported: members use Poplist's links")
        elif key in INTERNAL:
            source.report.count("mailman_internal_attributes")
        else:
            source.report.skip(key, config[key], "no Poplist equivalent")
    bounces = config.get("bounce_info") or {}
    if bounces:
        source.report.skip("bounce_info", f"{len(bounces)} members", "bounce scores restart at zero in Poplist")


__all__ = ["SYSTEM", "BounceInfo", "read"]
