"""A small hand-written IMAP line client (see monitoring/probes/__init__.py for why)."""

from __future__ import annotations

import base64
import re

from monitoring.probes._base import ProbeFailure, Status
from monitoring.probes.wire import _Conn, _ok, _require_tls

_LITERAL = re.compile(r"\{(\d+)\}$")


class _Imap:
    def __init__(self, conn: _Conn) -> None:
        self.conn = conn
        self.seq = 0

    def _line(self) -> str:
        line = self.conn.readline()
        while (m := _LITERAL.search(line)) is not None:  # skip literals in untagged data
            self.conn.read_exact(int(m[1]))
            line = self.conn.readline()
        return line

    def greeting(self) -> None:
        line = self._line()
        if not line.startswith("* OK"):
            raise ProbeFailure(f"unexpected IMAP greeting: {line[:120]}")

    def command(self, text: str) -> tuple[list[str], str]:
        self.seq += 1
        tag = f"p{self.seq}"
        self.conn.send(f"{tag} {text}\r\n".encode())
        return self._until(tag)

    def _until(self, tag: str) -> tuple[list[str], str]:
        untagged: list[str] = []
        while True:
            line = self._line()
            if line.startswith(tag + " "):
                return untagged, line[len(tag) + 1 :]
            untagged.append(line)

    def capabilities(self) -> set[str]:
        untagged, status = self.command("CAPABILITY")
        _ok(status, "CAPABILITY")
        caps: set[str] = set()
        for line in untagged:
            if line.upper().startswith("* CAPABILITY "):
                caps.update(line[13:].upper().split())
        return caps

    def plaintext_refusal(self, caps: set[str]) -> tuple[Status, str]:
        if "LOGINDISABLED" in caps:
            return Status.OK, "LOGINDISABLED advertised"
        self.seq += 1
        tag = f"p{self.seq}"
        self.conn.send(f"{tag} AUTHENTICATE PLAIN\r\n".encode())
        line = self._line()
        if line.startswith("+"):
            self.conn.send(b"*\r\n")  # cancel: no credentials are ever sent
            self._until(tag)
            return Status.CRITICAL, (
                "the plaintext port accepts a login before TLS (no LOGINDISABLED, "
                "AUTHENTICATE PLAIN was answered with a continuation; no password was sent)"
            )
        status = line[len(tag) + 1 :] if line.startswith(tag + " ") else self._until(tag)[1]
        if "[PRIVACYREQUIRED]" in status.upper():
            return Status.OK, "AUTHENTICATE PLAIN refused with [PRIVACYREQUIRED]"
        if status.upper().startswith(("NO", "BAD")):
            return Status.OK, f"AUTHENTICATE PLAIN refused: {status[:120]}"
        return Status.CRITICAL, f"the plaintext port answered AUTHENTICATE with {status[:120]}"

    def starttls(self) -> None:
        _untagged, status = self.command("STARTTLS")
        _ok(status, "STARTTLS")

    def login(self, username: str, password: str) -> None:
        _require_tls(self.conn)
        self.seq += 1
        tag = f"p{self.seq}"
        self.conn.send(f"{tag} AUTHENTICATE PLAIN\r\n".encode())
        line = self._line()
        if not line.startswith("+"):
            raise ProbeFailure(f"login refused for {username}: {line[:160]}")
        token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
        self.conn.send(f"{token}\r\n".encode())
        status = self._until(tag)[1]
        if not status.upper().startswith("OK"):
            raise ProbeFailure(f"login refused for {username}: {status[:160]}")

    def select_or_stat(self) -> str:
        untagged, status = self.command("SELECT INBOX")
        _ok(status, "SELECT INBOX")
        exists = next((ln.split()[1] for ln in untagged if ln.upper().endswith(" EXISTS")), "?")
        return f"INBOX has {exists} messages"

    def logout(self) -> None:
        _untagged, status = self.command("LOGOUT")
        _ok(status, "LOGOUT")
