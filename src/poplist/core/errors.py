"""Refusals a user can act on: one sentence, in their language, never a traceback.

Services raise these; the CLI prints them to stderr and exits 2, the web renders them in
the list's language, the API returns them as problem details.
"""

from __future__ import annotations

from typing import Any


class PoplistError(Exception):
    """Base of every user-facing refusal. `message` may be a lazy translation with %(name)s params."""

    http_status = 400
    code = "invalid"

    def __init__(self, message: Any, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__()

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


class InvalidInput(PoplistError):
    code = "invalid"


class NotFound(PoplistError):
    http_status = 404
    code = "not_found"


class Conflict(PoplistError):
    http_status = 409
    code = "conflict"


class Forbidden(PoplistError):
    http_status = 403
    code = "forbidden"


class QuotaExceeded(Conflict):
    code = "quota_exceeded"
