"""pytest fixtures for the bounces tests (a plugin listed in tests/conftest.py)."""

from __future__ import annotations

import pytest


def dsn(recipient: str, status: str = "5.1.1", *, action: str = "failed", diagnostic: str = "", to: str = "") -> bytes:
    """An RFC 3464 report as Postfix writes it, about one recipient."""
    diagnostic = diagnostic or f"smtp; 550 {status} <{recipient}>: Recipient address rejected: User unknown"
    return f"""Return-Path: <>
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {to or "news-bounces@lists.acme.test"}
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mx.example.org said: {diagnostic}

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Mon, 23 Nov 2026 10:00:00 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--B1
Content-Type: text/rfc822-headers

From: Owner <owner@acme.test>
To: news@lists.acme.test
Subject: Hello list

--B1--
""".replace("\n", "\r\n").encode()


def arf(recipient: str, *, feedback_type: str = "abuse") -> bytes:
    """An RFC 5965 feedback report as a provider's feedback loop sends it."""
    return f"""From: feedback@fbl.example.net
To: news-bounces@lists.acme.test
Subject: FW: Hello list
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F1"

--F1
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.1.

--F1
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <news-bounces@lists.acme.test>
Original-Rcpt-To: <{recipient}>
Source-IP: 192.0.2.1

--F1
Content-Type: message/rfc822

From: Owner <owner@acme.test>
To: news@lists.acme.test
Subject: Hello list

Hi.
--F1--
""".replace("\n", "\r\n").encode()


@pytest.fixture
def bounce_list(make_list):
    """A list with three members and a low threshold, so tests reach each step in a few bounces."""
    from poplist.lists.subscriptions import Origin, subscribe

    mailing_list = make_list("news", bounce_score_threshold=2, bounce_warnings=2, bounce_warning_interval_days=7)
    for email in ("alice@example.org", "bob@example.org", "carol@example.org"):
        subscribe(mailing_list, email, origin=Origin(via="owner", actor="test"), welcome=False)
    return mailing_list


@pytest.fixture
def member_of(bounce_list):
    from poplist.lists.models import Member

    def get(email: str) -> Member:
        return Member.objects.get(mailing_list=bounce_list, email=email, role=Member.Role.MEMBER)

    return get
