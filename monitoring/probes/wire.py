"""The wire: a socket with a read buffer, every send and read bounded by the run's deadline."""

from __future__ import annotations

import socket
import ssl
from contextlib import suppress

from monitoring.probes._base import ProbeFailure, Status, _Deadline

_MAX_LINE = 64 * 1024


class _Conn:
    """A socket with a read buffer; every send and read is bounded by the run's deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buf = b""
        self.is_tls = False

    def send(self, data: bytes) -> None:
        self.sock.settimeout(self.deadline.remaining())
        self.sock.sendall(data)

    def _fill(self) -> None:
        self.sock.settimeout(self.deadline.remaining())
        chunk = self.sock.recv(16384)
        if not chunk:
            raise ProbeFailure("the server closed the connection")
        self.buf += chunk

    def readline(self) -> str:
        while b"\n" not in self.buf:
            if len(self.buf) > _MAX_LINE:
                raise ProbeFailure("the server sent a line longer than 64 KiB")
            self._fill()
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def read_exact(self, size: int) -> None:
        while len(self.buf) < size:
            self._fill()
        self.buf = self.buf[size:]

    def start_tls(self, ctx: ssl.SSLContext, server_hostname: str) -> ssl.SSLSocket:
        if self.buf:
            # Anything buffered before the handshake would be trusted as if it came over TLS.
            raise ProbeFailure("the server sent data before the TLS handshake (injection)")
        self.sock.settimeout(self.deadline.remaining())
        tls = ctx.wrap_socket(
            self.sock, server_hostname=server_hostname, do_handshake_on_connect=False
        )
        tls.do_handshake()
        self.sock = tls
        self.is_tls = True
        return tls

    def close(self) -> None:
        with suppress(OSError):
            self.sock.close()


def _ok(status: str, command: str) -> None:
    if not status.upper().startswith(("OK", "+OK")):
        raise ProbeFailure(f"{command} failed: {status[:160]}")


def _require_tls(conn: _Conn) -> None:
    if not conn.is_tls:  # the last line of defence: never a password on a plaintext socket
        raise ProbeFailure("refusing to send a password without TLS", Status.UNKNOWN)
