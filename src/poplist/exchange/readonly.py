"""A standby (or a fenced old primary) takes no writes: one guard under every path, by the database connection.

Every Poplist process (web, API, CLI, inbound, worker) installs `guard` as an execute wrapper on
each database connection. While this instance's role is `standby`, a statement that writes a
replicated table (INSERT, UPDATE, DELETE, REPLACE, TRUNCATE, or a WITH that does) is refused
before it reaches the database with `StandbyReadOnly`, a PoplistError: the web and the API answer
503, the CLI prints the sentence and exits 2, LMTP answers 451 4.3.2. Tables that only this node
uses (its standby state, sessions, migrations) stay writable, and so does the follower itself
(`applying()`) and `poplist migrate`. The role is read at most once a second per process (the
role changes at promote, demote or fence; a process sees it within that second).
"""

from __future__ import annotations

import contextvars
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import PoplistError

ROLE_TTL = 1.0
_WRITE = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)"
    r"\s+(?:ONLY\s+)?\"?(\w+)\"?",
    re.IGNORECASE,
)
_WITH_WRITE = re.compile(r"^\s*WITH\b.*\b(?:INSERT|UPDATE|DELETE)\b", re.IGNORECASE | re.DOTALL)
_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("poplist_standby_writes", default=False)
_migrating = threading.Event()
_role = {"standby": False, "until": 0.0}
_tables: set[str] = set()


class StandbyReadOnly(PoplistError):
    http_status = 503
    code = "standby"

    def __init__(self) -> None:
        super().__init__(
            _("This node is a standby: it accepts no changes until it is promoted. Send them to the primary.")
        )


def replicated_tables() -> set[str]:
    if not _tables:
        from poplist.exchange.changelog import replicated_models

        _tables.update(m._meta.db_table for m in replicated_models())
    return _tables


def forget() -> None:
    """Read the role again at the next write (after this process changed it)."""
    _role["until"] = 0.0


def is_standby() -> bool:
    """True while this instance is a standby (cached for ROLE_TTL seconds)."""
    now = time.monotonic()
    if now < _role["until"]:
        return bool(_role["standby"])
    from poplist.exchange.models import Instance

    token = _allowed.set(True)  # the read itself must not recurse into the guard's checks
    try:
        role = Instance.objects.order_by("id").values_list("role", flat=True).first()
    except DatabaseError:  # no table yet (before the first migrate): nothing to protect
        role = None
    finally:
        _allowed.reset(token)
    _role.update(standby=role == "standby", until=now + ROLE_TTL)
    return bool(_role["standby"])


def writes_table(sql: str) -> str | None:
    """The table a statement writes ('?' for a WITH … INSERT/UPDATE/DELETE), or None for a read or DDL."""
    if not isinstance(sql, str):
        sql = str(sql)
    found = _WRITE.match(sql)
    if found:
        return found.group(1)
    if _WITH_WRITE.match(sql):
        return "?"
    return None


def guard(execute, sql: Any, params: Any, many: bool, context: dict) -> Any:
    """Django execute wrapper: refuse writes to replicated tables on a standby."""
    if not _allowed.get() and not _migrating.is_set():
        table = writes_table(sql)
        if table is not None and (table == "?" or table in replicated_tables()) and is_standby():
            raise StandbyReadOnly()
    return execute(sql, params, many, context)


@contextmanager
def applying() -> Iterator[None]:
    """The follower's own writes (and promote, demote, fence) pass the guard in this thread."""
    token = _allowed.set(True)
    try:
        yield
    finally:
        _allowed.reset(token)


def install_on(sender: Any, connection: Any, **_kwargs: Any) -> None:
    """connection_created: every new connection of this process gets the guard."""
    if guard not in connection.execute_wrappers:
        connection.execute_wrappers.append(guard)


def migration_started(**_kwargs: Any) -> None:
    _migrating.set()


def migration_done(**_kwargs: Any) -> None:
    _migrating.clear()
