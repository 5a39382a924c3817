"""Placeholders that inbound writes into a prepared post and delivery fills in per recipient.

They are plain ASCII so that they survive in 7bit, 8bit and quoted-printable parts; inbound
never puts them inside base64-encoded parts. Delivery splits the prepared bytes on them
once per post and joins each recipient's values in.
"""

UNSUBSCRIBE_URL = b"{{poplist:unsubscribe_url}}"
PREFERENCES_URL = b"{{poplist:preferences_url}}"
ALL = (UNSUBSCRIBE_URL, PREFERENCES_URL)
