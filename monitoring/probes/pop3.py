"""A small hand-written POP3 line client (see monitoring/probes/__init__.py for why)."""

from __future__ import annotations

from monitoring.probes._base import ProbeFailure, Status
from monitoring.probes.wire import _Conn, _ok, _require_tls

# A dummy name for the POP3 "bare USER" check: no real account name travels in clear.
_REFUSAL_USER = "mailadmin-plaintext-check"


class _Pop3:
    def __init__(self, conn: _Conn) -> None:
        self.conn = conn

    def command(self, text: str) -> str:
        self.conn.send(f"{text}\r\n".encode())
        return self.conn.readline()

    def greeting(self) -> None:
        line = self.conn.readline()
        if not line.startswith("+OK"):
            raise ProbeFailure(f"unexpected POP3 greeting: {line[:120]}")

    def capabilities(self) -> set[str]:
        first = self.command("CAPA")
        _ok(first, "CAPA")
        caps: set[str] = set()
        while (line := self.conn.readline()) != ".":
            caps.add(line.split(" ", 1)[0].upper())
        return caps

    def plaintext_refusal(self, caps: set[str]) -> tuple[Status, str]:
        reply = self.command(f"USER {_REFUSAL_USER}")
        if reply.startswith("-ERR [AUTH]"):
            return Status.OK, f"USER refused: {reply[:120]}"
        if reply.startswith("+OK"):
            raise ProbeFailure(
                "the plaintext port accepts USER before TLS and would take a password in "
                "clear (PASS was not sent)"
            )
        return Status.WARNING, f"USER refused without [AUTH]: {reply[:120]}"

    def starttls(self) -> None:
        _ok(self.command("STLS"), "STLS")

    def login(self, username: str, password: str) -> None:
        _require_tls(self.conn)
        reply = self.command(f"USER {username}")
        if reply.startswith("+OK"):
            reply = self.command(f"PASS {password}")
        if not reply.startswith("+OK"):
            raise ProbeFailure(f"login refused for {username}: {reply[:160]}")

    def select_or_stat(self) -> str:
        reply = self.command("STAT")
        _ok(reply, "STAT")
        parts = reply.split()
        return f"maildrop has {parts[1] if len(parts) > 1 else '?'} messages"

    def logout(self) -> None:
        _ok(self.command("QUIT"), "QUIT")
