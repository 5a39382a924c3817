"""The SMTP client for posts: persistent connections to one or more relays, pipelined (RFC 2920).

Hand-written on asyncio streams because aiosmtplib reaches ~1,300 messages/s on this machine
(8 connections, loopback) against ~4,900/s for a client that pipelines MAIL/RCPT/DATA on one
core (/work/shared/RECIPES.md). STARTTLS and AUTH PLAIN/LOGIN are used when the relay offers
them and the relay URL asks for them.

`PooledTransport` is the synchronous `Transport` the worker uses: it runs the pool's event loop
in a thread of its own, so connections stay open from one batch to the next.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from poplist.delivery.transport import Envelope, RelayConfig, Result, parse_relay

UNREACHABLE = (421, "4.4.1 relay unreachable")


class SMTPError(Exception):
    """The connection cannot go on (lost, timed out, or the relay closed it with 421)."""


@dataclass(frozen=True)
class Relay:
    config: RelayConfig
    weight: int = 1
    connections: int = 8
    rate: float = 0.0  # messages per second; 0: as fast as it answers


def parse_relays(value: str) -> list[Relay]:
    """`POPLIST_RELAY`: one or more relay URLs, comma-separated, each with optional
    `?weight=N&connections=N&rate=N` (rate: messages per second)."""
    relays = []
    for url in filter(None, (u.strip() for u in value.split(","))):
        query = parse_qs(urlsplit(url).query)
        relays.append(
            Relay(
                parse_relay(url),
                weight=max(int(query.get("weight", ["1"])[0]), 1),
                connections=max(int(query.get("connections", ["8"])[0]), 1),
                rate=float(query.get("rate", ["0"])[0]),
            )
        )
    return relays


class Connection:
    def __init__(self, relay: Relay, timeout: float) -> None:
        self.relay = relay
        self.timeout = timeout
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter
        self.extensions: set[str] = set()
        # Replies read in whole chunks and split here: a pipelined burst of 100 RCPT answers costs one
        # read instead of 100 StreamReader.readline() calls.
        self.lines: collections.deque[bytes] = collections.deque()
        self.partial = b""

    async def _line(self) -> bytes | None:
        if self.lines:
            return self.lines.popleft()
        while True:
            chunk = await self.reader.read(262144)
            if not chunk:
                return None
            parts = (self.partial + chunk).split(b"\n")
            self.partial = parts.pop()
            if parts:
                self.lines.extend(parts)
                return self.lines.popleft()

    async def open(self) -> None:
        cfg = self.relay.config
        context = ssl.create_default_context() if (cfg.tls or cfg.starttls) else None
        try:
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(cfg.host, cfg.port, ssl=context if cfg.tls else None), self.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise SMTPError(f"cannot connect to {cfg.host}:{cfg.port}: {exc}") from exc
        code, text = await self._reply()
        if code != 220:
            raise SMTPError(f"greeting {code} {text}")
        await self._ehlo()
        if cfg.starttls and "STARTTLS" in self.extensions:
            await self._command(b"STARTTLS\r\n", 220)
            await self.writer.start_tls(context, server_hostname=cfg.host)
            await self._ehlo()
        if cfg.username:
            await self._auth(cfg.username, cfg.password or "")

    async def _ehlo(self) -> None:
        self.writer.write(b"EHLO poplist\r\n")
        code, text = await self._reply()
        if code != 250:
            raise SMTPError(f"EHLO refused: {code} {text}")
        self.extensions = {line.split(" ")[0].upper() for line in text.split("\n")[1:]}
        self.auth_line = next((line.upper() for line in text.split("\n") if line.upper().startswith("AUTH")), "")

    async def _auth(self, username: str, password: str) -> None:
        if "LOGIN" in self.auth_line and "PLAIN" not in self.auth_line:
            await self._command(b"AUTH LOGIN\r\n", 334)
            await self._command(base64.b64encode(username.encode()) + b"\r\n", 334)
            await self._command(base64.b64encode(password.encode()) + b"\r\n", 235)
            return
        token = base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode())
        await self._command(b"AUTH PLAIN " + token + b"\r\n", 235)

    async def _command(self, line: bytes, expected: int) -> None:
        self.writer.write(line)
        code, text = await self._reply()
        if code != expected:
            raise SMTPError(f"{line.split(b' ')[0].decode()} refused: {code} {text}")

    async def _reply(self, timed: bool = True) -> tuple[int, str]:
        """One reply; `timed=False` inside a caller's `asyncio.timeout` (wait_for per line costs a task)."""
        lines = []
        while True:
            try:
                line = await (asyncio.wait_for(self._line(), self.timeout) if timed else self._line())
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                raise SMTPError(f"connection lost: {exc or 'timeout'}") from exc
            if line is None:
                raise SMTPError("connection closed by the relay")
            lines.append(line[4:].decode("utf-8", "replace").rstrip("\r\n"))
            if line[3:4] != b"-":
                break
        try:
            code = int(line[:3])
        except ValueError as exc:
            raise SMTPError(f"not an SMTP reply: {line[:80]!r}") from exc
        if code == 421:
            raise SMTPError(f"421 {lines[-1]}")
        return code, "\n".join(lines)

    @staticmethod
    def _commands(envelope: Envelope) -> bytes:
        utf8 = not envelope.mail_from.isascii() or not all(r.isascii() for r in envelope.recipients)
        option = b" SMTPUTF8" if utf8 else b""
        head = [b"MAIL FROM:<" + envelope.mail_from.encode() + b">" + option + b"\r\n"]
        head += [b"RCPT TO:<" + r.encode() + b">\r\n" for r in envelope.recipients]
        head.append(b"DATA\r\n")
        return b"".join(head)

    async def stream(self, envelopes: Sequence[Envelope], take, results: list) -> None:
        """Send envelopes taken one by one from `take()` with one round trip each (RFC 2920): the next
        envelope's MAIL/RCPT/DATA travel in the same write as this one's content. On a lost connection
        the envelopes whose answer is unknown get a 451 and SMTPError is raised."""
        current = take()
        if current is None:
            return
        following = None
        self.writer.write(self._commands(envelopes[current]))
        try:
            while current is not None:
                envelope = envelopes[current]
                async with asyncio.timeout(self.timeout):
                    mail = await self._reply(False)
                    rcpts = [await self._reply(False) for _ in envelope.recipients]
                    data = await self._reply(False)
                    result = Result({r: reply for r, reply in zip(envelope.recipients, rcpts, strict=True)})
                    accepted = [r for r, reply in zip(envelope.recipients, rcpts, strict=True) if 200 <= reply[0] < 300]
                    if mail[0] >= 400:
                        result = Result({r: mail for r in envelope.recipients})
                        accepted = []
                    following = take()
                    after = self._commands(envelopes[following]) if following is not None else b""
                    if data[0] == 354:
                        # Content (or an empty end when no recipient was accepted) plus the next envelope.
                        self.writer.write((_dot_stuff(envelope.data) if accepted else b".\r\n") + after)
                        final = await self._reply(False)
                    else:
                        self.writer.write(after)
                        final = data
                    for r in accepted:
                        result.replies[r] = final
                results[current] = result
                current, following = following, None
        except (SMTPError, TimeoutError, OSError) as exc:
            for index in (current, following):
                if index is not None and results[index] is None:
                    results[index] = Result(
                        {r: (451, f"4.4.2 {exc or 'timeout'}") for r in envelopes[index].recipients}
                    )
            raise SMTPError(str(exc) or "timeout") from exc

    async def send(self, envelope: Envelope) -> Result:
        utf8 = not envelope.mail_from.isascii() or not all(r.isascii() for r in envelope.recipients)
        option = b" SMTPUTF8" if utf8 else b""
        head = [b"MAIL FROM:<" + envelope.mail_from.encode() + b">" + option + b"\r\n"]
        head += [b"RCPT TO:<" + r.encode() + b">\r\n" for r in envelope.recipients]
        head.append(b"DATA\r\n")
        if "PIPELINING" in self.extensions:
            self.writer.write(b"".join(head))
            replies = [await self._reply() for _ in head]
        else:  # one command at a time; stop at a refused MAIL
            replies = []
            for line in head:
                self.writer.write(line)
                replies.append(await self._reply())
                if replies[0][0] >= 400:
                    replies += [replies[0]] * (len(head) - len(replies))
                    break
        mail, rcpts, data = replies[0], replies[1:-1], replies[-1]
        if mail[0] >= 400:
            if data[0] == 354:  # a relay that took DATA anyway: end it empty, it has no recipient
                self.writer.write(b".\r\n")
                await self._reply()
            return Result({r: mail for r in envelope.recipients})
        accepted = [r for r, reply in zip(envelope.recipients, rcpts, strict=True) if 200 <= reply[0] < 300]
        result = Result({r: reply for r, reply in zip(envelope.recipients, rcpts, strict=True)})
        if data[0] != 354:
            if not accepted:
                return result
            for r in accepted:
                result.replies[r] = data
            return result
        if not accepted:  # no recipient but DATA went through: send an empty end
            self.writer.write(b".\r\n")
            await self._reply()
            return result
        self.writer.write(_dot_stuff(envelope.data))
        final = await self._reply()
        for r in accepted:
            result.replies[r] = final
        return result

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.write(b"QUIT\r\n")
            await asyncio.wait_for(self.writer.drain(), 1)
            self.writer.close()


