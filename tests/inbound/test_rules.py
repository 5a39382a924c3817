"""Each rule alone, then the chain's order: what matches, and the reason a person reads."""

from __future__ import annotations

import pytest

from poplist.testing.fixtures_inbound import make_message


@pytest.fixture
def news(make_list):
    from poplist.lists.services import add_role
    from poplist.lists.subscriptions import subscribe

    mailing_list = make_list("news")
    subscribe(mailing_list, "ann@example.org", welcome=False)
    add_role(mailing_list, "mod@acme.test", "moderator")
    return mailing_list


def post_of(mailing_list, raw: bytes, mail_from: str = "ann@example.org"):
    from poplist.inbound.receive import build_post, make_incoming

    mailing_list.refresh_from_db()
    return build_post(mailing_list, make_incoming(mail_from, raw))


def test_loop_matches_our_own_list_id_or_x_beenthere(news):
    from poplist.inbound.rules import loop

    assert loop.check(post_of(news, make_message())) is None
    hit = loop.check(post_of(news, make_message(extra="X-BeenThere: news@lists.acme.test")))
    assert "mail loop" in hit.reason
    assert loop.check(post_of(news, make_message(extra="List-Id: <news.lists.acme.test>")))
    assert loop.check(post_of(news, make_message(extra="List-Id: <other.example.org>"))) is None


def test_max_size_uses_the_lists_limit(news):
    from poplist.inbound.rules import max_size
    from poplist.lists.services import update_settings

    update_settings(news, {"max_message_kb": "1"})
    assert max_size.check(post_of(news, make_message())) is None
    hit = max_size.check(post_of(news, make_message(body="x" * 3000)))
    assert "the list allows 1 KB" in hit.reason


def test_max_recipients_counts_to_and_cc(news):
    from poplist.inbound.rules import max_recipients

    many = ", ".join(f"p{i}@example.org" for i in range(10))
    assert max_recipients.check(post_of(news, make_message())) is None
    hit = max_recipients.check(post_of(news, make_message(extra=f"Cc: {many}")))
    assert "11 recipients" in hit.reason


def test_implicit_destination_wants_the_list_in_to_or_cc(news):
    from poplist.inbound.rules import implicit_destination

    assert implicit_destination.check(post_of(news, make_message())) is None
    assert implicit_destination.check(post_of(news, make_message(to="someone@example.org")))
    cc = make_message(to="x@y.org", extra="Cc: NEWS@lists.acme.test")
    assert implicit_destination.check(post_of(news, cc)) is None


def test_administrivia_catches_commands_sent_to_the_list(news):
    from poplist.inbound.rules import administrivia

    assert administrivia.check(post_of(news, make_message(subject="unsubscribe", body="\n")))
    assert administrivia.check(post_of(news, make_message(subject="hi", body="subscribe\n")))
    long_post = "Subscribe to our feed, then read on.\n" + "More text.\n" * 10
    assert administrivia.check(post_of(news, make_message(subject="News", body=long_post))) is None


def test_banned_addresses_exact_and_pattern(news):
    from poplist.inbound import filters
    from poplist.inbound.rules import banned

    filters.add_sender(news, "ban", "^.*@spam\\.example$")
    filters.add_sender(news, "ban", "troll@example.org")
    assert banned.check(post_of(news, make_message(sender="x@spam.example"), "x@spam.example"))
    assert banned.check(post_of(news, make_message(sender="troll@example.org"), "troll@example.org"))
    assert banned.check(post_of(news, make_message())) is None


def test_emergency_moderation_spares_moderators(news):
    from poplist.inbound.rules import emergency
    from poplist.lists.services import update_settings

    update_settings(news, {"emergency_moderation": "true"})
    assert emergency.check(post_of(news, make_message()))
    assert emergency.check(post_of(news, make_message(sender="mod@acme.test"), "mod@acme.test")) is None


