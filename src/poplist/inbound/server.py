"""The LMTP (and optional SMTP) server: aiosmtpd protocol handling, then `receive` through the group-commit writer.

Refusals that need no authority happen at RCPT (unknown address: 550 5.1.1); everything else is
decided in the pipeline, inside the transaction, and LMTP answers once per recipient after DATA.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import close_old_connections, connections

from poplist.core import addresses
from poplist.core.errors import InvalidInput
from poplist.exchange.readonly import is_standby
from poplist.inbound import dmarc, replies
from poplist.inbound.receive import Incoming, make_incoming, receive, store_failure
from poplist.inbound.routing import Route, resolve
from poplist.inbound.writer import Writer

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # the server's SIZE; lists set their own, lower, limits
ROUTE_CACHE_SECONDS = 5.0
INLINE_PARSE_BYTES = 64 * 1024
# The protocol (event loop) and the writer thread share the GIL; at Python's default 5 ms a reply
# can wait a whole interval for the writer to let go, at each step of each transaction.
SWITCH_INTERVAL = 0.0005
STANDBY_CHECK_SECONDS = 1.0  # exchange.readonly.ROLE_TTL: a cached route is trusted no longer than the role


class _NamedReplies:
    """aiosmtpd's own size and line-length refusals, given their enhanced status codes."""

    async def push(self, status):
        if isinstance(status, str):
            if status.startswith("552 Error"):
                status = replies.TOO_BIG
            elif status.startswith("500 Line too long"):
                status = replies.LINE_TOO_LONG
        await super().push(status)


class PoplistLMTP(_NamedReplies, LMTP):
    pass


class PoplistSMTP(_NamedReplies, SMTP):
    pass


class Handler:
    def __init__(self, writer: Writer, reader: ThreadPoolExecutor, routes: dict, *, lmtp: bool) -> None:
        self.writer = writer
        self.reader = reader  # one thread for lookups: its database connection is closed at shutdown
        self.lmtp = lmtp
        self._routes = routes
        self._recycled = [time.monotonic()]
        self._not_standby = [0.0]  # when this instance was last seen not to be a standby

    def _resolve(self, address: str) -> Route | None:
        # A short cache: a burst of posts to one list looks it up once; a new list is seen within seconds.
        now = time.monotonic()
        cached = self._routes.get(address)
        if cached and cached[0] > now:
            return cached[1]
        if now - self._recycled[0] > 30:  # not per call: it closes a SQLite connection every time
            close_old_connections()
            self._recycled[0] = now
        route = resolve(address)
        if len(self._routes) > 10_000:
            self._routes.clear()
        self._routes[address] = (now + ROUTE_CACHE_SECONDS, route)
        return route

    async def handle_RCPT(self, server, session: Session, envelope: Envelope, address: str, options) -> str:
        if any(ch in address for ch in "\r\n\x00"):
            return replies.BAD_RECIPIENT
        cached = self._routes.get(address)
        try:
            now = time.monotonic()
            if cached and cached[0] > now and now - self._not_standby[0] < STANDBY_CHECK_SECONDS:
                route = cached[1]  # no hop to the reader thread: a burst of posts to one list costs one lookup
            else:
                if await asyncio.get_running_loop().run_in_executor(self.reader, is_standby):
                    return replies.STANDBY  # a standby's data comes from its primary only (exchange/readonly.py)
                self._not_standby[0] = now
                route = await asyncio.get_running_loop().run_in_executor(self.reader, self._resolve, address)
        except Exception:
            log.exception("route lookup failed for %r", address)
            return replies.TRY_AGAIN
        if route is None:
            return replies.UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(options)
        if not hasattr(envelope, "poplist_routes"):
            envelope.poplist_routes = []
        envelope.poplist_routes.append(route)
        return replies.RECIPIENT_OK

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        routes: list[Route] = getattr(envelope, "poplist_routes", [])
        mail_from = envelope.mail_from or ""
        if mail_from == "<>":
            mail_from = ""
        needs_dmarc = any(r.needs_dmarc for r in routes)
        if needs_dmarc or len(raw) > INLINE_PARSE_BYTES:  # a DNS query or a long parse: off the event loop
            incoming = await asyncio.to_thread(_incoming, mail_from, raw, needs_dmarc)
        else:  # ~0.1 ms: cheaper here than the thread hop it would take (0.1-0.2 ms, bench/inbound.py)
            incoming = _incoming(mail_from, raw, False)
        futures = [
            self.writer.submit(
                functools.partial(receive, route, incoming), functools.partial(store_failure, route, incoming)
            )
            for route in routes
        ]
        answers = []
        for future in futures:
            try:
                answers.append(await asyncio.wrap_future(future))
            except Exception:
                answers.append(replies.TRY_AGAIN)
        if self.lmtp:
            return "\r\n".join(answers)
        # SMTP has one reply for all recipients: the worst one (a retry re-posts nothing: duplicates are caught).
        return max(answers, key=lambda a: a[0])


