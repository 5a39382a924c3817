import pytest

from poplist.core.autoreply import is_auto_reply
from poplist.core.mime import parse_message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("Auto-Submitted: auto-replied\r\nSubject: Re: hello", True),
        ("Auto-Submitted: no\r\nSubject: hello", False),
        ("X-Autoreply: yes\r\nSubject: Re: hello", True),
        ("Precedence: auto_reply\r\nSubject: hello", True),
        ("Precedence: bulk\r\nSubject: Out of Office: back Monday", True),
        ("X-Auto-Response-Suppress: All\r\nSubject: Automatic reply: Meeting", True),
        ("Subject: Vacation photos", False),
        ("Subject: Re: Out of office etiquette", False),
    ],
)
def test_auto_replies_are_recognised(headers, expected):
    assert is_auto_reply(parse_message(f"From: a@example.org\r\n{headers}\r\n\r\nbody\r\n".encode())) is expected
