"""An imported list's kept bans, accepted senders and header filters become inbound's filters."""

from __future__ import annotations

from poplist.testing.fixtures_inbound import make_message


def _decision(mailing_list, sender: str, message_id: str, extra: str = "") -> str:
    from poplist.inbound.models import InboundMessage
    from poplist.inbound.receive import make_incoming, receive
    from poplist.inbound.routing import resolve

    receive(
        resolve(mailing_list.address),
        make_incoming(sender, make_message(sender=sender, message_id=message_id, extra=extra)),
    )
    return InboundMessage.objects.get(message_id=message_id).decision


def test_kept_bans_accepts_and_header_filters_are_applied_and_bad_entries_skipped(mailing_list):
    from poplist.inbound.models import HeaderFilter, SenderFilter
    from poplist.lists.subscriptions import subscribe
    from poplist.portability import deferred
    from poplist.portability.models import ImportedSetting

    subscribe(mailing_list, "ann@example.org", welcome=False)
    kept = {
        "banned_addresses": ["spam@example.com", "^.*@junk\\.example$", "^(broken"],
        "nonmember_accept": ["partner@example.net"],
        "nonmember_discard": ["noise@example.net"],
        "nonmember_hold": ["maybe@example.net"],  # no per-sender hold list here: it stays waiting, not lost
        "header_filters": [
            {"header": "x-spam-flag", "pattern": "^yes", "action": "discard"},
            {"header": "subject", "pattern": "(unclosed", "action": "hold"},
            {"header": "x-spam-flag", "pattern": "^yes", "action": "discard"},  # twice in the source
        ],
    }
    for key, value in kept.items():
        ImportedSetting.objects.create(mailing_list=mailing_list, key=key, system="mailman2", value=value)

    applied = deferred.apply_pending(mailing_list)
    assert applied == ["banned_addresses", "header_filters", "nonmember_accept", "nonmember_discard"]
    assert ImportedSetting.objects.get(key="nonmember_hold").applied_at is None
    bans = set(SenderFilter.objects.filter(kind="ban").values_list("pattern", flat=True))
    assert bans == {"spam@example.com", "^.*@junk\\.example$", "noise@example.net"}
    assert list(SenderFilter.objects.filter(kind="accept").values_list("pattern", "created_by")) == [
        ("partner@example.net", "import")
    ]
    assert list(HeaderFilter.objects.values_list("header", "pattern", "action")) == [("x-spam-flag", "^yes", "discard")]

    assert _decision(mailing_list, "spam@example.com", "<i1@x>") == "discarded"
    assert _decision(mailing_list, "bot@junk.example", "<i2@x>") == "discarded"
    assert _decision(mailing_list, "partner@example.net", "<i3@x>") == "accepted"
    assert _decision(mailing_list, "ann@example.org", "<i4@x>", extra="X-Spam-Flag: yes") == "discarded"
    assert _decision(mailing_list, "ann@example.org", "<i5@x>") == "accepted"
