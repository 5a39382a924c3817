from poplist.core.tokens import new_token, sign_id, token_digest, unsign_id


def test_signed_ids_round_trip_and_refuse_forgery(settings):
    token = sign_id("unsubscribe", 123456789)
    assert unsign_id("unsubscribe", token) == 123456789
    assert unsign_id("verp", token) is None  # bound to its purpose
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert unsign_id("unsubscribe", tampered) is None
    assert unsign_id("unsubscribe", "not-base64!!") is None
    assert unsign_id("unsubscribe", "") is None
    settings.SECRET_KEY = "another instance"
    assert unsign_id("unsubscribe", token) is None


def test_random_tokens_are_stored_as_digests():
    token = new_token()
    assert len(token) >= 32
    assert token_digest(token) != token and len(token_digest(token)) == 64