def test_member_moderated_flag_uses_the_lists_action(news):
    from poplist.inbound.rules import member_moderated
    from poplist.lists.members import get_member, set_member_options
    from poplist.lists.services import update_settings

    assert member_moderated.check(post_of(news, make_message())) is None
    set_member_options(get_member(news, "ann@example.org"), actor="t", moderated=True)
    update_settings(news, {"member_moderation_action": "reject"})
    hit = member_moderated.check(post_of(news, make_message()))
    assert hit.action == "reject" and "moderated" in hit.reason


def test_nonmember_action_is_per_list_and_accepted_senders_pass(news):
    from poplist.inbound import filters
    from poplist.inbound.rules import nonmember
    from poplist.lists.services import update_settings

    stranger = make_message(sender="zed@example.net")
    assert nonmember.check(post_of(news, stranger, "zed@example.net")).action == "hold"
    update_settings(news, {"nonmember_action": "discard"})
    assert nonmember.check(post_of(news, stranger, "zed@example.net")).action == "discard"
    filters.add_sender(news, "accept", "zed@example.net")
    assert nonmember.check(post_of(news, stranger, "zed@example.net")) is None
    assert nonmember.check(post_of(news, make_message(sender="mod@acme.test"), "mod@acme.test")) is None


def test_header_filters_decide_with_their_own_action(news):
    from poplist.inbound import filters
    from poplist.inbound.rules import header_filters

    filters.add_header_filter(news, "X-Spam-Flag", "^yes", "discard")
    assert header_filters.check(post_of(news, make_message())) is None
    hit = header_filters.check(post_of(news, make_message(extra="X-Spam-Flag: YES")))
    assert hit.action == "discard" and "X-Spam-Flag" in hit.reason


def test_suspicious_headers(news):
    from poplist.inbound.rules import suspicious_headers

    assert suspicious_headers.check(post_of(news, make_message())) is None
    hit = suspicious_headers.check(post_of(news, make_message(extra="From: Eve <eve@example.org>")))
    assert "2 From headers" in hit.reason


def test_empty_body(news):
    from poplist.inbound.rules import empty_body

    assert empty_body.check(post_of(news, make_message(body="\n\n")))
    assert empty_body.check(post_of(news, make_message())) is None


def test_announce_only_lets_owners_and_allowed_posters_through(news):
    from poplist.inbound import filters
    from poplist.inbound.rules import announce_only
    from poplist.lists.services import update_settings

    update_settings(news, {"style": "announce"})
    assert "announce list" in announce_only.check(post_of(news, make_message())).reason
    assert announce_only.check(post_of(news, make_message(sender="owner@acme.test"), "owner@acme.test")) is None
    filters.add_sender(news, "accept", "ann@example.org")
    assert announce_only.check(post_of(news, make_message())) is None


def test_suspended_tenant(news):
    from poplist.accounts.services import set_tenant_status
    from poplist.inbound.rules import suspended

    assert suspended.check(post_of(news, make_message())) is None
    set_tenant_status(news.tenant, "suspended", "unpaid")
    assert "suspended" in suspended.check(post_of(news, make_message())).reason


def test_unparseable(news):
    from poplist.inbound.rules import unparseable

    assert unparseable.check(post_of(news, b"\x00\xff garbage without headers")).reason.startswith(
        "The message is unparseable"
    )


def test_the_chain_reasons_are_in_the_lists_language(make_list):
    from poplist.inbound.chain import decide

    liste = make_list("liste", language="fr")
    verdict = decide(post_of(liste, make_message(to="liste@lists.acme.test", sender="zed@example.net"), "zed@x"))
    assert verdict.rule == "nonmember" and verdict.action == "hold"


def test_the_order_is_declared_once_and_every_rule_module_is_in_it():
    import pkgutil

    from poplist.inbound import chain, rules

    modules = {name for _f, name, _p in pkgutil.iter_modules(rules.__path__)}
    assert {rule.NAME for rule, _action in chain.ORDER} == modules
