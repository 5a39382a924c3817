import pytest
from hypothesis import given
from hypothesis import strategies as st

from poplist.core.addresses import InvalidAddress, normalize, smtp_form


@pytest.mark.parametrize(
    ("given_address", "stored"),
    [
        ("alice@example.org", "alice@example.org"),
        ("  Alice@Example.ORG ", "Alice@example.org"),  # local part kept, domain lower-cased
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ('"john doe"@example.org', '"john doe"@example.org'),
        ("élodie@exemple.fr", "élodie@exemple.fr"),  # RFC 6531 local part
        ("user@BÜCHER.example", "user@bücher.example"),  # IDN domain, U-label, lower-cased
        ("user@xn--bcher-kva.example", "user@bücher.example"),  # A-label in, same stored form
        ("用户@例子.广告", "用户@例子.广告"),
    ],
)
def test_valid_addresses_are_normalised(given_address, stored):
    assert normalize(given_address) == stored


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("no-at-sign", "no @"),
        ("@example.org", "nothing before"),
        ("user@", "nothing after"),
        ("user@localhost", "domain"),
        ("user@-bad-.org", "domain"),
        ("a b@example.org", "characters"),
        ("user@example.org\r\nBcc: victim@example.org", "line break"),
        ("user@exa mple.org", "domain"),
        ("x" * 65 + "@example.org", "too long"),
        ("user@" + "a" * 250 + ".org", "domain"),
        ("user..dots@example.org", "characters"),
    ],
)
def test_invalid_addresses_say_why(bad, reason):
    with pytest.raises(InvalidAddress) as caught:
        normalize(bad)
    assert reason in str(caught.value)


def test_a_known_domain_still_checks_the_local_part():
    """The second address of a domain takes the cached-domain path: it must accept and refuse the same."""
    for _ in range(2):
        assert normalize("Bob@Known.Example") == "Bob@known.example"
        assert normalize('"bob smith"@Known.Example') == '"bob smith"@known.example'
        with pytest.raises(InvalidAddress, match="characters"):
            normalize("bob smith@Known.Example")
        with pytest.raises(InvalidAddress, match="too long"):
            normalize("b" * 65 + "@Known.Example")
        with pytest.raises(InvalidAddress, match="no @"):
            normalize("Known.Example")


def test_smtp_form_uses_a_labels():
    assert smtp_form("user@bücher.example") == "user@xn--bcher-kva.example"


@given(st.text(max_size=80))
def test_normalize_either_returns_a_clean_address_or_refuses(text):
    try:
        result = normalize(text)
    except InvalidAddress:
        return
    assert "\n" not in result and "\r" not in result
    assert normalize(result) == result  # idempotent
