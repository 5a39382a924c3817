"""Dates as other systems write them: RFC 5322, ISO 8601, Go's time.String(), epochs, mbox separators."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Go's time.Time.String() (listmonk's CSV export): "2021-05-08 10:20:03.123456789 +0000 UTC".
_GO = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)? ([+-]\d{4})(?: \S+)?(?: m=[+-][\d.]+)?")
_FRACTION = re.compile(r"(\.\d{6})\d+")
_FORMATS = (
    "%Y-%m-%d %H:%M:%S",  # Mailchimp's OPTIN_TIME, CONFIRM_TIME, …
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%a %b %d %H:%M:%S %Y",  # asctime: mbox separator lines
    "%a %b %d %H:%M:%S %z %Y",  # Gmail/Vault separators: "Thu Jan 02 10:00:00 +0000 2020"
)
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)  # before this, a date is a placeholder (epoch 0)


def parse_date(text: str | bytes | float | int | None) -> datetime | None:
    """An aware datetime (UTC when no zone is given), or None when nothing sensible can be read."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float):
        return _from_epoch(float(text))
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    text = " ".join(text.split())
    if not text:
        return None
    if re.fullmatch(r"\d{9,10}(\.\d+)?", text):
        return _from_epoch(float(text))
    for parser in (_rfc5322, _iso, _go, _formats):
        value = parser(text)
        if value is not None:
            value = _aware(value)
            return value if value >= EARLIEST else None
    return None


def _from_epoch(seconds: float) -> datetime | None:
    try:
        value = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return value if value >= EARLIEST else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _rfc5322(text: str) -> datetime | None:
    if not re.search(r"[A-Za-z]{3}", text) or re.match(r"\d{4}-", text):
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _iso(text: str) -> datetime | None:
    candidate = _FRACTION.sub(r"\1", text.replace("Z", "+00:00"))
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _go(text: str) -> datetime | None:
    match = _GO.fullmatch(text)
    if not match:
        return None
    fraction = (match.group(2) or "")[:7]
    try:
        fmt = "%Y-%m-%d %H:%M:%S" + (".%f" if fraction else "") + " %z"
        return datetime.strptime(f"{match.group(1)}{fraction} {match.group(3)}", fmt)
    except ValueError:
        return None


def _formats(text: str) -> datetime | None:
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None
