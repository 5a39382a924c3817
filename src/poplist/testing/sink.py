"""A real SMTP server for tests: aiosmtpd on a free port, keeping what it accepts.

It can answer with chosen codes per recipient, to test how delivery treats refusals.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


@dataclass
class Received:
    mail_from: str
    recipients: list[str]
    data: bytes


@dataclass
class Sink:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Received] = field(default_factory=list)
    # address -> reply such as "550 5.1.1 no such user"; None: accept.
    rcpt_reply: Callable[[str], str | None] = lambda address: None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}?starttls=no"

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for m in self.messages for r in m.recipients]

    async def handle_RCPT(self, server, session, envelope: Envelope, address: str, options) -> str:
        reply = self.rcpt_reply(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 accepted"


@contextlib.contextmanager
def run_sink(**options) -> Iterator[Sink]:
    sink = Sink(**options)
    controller = Controller(sink, hostname="127.0.0.1", port=0, server_kwargs={"enable_SMTPUTF8": True})
    # aiosmtpd picks the port when port=0 only from 1.4.5 on through `_trigger_server`; bind a free one ourselves.
    from socket import socket

    with socket() as probe:
        probe.bind(("127.0.0.1", 0))
        controller.port = probe.getsockname()[1]
    controller.start()
    sink.port = controller.port
    try:
        yield sink
    finally:
        controller.stop()
