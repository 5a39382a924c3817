"""Writes config.pck exactly as Mailman 2.1 does: `cPickle.dump(dict, fp, 1)` under Python 2.

Run with a Python 2.7 interpreter (this machine: /root/.pyenv/versions/2.7.18/bin/python):
    python2.7 tests/portability/data/mailman2/make_config_pck.py
The output is committed; tests read it and never need Python 2. The values follow
Mailman/MailList.py InitVars and Defaults.py of Mailman 2.1.x; text is Latin-1 (the
charset Mailman 2.1 stored French lists in).
"""

import os
import sys
import types

import cPickle

# A stand-in Mailman.Bouncer module whose classic class pickles under the same name.
Mailman = types.ModuleType("Mailman")
Bouncer = types.ModuleType("Mailman.Bouncer")
sys.modules["Mailman"] = Mailman
sys.modules["Mailman.Bouncer"] = Bouncer


class _BounceInfo:
    def __init__(self, member, score, date, noticesleft):
        self.member = member
        self.cookie = None
        self.score = score
        self.date = date
        self.noticesleft = noticesleft
        self.lastnotice = (1970, 1, 2)


_BounceInfo.__module__ = "Mailman.Bouncer"
Bouncer._BounceInfo = _BounceInfo
T0 = 1262304000.0  # 2010-01-01

config = {
    "real_name": "MM-Users",
    "host_name": "lists.example.org",
    "web_page_url": "http://lists.example.org/mailman/",
    "description": "Entraide des utilisateurs de Mailman",
    "info": "Une liste pour s'entraider.\r\nSoyez courtois, \xe9vitez les pi\xe8ces jointes.",
    "preferred_language": "fr",
    "available_languages": ["fr", "en"],
    "subscribe_policy": 3,
    "unsubscribe_policy": 0,
    "private_roster": 1,
    "obscure_addresses": 1,
    "advertised": 1,
    "archive": 1,
    "archive_private": 1,
    "archive_volume_frequency": 1,
    "generic_nonmember_action": 1,
    "default_member_moderation": 1,
    "member_moderation_action": 1,
    "member_moderation_notice": "Vos messages sont mod\xe9r\xe9s.",
    "nonmember_rejection_notice": "",
    "emergency": 0,
    "max_message_size": 40,
    "max_num_recipients": 0,
    "require_explicit_destination": 1,
    "acceptable_aliases": "mm-users@old.example.org\n^mm-users-.*@example\\.org\n",
    "administrivia": 1,
    "max_days_to_hold": 0,
    "subject_prefix": "[MM-Users %d] ",
    "msg_header": "",
    "msg_footer": "_______________________________________________\n%(real_name)s mailing list\n"
    "%(real_name)s@%(host_name)s\n%(web_page_url)slistinfo%(cgiext)s/%(_internal_name)s\n"
    "Vos options : %(user_optionsurl)s\n",
    "welcome_msg": "Bienvenue sur %(real_name)s ! Lisez les r\xe8gles avant d'\xe9crire.",
    "goodbye_msg": "Au revoir, et merci pour tout.",
    "send_welcome_msg": 1,
    "send_goodbye_msg": 0,
    "admin_notify_mchanges": 1,
    "admin_immed_notify": 1,
    "reply_goes_to_list": 2,
    "reply_to_address": "discussion@example.org",
    "first_strip_reply_to": 0,
    "personalize": 1,
    "from_is_list": 0,
    "dmarc_moderation_action": 1,
    "anonymous_list": 0,
    "digestable": 1,
    "nondigestable": 1,
    "digest_is_default": 0,
    "mime_is_default_digest": 0,
    "digest_size_threshhold": 40,
    "digest_send_periodic": 1,
    "digest_header": "",
    "digest_footer": "R\xe9sum\xe9 de %(real_name)s",
    "digest_volume_frequency": 1,
    "bounce_processing": 1,
    "bounce_score_threshold": 5.0,
    "bounce_info_stale_after": 7 * 86400,
    "bounce_you_are_disabled_warnings": 3,
    "bounce_you_are_disabled_warnings_interval": 7 * 86400,
    "bounce_matching_headers": "# Lines that *start* with a '#' are comments.\nto: friend@public.com\n",
    "ban_list": ["spammer@bad.example", "^.*@spam\\.example$"],
    "accept_these_nonmembers": ["boss@example.com"],
    "hold_these_nonmembers": ["^.*@newcomers\\.example$"],
    "reject_these_nonmembers": ["troll@example.net"],
    "discard_these_nonmembers": ["noreply@example.com"],
    "header_filter_rules": [
        ("X-Spam-Status: Yes.*\nX-Spam-Flag: YES", 3, False),
        ("^Subject: .*viagra", 7, False),
        ("Received: .*", 1, False),
    ],
    "filter_content": 1,
    "filter_mime_types": "application/x-msdownload",
    "pass_mime_types": "multipart\ntext/plain",
    "filter_filename_extensions": ["exe", "bat"],
    "pass_filename_extensions": [],
    "filter_action": 0,
    "collapse_alternatives": 1,
    "convert_html_to_plaintext": 1,
    "topics": [("Annonces", "annonce|news", "Les annonces", False)],
    "topics_enabled": 0,
    "password": "5f4dcc3b5aa765d61d8327deb882cf99",
    "mod_password": "secret-moderator",
    "owner": ["admin@example.org", "Second.Owner@Example.org"],
    "moderator": ["mod@example.org"],
    "members": {
        "alice@example.com": 0,
        "bob@example.com": "Bob@Example.com",
        "carol@example.net": 0,
        "dave@example.net": 0,
        "erin@example.org": 0,
        "frank@bounce.example": 0,
        "not-an-address": 0,
    },
    "digest_members": {"gina@example.com": 0, "hugo@example.fr": 0},
    "user_options": {
        "alice@example.com": 4 | 16,
        "bob@example.com": 128,
        "carol@example.net": 2 | 256,
        "gina@example.com": 8,
        "hugo@example.fr": 0,
        "frank@bounce.example": 0,
    },
    "delivery_status": {
        "dave@example.net": (2, T0 + 86400),
        "erin@example.org": (3, T0 + 2 * 86400),
        "frank@bounce.example": (4, T0 + 3 * 86400),
    },
    "usernames": {
        "alice@example.com": "Alice Martin",
        "hugo@example.fr": "Hugo L\xe9ger",
        "bob@example.com": "Bob \u00c9douard",
    },
    "language": {"alice@example.com": "en", "hugo@example.fr": "fr"},
    "passwords": {"alice@example.com": "alicepw", "bob@example.com": "bobpw"},
    "new_member_options": 256,
    "bounce_info": {"frank@bounce.example": _BounceInfo("frank@bounce.example", 5.0, (2010, 1, 3), 0)},
    "hold_and_cmd_autoresponses": {"x@example.com": ((2010, 1, 1), 2)},
    "one_last_digest": {},
    "data_version": 112,
    "volume": 3,
    "post_id": 42.0,
    "created_at": T0 - 86400 * 365,
    "last_post_time": T0,
    "next_digest_number": 7,
    "digest_last_sent_at": T0,
    "admin_member_chunksize": 30,
    "encode_ascii_prefixes": 2,
    "umbrella_list": 0,
    "send_reminders": 1,
}

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "config.pck"), "wb") as fp:
    cPickle.dump(config, fp, 1)