def _incoming(mail_from: str, raw: bytes, needs_dmarc: bool) -> Incoming:
    incoming = make_incoming(mail_from, raw)
    if needs_dmarc and incoming.from_address:
        try:
            incoming.author_strict = dmarc.is_strict(addresses.domain_of(incoming.from_address))
        except (InvalidInput, UnicodeError):
            incoming.author_strict = False
    return incoming


@dataclass
class Listening:
    lmtp_port: int
    smtp_port: int | None
    servers: list
    reader: ThreadPoolExecutor

    def close(self) -> None:
        for server in self.servers:
            server.close()
        self.reader.submit(connections.close_all).result(10)
        self.reader.shutdown()


async def start(
    writer: Writer, host: str, lmtp_port: int, smtp_port: int | None = None, max_bytes: int = MAX_MESSAGE_BYTES
) -> Listening:
    loop = asyncio.get_running_loop()
    servers = []
    reader = ThreadPoolExecutor(1, thread_name_prefix="poplist-inbound-reader")
    routes: dict = {}

    def factory(cls, lmtp: bool):
        return lambda: cls(
            Handler(writer, reader, routes, lmtp=lmtp),
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            hostname="poplist",
            ident="Poplist",
            loop=loop,
        )

    lmtp_server = await loop.create_server(factory(PoplistLMTP, True), host, lmtp_port)
    servers.append(lmtp_server)
    actual_smtp = None
    if smtp_port is not None:
        smtp_server = await loop.create_server(factory(PoplistSMTP, False), host, smtp_port)
        servers.append(smtp_server)
        actual_smtp = smtp_server.sockets[0].getsockname()[1]
    return Listening(lmtp_server.sockets[0].getsockname()[1], actual_smtp, servers, reader)


def run_forever(host: str, lmtp_port: int, smtp_port: int | None = None) -> None:
    """`poplist inbound`: serve until SIGTERM/SIGINT; retry binding while the port is taken."""
    import signal
    import sys

    sys.setswitchinterval(SWITCH_INTERVAL)

    async def main() -> None:
        writer = Writer()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        while not stop.is_set():
            try:
                listening = await start(writer, host, lmtp_port, smtp_port)
                break
            except OSError as exc:
                log.error("cannot listen on %s:%s (%s); retrying in 5 s", host, lmtp_port, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 5)
        else:
            writer.stop()
            return
        log.info(
            "LMTP on %s:%s%s",
            host,
            listening.lmtp_port,
            f", SMTP on {host}:{listening.smtp_port}" if listening.smtp_port else "",
        )
        await stop.wait()
        await asyncio.to_thread(listening.close)
        await asyncio.to_thread(writer.stop)

    asyncio.run(main())


@contextlib.contextmanager
def running(host: str = "127.0.0.1", *, smtp: bool = False, max_bytes: int = MAX_MESSAGE_BYTES) -> Iterator[Listening]:
    """A server on free ports in a background thread (tests, benchmarks)."""
    loop = asyncio.new_event_loop()
    writer = Writer()
    ready = threading.Event()
    holder: dict = {}

    def target() -> None:
        asyncio.set_event_loop(loop)
        holder["listening"] = loop.run_until_complete(start(writer, host, 0, 0 if smtp else None, max_bytes))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the inbound server did not start")
    try:
        yield holder["listening"]
    finally:
        listening = holder["listening"]
        loop.call_soon_threadsafe(lambda: [server.close() for server in listening.servers])
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        listening.close()
        writer.stop()
