"""A small LMTP client that reads one reply per recipient after DATA (smtplib's LMTP reads one).

Used by the tests and bench/inbound.py to talk to the server over a real socket.
"""

from __future__ import annotations

import contextlib
import re
import socket

Reply = tuple[int, str]


class LMTPClient:
    def __init__(self, host: str, port: int, timeout: float = 30.0, *, smtp: bool = False) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one command per packet, no 40 ms stalls
        self.file = self.sock.makefile("rb")
        self.reply()  # greeting
        self.command(f"{'EHLO' if smtp else 'LHLO'} client.test")

    def reply(self) -> Reply:
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("connection closed")
            lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            if line[3:4] != b"-":
                break
        return int(lines[-1][:3]), "\n".join(text[4:] for text in lines)

    def command(self, line: str) -> Reply:
        self.sock.sendall(line.encode("utf-8") + b"\r\n")
        return self.reply()

    def send(self, mail_from: str, recipients: list[str], raw: bytes) -> dict[str, Reply]:
        """Each recipient's final reply: its RCPT refusal, or its reply after DATA."""
        params = " SMTPUTF8" if not (mail_from + "".join(recipients)).isascii() else ""
        code, text = self.command(f"MAIL FROM:<{mail_from}> BODY=8BITMIME{params}")
        if code != 250:
            self.command("RSET")
            return {r: (code, text) for r in recipients}
        results: dict[str, Reply] = {}
        accepted = []
        for recipient in recipients:
            reply = self.command(f"RCPT TO:<{recipient}>")
            if reply[0] == 250:
                accepted.append(recipient)
            else:
                results[recipient] = reply
        if not accepted:
            self.command("RSET")
            return results
        code, text = self.command("DATA")
        if code != 354:
            return {**results, **{r: (code, text) for r in accepted}}
        self.sock.sendall(stuffed(raw) + b".\r\n")
        for recipient in accepted:
            results[recipient] = self.reply()
            if results[recipient][0] >= 500 and results[recipient][1].startswith(("Line", "Message too big")):
                for other in accepted:  # a refusal of the whole DATA comes once
                    results[other] = results[recipient]
                break
        return results

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.command("QUIT")
        self.sock.close()

    def __enter__(self) -> LMTPClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def stuffed(raw: bytes) -> bytes:
    """CRLF line ends and dot-stuffing (RFC 5321 4.5.2), ending with CRLF."""
    raw = re.sub(rb"\r?\n", b"\r\n", raw)
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", raw)
