"""GNU Mailman 3: a list read from a running Mailman's REST API (3.1), and its HyperKitty mbox export.

Resources read (Mailman's src/mailman/rest): `lists/{id}`, `lists/{id}/config`,
`lists/{id}/roster/{member,owner,moderator,nonmember}` (paged with count and page),
`members/{id}/preferences` when a member entry has no delivery_status (before 3.3),
`addresses/{email}` (registered_on, verified_on: the consent dates), `lists/{id}/bans`,
`lists/{id}/header-matches` and `lists/{id}/uris` (templates; fetched only from the API's
own host, with the same credentials). HyperKitty's export is `LIST.mbox.gz`.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput, NotFound
from poplist.lists.models import Member
from poplist.portability.dates import parse_date
from poplist.portability.importers.common import PREFERENCES, UNSUBSCRIBE, list_page_url, require_file
from poplist.portability.importers.mailman3_config import map_config
from poplist.portability.mbox import mbox_archive
from poplist.portability.records import ListSource, MemberRecord, RoleRecord

SYSTEM = "mailman3"
PAGE = 500
TIMEOUT = 30
MODES = {
    "regular": "regular",
    "mime_digests": "mime_digest",
    "plaintext_digests": "plain_digest",
    "summary_digests": "plain_digest",
}
STATUS = {"by_user": "by_user", "by_moderator": "by_owner", "by_bounces": "by_bounces", "unknown": ""}
ACTIONS = {"hold", "reject", "discard", "accept", "defer"}
TEMPLATES = {
    "list:member:regular:footer": "footer",
    "list:user:notice:welcome": "welcome_text",
    "list:user:notice:goodbye": "goodbye_text",
}


class Client:
    """A small reader of Mailman's REST API with HTTP basic authentication."""

    def __init__(self, url: str, user: str, password: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidInput(_("%(url)s is not an http(s) URL of Mailman's REST API."), url=url)
        if parsed.username or parsed.password:
            # Kept out of the URL so that it never lands in a report or a log.
            raise InvalidInput(_("Give Mailman's REST credentials with --user and --password, not in the URL."))
        self.base = url.rstrip("/") + ("" if url.rstrip("/").endswith("/3.1") else "/3.1")
        self.origin = (parsed.scheme, parsed.netloc)
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")

    def get(self, path: str, *, raw: bool = False, missing_ok: bool = False) -> Any:
        url = path if path.startswith(("http://", "https://")) else f"{self.base}/{path.lstrip('/')}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        # Unredirected: a redirect to another host must not carry the credentials there.
        request.add_unredirected_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            if exc.code in (401, 403):
                raise InvalidInput(
                    _("Mailman's REST API refused these credentials (%(code)s)."), code=exc.code
                ) from None
            if exc.code == 404:
                raise NotFound(_("Mailman's REST API has no %(path)s."), path=path) from None
            raise InvalidInput(
                _("Mailman's REST API answered %(code)s for %(path)s."), code=exc.code, path=path
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise InvalidInput(
                _("Mailman's REST API at %(url)s cannot be reached: %(error)s."),
                url=self.base,
                error=str(getattr(exc, "reason", exc)),
            ) from None
        if raw:
            return body.decode("utf-8", "replace")
        try:
            return json.loads(body)
        except ValueError:
            raise InvalidInput(_("Mailman's REST API did not answer JSON for %(path)s."), path=path) from None

    def entries(self, path: str) -> Iterator[dict]:
        page = 1
        while True:
            data = self.get(f"{path}?count={PAGE}&page={page}") or {}
            entries = data.get("entries", [])
            yield from entries
            if len(entries) < PAGE or page * PAGE >= data.get("total_size", 0):
                return
            page += 1

    def same_origin(self, url: str) -> bool:
        parsed = urllib.parse.urlsplit(url)
        return (parsed.scheme, parsed.netloc) == self.origin


def read(client: Client, list_spec: str, *, archive: Path | None = None, address: str = "") -> ListSource:
    list_id = list_spec.replace("@", ".") if "@" in list_spec else list_spec
    info = client.get(f"lists/{list_id}")
    config = client.get(f"lists/{list_id}/config")
    name = info.get("fqdn_listname") or list_spec
    source = ListSource.start(
        SYSTEM,
        name,
        [f"{client.base}/lists/{list_id}", str(archive or "")],
        address=address or name,
        language=str(config.get("preferred_language", "en")).split("_")[0],
    )
    map_config(config, source)
    _templates(client, list_id, source)
    _filters(client, list_id, source)
    source.roles = [
        RoleRecord(e["email"], Member.Role.OWNER, e.get("display_name") or "")
        for e in client.entries(f"lists/{list_id}/roster/owner")
    ]
    source.roles += [
        RoleRecord(e["email"], Member.Role.MODERATOR, e.get("display_name") or "")
        for e in client.entries(f"lists/{list_id}/roster/moderator")
    ]
    source.members = lambda: _members(client, list_id, name)
    if archive is not None:
        source.archives.append(mbox_archive(require_file(archive, "The HyperKitty export")))
    return source


def _members(client: Client, list_id: str, name: str) -> Iterator[MemberRecord]:
    for entry in client.entries(f"lists/{list_id}/roster/member"):
        status = entry.get("delivery_status")
        if status is None and entry.get("member_id") is not None:
            status = (client.get(f"members/{entry['member_id']}/preferences", missing_ok=True) or {}).get(
                "delivery_status"
            )
        address = client.get(f"addresses/{urllib.parse.quote(entry['email'], safe='@')}", missing_ok=True) or {}
        record = MemberRecord(
            email=address.get("original_email") or entry["email"],
            name=entry.get("display_name") or address.get("display_name") or "",
            delivery_mode=MODES.get(entry.get("delivery_mode", "regular"), "regular"),
            moderated=entry.get("moderation_action") in ("hold", "reject", "discard"),
            joined_at=parse_date(address.get("registered_on")),
            confirmed_at=parse_date(address.get("verified_on")),
            joined_ref=f"{SYSTEM}:{name}",
        )
        if entry.get("delivery_mode") == "summary_digests":
            record.attributes["mailman_delivery_mode"] = "summary_digests"
        if status and status != "enabled":
            record.status = Member.Status.DISABLED
            record.disabled_reason = STATUS.get(status, "")
        yield record


def _templates(client: Client, list_id: str, source: ListSource) -> None:
    uris = client.get(f"lists/{list_id}/uris", missing_ok=True) or {}
    for key, uri in sorted(uris.items()):
        if key in ("http_etag", "self_link") or not isinstance(uri, str):
            continue
        target = TEMPLATES.get(key)
        if target is None:
            source.report.skip(key, uri, "Poplist writes this text itself")
        elif not client.same_origin(uri):
            source.report.skip(key, uri, "a template on another host is not fetched; copy its text by hand")
        else:
            text = client.get(uri, raw=True, missing_ok=True)
            if text is not None:
                source.set(key, target, expand(text.strip(), source))


def _filters(client: Client, list_id: str, source: ListSource) -> None:
    bans = [e["email"] for e in client.entries(f"lists/{list_id}/bans") if e.get("email")]
    source.defer("banned_addresses", "bans", bans)
    matches = client.get(f"lists/{list_id}/header-matches", missing_ok=True) or {}
    rules = [
        {"header": m["header"], "pattern": m["pattern"], "action": m.get("action") or "hold"}
        for m in matches.get("entries", [])
        if m.get("header") and m.get("pattern")
    ]
    source.defer("header_filters", "header-matches", rules)
    by_action: dict[str, list[str]] = {}
    for entry in client.entries(f"lists/{list_id}/roster/nonmember"):
        action = entry.get("moderation_action")
        if action in ACTIONS and action != "defer":
            by_action.setdefault(action, []).append(entry["email"])
    for action, emails in by_action.items():
        source.defer(f"nonmember_{action}", f"roster/nonmember moderation_action={action}", emails)


def expand(template: str, source: ListSource) -> str:
    """Mailman 3's $placeholders in templates, turned into their values or Poplist's personal links."""
    local, _at, domain = source.address.rpartition("@")
    values = {
        "listname": source.address,
        "list_id": f"{local}.{domain}",
        "display_name": str(source.settings.get("display_name", local)),
        "short_listname": local,
        "domain": domain,
        "description": str(source.settings.get("description", "")),
        "info": "",
        "request_email": f"{local}-request@{domain}",
        "owner_email": f"{local}-owner@{domain}",
        "site_email": "",
        "language": source.language,
        "user_options_uri": PREFERENCES,
        "user_unsubscribe_uri": UNSUBSCRIBE,
        "listinfo_uri": list_page_url(source.address),
    }

    def substitute(match: re.Match) -> str:
        key = match.group(1) or match.group(2)
        if key in values:
            return values[key]
        source.report.notes.append(f"placeholder ${key} has no Poplist equivalent and was left as written")
        return match.group(0)

    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", substitute, template)
