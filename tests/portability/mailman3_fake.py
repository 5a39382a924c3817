"""A small HTTP server on 127.0.0.1 that answers like Mailman 3's REST API (3.1) for one list.

The shapes follow Mailman's REST documentation (src/mailman/rest/docs): collections are
{"entries": [...], "start": 0, "total_size": N, "http_etag": …}, paged with ?count=&page=.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USER, PASSWORD = "restadmin", "restpass"


def resources(base: str) -> dict:
    lid = "ant.example.com"
    member = lambda n, email, **kw: {  # noqa: E731
        "address": f"{base}/3.1/addresses/{email.lower()}",
        "delivery_mode": "regular",
        "email": email.lower(),
        "list_id": lid,
        "member_id": n,
        "role": "member",
        "self_link": f"{base}/3.1/members/{n}",
        "subscription_mode": "as_address",
        "user": f"{base}/3.1/users/{n}",
        "http_etag": '"x"',
        **kw,
    }
    members = [
        member(
            "m1",
            "anne@example.com",
            display_name="Anne Person",
            delivery_status="enabled",
            moderation_action="defer",
            bounce_score=0,
        ),
        member(
            "m2", "bart@example.com", delivery_mode="mime_digests", delivery_status="by_user", moderation_action="hold"
        ),
        member("m3", "cris@example.com", delivery_mode="plaintext_digests", delivery_status="by_bounces"),
        member("m4", "dana@example.com"),  # Mailman < 3.3: no delivery_status in the entry
        member("m5", "eve@example.com", delivery_mode="summary_digests", delivery_status="by_moderator"),
    ]
    config = {
        "acceptable_aliases": ["ant@old.example.com"],
        "admin_immed_notify": True,
        "admin_notify_mchanges": True,
        "administrivia": True,
        "advertised": True,
        "allow_list_posts": True,
        "anonymous_list": False,
        "archive_policy": "private",
        "autorespond_owner": "none",
        "autoresponse_grace_period": "90d",
        "bounces_address": "ant-bounces@example.com",
        "collapse_alternatives": True,
        "convert_html_to_plaintext": False,
        "created_at": "2018-01-01T00:00:00",
        "default_member_action": "defer",
        "default_nonmember_action": "hold",
        "description": "Ant colony chat",
        "digest_last_sent_at": None,
        "digest_send_periodic": True,
        "digest_size_threshold": 30.0,
        "digest_volume_frequency": "monthly",
        "digests_enabled": True,
        "display_name": "Ant",
        "dmarc_mitigate_action": "munge_from",
        "dmarc_mitigate_unconditionally": False,
        "emergency": False,
        "filter_content": False,
        "first_strip_reply_to": False,
        "fqdn_listname": "ant@example.com",
        "gateway_to_mail": False,
        "http_etag": '"abc"',
        "include_rfc2369_headers": True,
        "info": "All about ants.",
        "join_address": "ant-join@example.com",
        "last_post_at": None,
        "leave_address": "ant-leave@example.com",
        "list_name": "ant",
        "mail_host": "example.com",
        "max_message_size": 40,
        "max_num_recipients": 10,
        "member_roster_visibility": "moderators",
        "moderator_password": None,
        "next_digest_number": 1,
        "no_reply_address": "noreply@example.com",
        "owner_address": "ant-owner@example.com",
        "personalize": "none",
        "posting_address": "ant@example.com",
        "posting_pipeline": "default-posting-pipeline",
        "preferred_language": "en",
        "process_bounces": True,
        "reply_goes_to_list": "point_to_list",
        "reply_to_address": "",
        "request_address": "ant-request@example.com",
        "require_explicit_destination": True,
        "respond_to_post_requests": True,
        "send_goodbye_message": True,
        "send_welcome_message": False,
        "subject_prefix": "[Ant] ",
        "subscription_policy": "confirm",
        "unsubscription_policy": "confirm",
        "usenet_watermark": None,
        "volume": 1,
        "bounce_score_threshold": 5,
        "bounce_info_stale_after": "7 days, 0:00:00",
        "bounce_you_are_disabled_warnings": 3,
        "bounce_you_are_disabled_warnings_interval": "7 days, 0:00:00",
    }
    page = lambda entries: {"entries": entries, "start": 0, "total_size": len(entries), "http_etag": '"p"'}  # noqa: E731
    data = {
        f"/3.1/lists/{lid}": {
            "display_name": "Ant",
            "fqdn_listname": "ant@example.com",
            "list_id": lid,
            "list_name": "ant",
            "mail_host": "example.com",
            "member_count": 5,
            "volume": 1,
            "description": "Ant colony chat",
            "self_link": f"{base}/3.1/lists/{lid}",
        },
        f"/3.1/lists/{lid}/config": config,
        f"/3.1/lists/{lid}/roster/member": members,
        f"/3.1/lists/{lid}/roster/owner": [member("o1", "queen@example.com", role="owner", display_name="Queen")],
        f"/3.1/lists/{lid}/roster/moderator": [member("o2", "soldier@example.com", role="moderator")],
        f"/3.1/lists/{lid}/roster/nonmember": [
            member("n1", "friend@example.org", role="nonmember", moderation_action="accept"),
            member("n2", "pest@example.org", role="nonmember", moderation_action="discard"),
            member("n3", "someone@example.org", role="nonmember", moderation_action="defer"),
        ],
        f"/3.1/lists/{lid}/bans": page([{"email": "^.*@spam\\.example$", "list_id": lid}, {"email": "troll@x.org"}]),
        f"/3.1/lists/{lid}/header-matches": page(
            [
                {"header": "x-spam-flag", "pattern": "YES", "action": "discard", "position": 0},
                {"header": "subject", "pattern": "(?i)casino", "action": None, "position": 1},
            ]
        ),
        f"/3.1/lists/{lid}/uris": {
            "list:member:regular:footer": f"{base}/templates/ant/footer.txt",
            "list:user:notice:welcome": f"{base}/templates/ant/welcome.txt",
            "list:user:notice:goodbye": "http://other.example/goodbye.txt",
            "list:member:digest:header": f"{base}/templates/ant/digest-header.txt",
            "http_etag": '"u"',
            "self_link": f"{base}/3.1/lists/{lid}/uris",
        },
        "/3.1/members/m4/preferences": {"delivery_status": "by_user", "delivery_mode": "regular"},
        "/templates/ant/footer.txt": (
            "-- \n$display_name mailing list -- $listname\nTo unsubscribe: $user_unsubscribe_uri"
        ),
        "/templates/ant/welcome.txt": "Welcome to $display_name! See $listinfo_uri",
    }
    for n, email in enumerate(["anne@example.com", "bart@example.com", "cris@example.com", "dana@example.com"]):
        data[f"/3.1/addresses/{email}"] = {
            "email": email,
            "original_email": email.capitalize() if n == 1 else email,
            "registered_on": f"2019-0{n + 1}-01T10:00:00",
            **({"verified_on": f"2019-0{n + 1}-02T10:00:00"} if n else {}),
            "self_link": f"{base}/3.1/addresses/{email}",
        }
    return data


class FakeMailman:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.data = resources(self.base)
        self.requests: list[str] = []

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append(self.path)
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._send(401, {"title": "401 Unauthorized"})
                url = urllib.parse.urlsplit(self.path)
                body = fake.data.get(urllib.parse.unquote(url.path))
                if body is None:
                    return self._send(404, {"title": "404 Not Found"})
                if isinstance(body, list):  # a roster: paged as Mailman pages
                    query = urllib.parse.parse_qs(url.query)
                    count, number = int(query.get("count", ["0"])[0]), int(query.get("page", ["1"])[0])
                    entries = body[(number - 1) * count : number * count] if count else body
                    body = {
                        "entries": entries,
                        "start": (number - 1) * count,
                        "total_size": len(body),
                        "http_etag": '"p"',
                    }
                return self._send(200, body)

            def _send(self, status: int, body) -> None:
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler

    def __enter__(self) -> FakeMailman:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
