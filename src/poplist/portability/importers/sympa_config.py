"""Sympa's list `config` file: parsing it, and mapping its parameters one function each (see docs/importing.md)."""

from __future__ import annotations

import math
from collections.abc import Callable

from poplist.portability.records import ListSource

Config = list[tuple[str, str | dict[str, str]]]

# `send` scenarios (Sympa's scenari/send.*): who may post, and what happens to the others.
SEND = {
    "public": {"nonmember_action": "accept"},
    "public_nobcc": {"nonmember_action": "accept"},
    "publickey": {"nonmember_action": "hold"},
    "private": {"nonmember_action": "reject"},
    "private_smime": {"nonmember_action": "reject"},
    "privatekey": {"nonmember_action": "reject"},
    "privateorpublickey": {"nonmember_action": "hold"},
    "privateoreditorkey": {"nonmember_action": "hold"},
    "editorkey": {"emergency_moderation": True, "nonmember_action": "hold"},
    "editorkeyonly": {"emergency_moderation": True, "nonmember_action": "hold"},
    "editor": {"emergency_moderation": True, "nonmember_action": "hold"},
    "owner": {"style": "announce", "nonmember_action": "reject"},
    "newsletter": {"style": "announce", "nonmember_action": "reject"},
    "newsletterkeyonly": {"style": "announce", "nonmember_action": "hold"},
    "closed": {"style": "announce", "nonmember_action": "reject"},
}
SUBSCRIBE = {
    "open": "open",
    "open_notify": "open",
    "open_quiet": "open",
    "auth": "confirm",
    "auth_notify": "confirm",
    "auth_notifydef": "confirm",
    "owner": "moderate",
    "auth_owner": "confirm_then_moderate",
    "closed": "moderate",
}
REVIEW = {"public": "public", "private": "members", "owner": "owners", "closed": "owners"}
WEB_ACCESS = {"public": "public", "private": "private", "owner": "private", "closed": "private"}


def parse_config(text: str) -> Config:
    """[(key, value or {subkey: value})] in file order; `owner` and `editor` may repeat."""
    items: Config = []
    for paragraph in _paragraphs(text):
        key, _sep, value = paragraph[0].partition(" ")
        if value.strip() or len(paragraph) == 1:
            # Simple parameters; some files put several on consecutive lines.
            for line in paragraph:
                k, _s, v = line.partition(" ")
                items.append((k, v.strip()))
        else:
            items.append((key, {k: v.strip() for k, _s, v in (line.partition(" ") for line in paragraph[1:])}))
    return items


def _paragraphs(text: str) -> list[list[str]]:
    paragraphs, current = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        if not stripped:
            if current:
                paragraphs.append(current)
            current = []
        else:
            current.append(stripped)
    if current:
        paragraphs.append(current)
    return paragraphs


def _scenario(value: str) -> str:
    """'privateoreditorkey' from 'privateoreditorkey', 'send.privateoreditorkey' or 'name privateoreditorkey'."""
    value = value.split()[-1] if value.split() else value
    return value.removeprefix("send.").removeprefix("subscribe.").removeprefix("review.")


def _subject(value, source: ListSource) -> None:
    source.set("subject", "description", value)


def _lang(value, source: ListSource) -> None:
    source.language = value.split("_")[0].split("-")[0]
    source.report.map("lang", "language", source.language)
    source.settings["language"] = source.language


def _send(value, source: ListSource) -> None:
    mapped = SEND.get(_scenario(value))
    if mapped is None:
        source.report.skip("send", value, "a custom scenario: set who may post in Poplist by hand")
        return
    for target, setting in mapped.items():
        source.set("send", target, setting)


def _subscribe(value, source: ListSource) -> None:
    policy = SUBSCRIBE.get(_scenario(value))
    if policy is None:
        source.report.skip("subscribe", value, "a custom scenario: choose a subscription policy by hand")
        return
    source.set("subscribe", "subscription_policy", policy)
    if _scenario(value) == "closed":
        source.report.notes.append("subscribe closed: Poplist queues requests for the owners to approve")


def _review(value, source: ListSource) -> None:
    if _scenario(value) in REVIEW:
        source.set("review", "roster_visibility", REVIEW[_scenario(value)])


def _archive(value, source: ListSource) -> None:
    access = value.get("web_access") or value.get("access") if isinstance(value, dict) else None
    if not access:
        return
    source.set("archive.web_access", "archive_policy", WEB_ACCESS.get(_scenario(access), "private"))
    if _scenario(access) in ("owner", "closed"):
        source.report.notes.append(
            f"archives were readable by {'owners only' if _scenario(access) == 'owner' else 'nobody'} in Sympa; "
            "Poplist's private archives are readable by members: check before announcing the move"
        )


def _digest(value, source: ListSource) -> None:
    days = value.split()[0] if value.split() else ""
    source.set("digest", "digest_daily", len(set(days.split(","))) == 7)
    if len(set(days.split(","))) != 7:
        source.report.notes.append(
            f"digest was sent on days {days} (0 = Sunday); Poplist sends digests daily or by size"
        )


def _reply_to(value, source: ListSource) -> None:
    target = value.get("value", "sender") if isinstance(value, dict) else value
    source.set("reply_to_header", "reply_to_list", target in ("list", "all"))
    if target == "other_email" and isinstance(value, dict):
        source.defer("reply_to_address", "reply_to_header.other_email", value.get("other_email", ""))


def _custom_subject(value, source: ListSource) -> None:
    source.set("custom_subject", "subject_prefix", f"[{value.strip('[]')}]")


def _max_size(value, source: ListSource) -> None:
    if value.isdigit() and int(value) > 0:
        source.set("max_size", "max_message_kb", math.ceil(int(value) / 1024))


MAPPERS: dict[str, Callable] = {
    "subject": _subject,
    "lang": _lang,
    "send": _send,
    "subscribe": _subscribe,
    "review": _review,
    "archive": _archive,
    "web_archive": _archive,
    "digest": _digest,
    "reply_to_header": _reply_to,
    "reply_to": _reply_to,
    "custom_subject": _custom_subject,
    "max_size": _max_size,
}
HANDLED_ELSEWHERE = {"owner", "editor"}  # roles: owner.dump and editor.dump, or these paragraphs
INTERNAL = {"serial", "creation", "update", "family_name", "latest_instantiation", "status"}


def map_config(config: Config, source: ListSource) -> None:
    for key, value in config:
        if key in MAPPERS:
            MAPPERS[key](value, source)
        elif key in INTERNAL:
            if key == "status" and value != "open":
                source.report.notes.append(f"the list's status in Sympa was {value}")
        elif key.startswith("include_") or key in ("member_include", "owner_include", "editor_include"):
            source.report.skip(key, value, "data sources are not followed: their members are imported as dumped")
        elif key not in HANDLED_ELSEWHERE:
            source.report.skip(key, value, "no Poplist equivalent")
