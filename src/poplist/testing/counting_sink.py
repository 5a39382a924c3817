"""A fast SMTP sink on raw asyncio streams: PIPELINING, counts copies per recipient, injects faults.

aiosmtpd (testing/sink.py) is the reference server for correctness tests; this one is for load
and fault tests: it keeps up with the delivery engine (tens of thousands of RCPT/s) and can
answer 421 to every Nth connection, 4xx/5xx to chosen recipients, drop the connection in the
middle of DATA or hang. `python bench/sink.py` runs it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Faults:
    refuse_every: int = 0  # 421 at the greeting of every Nth connection
    rcpt: Callable[[str], bytes | None] = lambda address: None  # a reply line such as b"451 4.3.0 later"
    drop_every: int = 0  # close the connection in the middle of every Nth message's DATA
    hang_every: int = 0  # never answer the end of every Nth message's DATA
    data_reply: Callable[[list[str]], bytes | None] = lambda recipients: None


EHLO_REPLY = b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n"


def fraction(address: str, divisor: int) -> bool:
    """A stable pseudo-random 1/divisor of addresses (the same on every try)."""
    return zlib.crc32(address.encode()) % divisor == 0


@dataclass
class CountingSink:
    host: str = "127.0.0.1"
    port: int = 0
    faults: Faults = field(default_factory=Faults)
    keep: bool = False  # keep every message's bytes (tests) or only count (benchmarks)
    counts: Counter = field(default_factory=Counter)
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    transactions: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}?starttls=no"

    @property
    def delivered(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Commands are read in chunks and answered in one write per chunk: a pipelined burst of 100
        RCPT lines costs one read and one write (readline per command held a bulk benchmark to
        ~50,000 RCPT/s, with the sink using most of a core)."""
        self.connections += 1
        number = self.connections
        try:
            if self.faults.refuse_every and number % self.faults.refuse_every == 0:
                writer.write(b"421 4.3.2 too busy, try later\r\n")
                await writer.drain()
                return
            writer.write(b"220 sink ESMTP\r\n")
            mail_from, rcpts = "", []
            buffer = b""
            while True:
                chunk = await reader.read(262144)
                if not chunk:
                    return
                buffer += chunk
                out: list[bytes] = []
                pos = 0
                while True:
                    end = buffer.find(b"\r\n", pos)
                    if end < 0:
                        break
                    line, pos = buffer[pos:end], end + 2
                    verb = line[:4].upper()
                    if verb == b"RCPT":
                        address = line[8:].strip().strip(b"<>").decode()
                        refusal = self.faults.rcpt(address)
                        if refusal:
                            out.append(refusal + b"\r\n")
                        else:
                            rcpts.append(address)
                            out.append(b"250 2.1.5 ok\r\n")
                    elif verb == b"MAIL":
                        mail_from, rcpts = line[10:].strip().split(b" ")[0].strip(b"<>").decode(), []
                        out.append(b"250 2.1.0 ok\r\n")
                    elif verb == b"DATA":
                        if not rcpts:
                            out.append(b"554 5.5.1 no valid recipients\r\n")
                            continue
                        out.append(b"354 go ahead\r\n")
                        writer.write(b"".join(out))
                        out = []
                        buffer, reply = await self._data(reader, buffer[pos:], mail_from, rcpts)
                        pos = 0
                        if reply is None:
                            return
                        out.append(reply)
                        rcpts = []
                    elif verb == b"EHLO" or verb == b"HELO":
                        out.append(EHLO_REPLY)
                    elif verb == b"RSET":
                        mail_from, rcpts = "", []
                        out.append(b"250 2.0.0 ok\r\n")
                    elif verb == b"QUIT":
                        writer.write(b"".join(out) + b"221 2.0.0 bye\r\n")
                        await writer.drain()
                        return
                    else:
                        out.append(b"250 2.0.0 ok\r\n" if verb == b"NOOP" else b"502 5.5.2 unknown command\r\n")
                buffer = buffer[pos:]
                if out:
                    writer.write(b"".join(out))
                    if writer.transport.get_write_buffer_size() > 1 << 20:
                        await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            writer.close()

    async def _data(self, reader, buffer: bytes, mail_from: str, rcpts: list[str]) -> tuple[bytes, bytes | None]:
        """Read one message's content after 354: (what follows it, the reply), or (b"", None) to hang up."""
        with self.lock:
            self.transactions += 1
            number = self.transactions
        if self.faults.drop_every and number % self.faults.drop_every == 0:
            if not buffer:
                await reader.read(10)  # some of the message, then the line goes dead
            return b"", None
        data = b"\r\n" + buffer  # the end mark may close an empty message: look for it after a CRLF
        start = 0
        while (end := data.find(b"\r\n.\r\n", start)) < 0:
            start = max(len(data) - 4, 0)
            chunk = await reader.read(262144)
            if not chunk:
                raise asyncio.IncompleteReadError(data, None)
            data += chunk
        content, rest = data[2 : end + 2], data[end + 5 :]
        if self.faults.hang_every and number % self.faults.hang_every == 0:
            await asyncio.sleep(3600)
        reply = self.faults.data_reply(rcpts)
        if reply:
            return rest, reply + b"\r\n"
        with self.lock:
            self.counts.update(rcpts)
            if self.keep:
                self.messages.append((mail_from, rcpts, content.replace(b"\r\n..", b"\r\n.")))
        return rest, b"250 2.0.0 queued\r\n"


@contextlib.contextmanager
def run_counting_sink(port: int = 0, **options) -> Iterator[CountingSink]:
    """Serve a CountingSink in a thread of its own until the block ends."""
    sink = CountingSink(**options)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def main() -> asyncio.AbstractServer:
        server = await asyncio.start_server(sink.handle, sink.host, port, limit=64 * 1024 * 1024, backlog=512)
        sink.port = server.sockets[0].getsockname()[1]
        return server

    holder: dict = {}

    def serve() -> None:  # the server starts in its own thread: the caller's may run a loop already
        asyncio.set_event_loop(loop)
        holder["server"] = loop.run_until_complete(main())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    server = holder["server"]
    try:
        yield sink
    finally:

        async def shutdown() -> None:
            server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