def _dot_stuff(data: bytes) -> bytes:
    data = data.replace(b"\r\n.", b"\r\n..")
    if data.startswith(b"."):
        data = b"." + data
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


class Pool:
    """Connections to the relays, shared by the envelopes of one `send_all` and kept between calls."""

    def __init__(self, relays: list[Relay], *, timeout: float = 60.0, per_domain: int = 0) -> None:
        self.relays = relays
        self.timeout = timeout
        self.idle: list[Connection] = []
        self.per_domain = per_domain
        self.domain_slots: dict[str, asyncio.Semaphore] = {}
        self.next_send: dict[int, float] = {}
        self.unreachable = False
        # Slots by weight: relay i gets weight_i / sum(weights) of the connections.
        self.slots = [r for r in relays for _ in range(r.weight)]
        self.size = max(sum(r.connections for r in relays), 1)

    async def send_all(self, envelopes: Sequence[Envelope]) -> list[Result]:
        results: list[Result | None] = [None] * len(envelopes)
        queue = list(range(len(envelopes)))[::-1]

        async def runner(slot: int) -> None:
            connection: Connection | None = None
            attempts = 0
            while queue:
                if connection is None:
                    connection = await self._connect(slot)
                    if connection is None:
                        attempts += 1
                        if attempts >= 3:  # every relay refused this runner thrice: the rest waits
                            return
                        await asyncio.sleep(0.1 * attempts)
                        continue
                if not queue:  # the others took the rest while this one connected
                    break
                if "PIPELINING" in connection.extensions and not self.per_domain and not connection.relay.rate:
                    try:
                        await connection.stream(envelopes, lambda: queue.pop() if queue else None, results)
                    except SMTPError:
                        # Lost with its connection: the relay may or may not have the copies in flight (the
                        # window of docs/architecture.md); they are retried, never recorded as sent.
                        await connection.close()
                        connection = None
                    continue
                index = queue.pop()
                envelope = envelopes[index]
                await self._pace(connection.relay)
                try:
                    async with self._domain_slot(envelope):
                        results[index] = await connection.send(envelope)
                except SMTPError as exc:
                    results[index] = Result({r: (451, f"4.4.2 {exc}") for r in envelope.recipients})
                    await connection.close()
                    connection = None
            if connection is not None:
                self.idle.append(connection)

        workers = min(self.size, len(envelopes))
        await asyncio.gather(*(runner(i) for i in range(workers)))
        # Envelopes no connection could take: the relays are down, the job waits for them.
        self.unreachable = any(r is None for r in results)
        return [
            r if r is not None else Result({x: UNREACHABLE for x in e.recipients})
            for r, e in zip(results, envelopes, strict=True)
        ]

    async def _connect(self, slot: int) -> Connection | None:
        while self.idle:  # an idle connection the relay may have closed meanwhile: check it first
            connection = self.idle.pop()
            try:
                connection.writer.write(b"RSET\r\n")
                if (await connection._reply())[0] == 250:
                    return connection
            except (SMTPError, OSError):
                pass
            await connection.close()
        # Weighted choice by slot, then failover through the others in order.
        start = slot % len(self.slots)
        order = [self.slots[start]] + [r for r in self.relays if r is not self.slots[start]]
        for relay in order:
            connection = Connection(relay, self.timeout)
            try:
                await connection.open()
                return connection
            except SMTPError:
                await connection.close()
        return None

    async def _pace(self, relay: Relay) -> None:
        if not relay.rate:
            return
        key = id(relay)
        now = time.monotonic()
        at = max(self.next_send.get(key, now), now)
        self.next_send[key] = at + 1 / relay.rate
        if at > now:
            await asyncio.sleep(at - now)

    def _domain_slot(self, envelope: Envelope):
        if not self.per_domain or not envelope.recipients:
            return contextlib.nullcontext()
        domain = envelope.recipients[0].rpartition("@")[2].lower()
        if domain not in self.domain_slots:
            self.domain_slots[domain] = asyncio.Semaphore(self.per_domain)
        return self.domain_slots[domain]

    async def close(self) -> None:
        while self.idle:
            await self.idle.pop().close()


class PooledTransport:
    """A `Transport` over a Pool whose event loop runs in its own thread."""

    def __init__(self, relays: list[Relay], *, timeout: float = 60.0, per_domain: int = 0) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="smtp-pool", daemon=True)
        self.thread.start()
        self.pool = Pool(relays, timeout=timeout, per_domain=per_domain)

    @property
    def unreachable(self) -> bool:
        return self.pool.unreachable

    def send_many(self, envelopes: Sequence[Envelope]) -> list[Result]:
        return self.submit(envelopes)()

    def submit(self, envelopes: Sequence[Envelope]):
        """Start sending in the pool's thread; returns a function that waits for the results."""
        if not envelopes:
            return list
        future = asyncio.run_coroutine_threadsafe(self.pool.send_all(envelopes), self.loop)
        return future.result

    def close(self) -> None:
        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self.pool.close(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
