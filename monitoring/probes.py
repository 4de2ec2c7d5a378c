"""IMAP and POP3 health probes: synchronous stdlib code (socket, ssl) with a deadline on every step.

`probe(spec)` never raises: a refused login, a failed handshake or a silent server is a result
(`ProbeOutcome`). The protocol exchanges are small hand-written line clients rather than
imaplib/poplib because those merge the greeting and CAPABILITY into their constructors, hide
the per-phase timings we report, and would happily send LOGIN on a plaintext socket; here a
password is only ever written to a TLS socket whose chain and host name were verified.

Certificates are parsed from DER with `cryptography` (so that an untrusted certificate can
still be described); everything on the wire is stdlib.
"""

from __future__ import annotations

import base64
import concurrent.futures
import functools
import ipaddress
import re
import socket
import ssl
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

PHASES = (
    "dns",
    "connect",
    "tls",
    "greeting",
    "starttls",
    "capability",
    "login",
    "select",
    "logout",
)
_TLS_ORDER = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_TLS_ENUM = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
# A dummy name for the POP3 "bare USER" check: no real account name travels in clear.
_REFUSAL_USER = "mailadmin-plaintext-check"
_MAX_LINE = 64 * 1024
# getaddrinfo() has no timeout of its own: it runs on a small shared pool and is waited for
# with the remaining deadline (a thread, never a process).
_RESOLVER = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe-dns")


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


_SEVERITY = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARNING: 2, Status.CRITICAL: 3}


@dataclass(frozen=True)
class ProbeSpec:
    host: str
    port: int
    protocol: str  # "imap" | "pop3"
    transport: str  # "implicit_tls" | "starttls" | "plaintext_must_refuse"
    expected_name: str
    timeout_seconds: float
    username: str = ""
    password: str = field(default="", repr=False)
    source_address: str | None = None
    min_tls_version: str = "TLSv1.2"
    ca_file: str = ""
    latency_warn_ms: float = 1000
    latency_crit_ms: float = 5000
    cert_days_warn: int = 21
    cert_days_crit: int = 7
    check_downgrade: bool = True
    # Set by the caller when a probe account exists but cannot be used (e.g. unreadable secret).
    login_skipped_reason: str = ""


@dataclass
class TlsInfo:
    version: str = ""
    cipher: str = ""
    subject: str = ""
    issuer: str = ""
    sans: list[str] = field(default_factory=list)
    not_after: datetime | None = None
    days_left: int | None = None
    chain_ok: bool | None = None
    hostname_ok: bool | None = None
    chain_error: str = ""


@dataclass
class ProbeOutcome:
    status: Status
    summary: str
    started_at: datetime
    phases_ms: dict[str, float] = field(default_factory=dict)
    total_ms: float | None = None
    tls: TlsInfo = field(default_factory=TlsInfo)
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class ProbeFailure(Exception):
    def __init__(self, message: str, status: Status = Status.CRITICAL) -> None:
        super().__init__(message)
        self.status = status


class ProbeTimeout(ProbeFailure):
    pass


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise ProbeTimeout(f"no answer within {self.seconds:g} s")
        return left


# --- TLS contexts: built once per process per (CA bundle, version bounds) ---------------------


@functools.lru_cache(maxsize=32)
def ssl_context(ca_file: str, min_version: str, *, verify: bool = True) -> ssl.SSLContext:
    """The verifying client context (chain only: the host name is checked separately)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.minimum_version = _TLS_ENUM[min_version]
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if ca_file:
            ctx.load_verify_locations(cafile=ca_file)
        else:
            ctx.load_default_certs()
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


@functools.lru_cache(maxsize=8)
def downgrade_context(below: str) -> ssl.SSLContext:
    """A context that offers only versions below `below` (the org minimum), for the refusal test."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # deprecated on purpose: we test that servers refuse them
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = _TLS_ENUM[_TLS_ORDER[_TLS_ORDER.index(below) - 1]]
    # OpenSSL 3 refuses TLS < 1.2 at security level >= 1; we must be able to offer it.
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


# --- certificates (pure) -------------------------------------------------------------------------


def describe_certificate(der: bytes, *, now: datetime) -> TlsInfo:
    cert = x509.load_der_x509_certificate(der)
    sans: list[str] = []
    with suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        sans += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    not_after = cert.not_valid_after_utc
    return TlsInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        sans=sans,
        not_after=not_after,
        days_left=int((not_after - now).total_seconds() // 86400),
    )


def _common_names(der: bytes) -> list[str]:
    cert = x509.load_der_x509_certificate(der)
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def hostname_matches(expected: str, sans: Sequence[str], common_names: Sequence[str] = ()) -> bool:
    """RFC 6125: SANs when present (CN only without SANs); '*' only as the whole left label."""
    expected = expected.rstrip(".").lower()
    try:
        wanted_ip = ipaddress.ip_address(expected)
    except ValueError:
        wanted_ip = None
    names = sans or list(common_names)
    for name in names:
        name = name.rstrip(".").lower()
        if wanted_ip is not None:
            with suppress(ValueError):
                if ipaddress.ip_address(name) == wanted_ip:
                    return True
            continue
        if name == expected:
            return True
        if name.startswith("*.") and "." in expected:
            head, _, rest = expected.partition(".")
            if head and rest == name[2:]:
                return True
    return False


# --- the wire ------------------------------------------------------------------------------------


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


def _ok(status: str, command: str) -> None:
    if not status.upper().startswith(("OK", "+OK")):
        raise ProbeFailure(f"{command} failed: {status[:160]}")


def _require_tls(conn: _Conn) -> None:
    if not conn.is_tls:  # the last line of defence: never a password on a plaintext socket
        raise ProbeFailure("refusing to send a password without TLS", Status.UNKNOWN)


# --- one run -------------------------------------------------------------------------------------


class _Run:
    def __init__(self, spec: ProbeSpec, now: datetime) -> None:
        self.spec = spec
        self.now = now
        self.deadline = _Deadline(spec.timeout_seconds)
        self.phases: dict[str, float] = {}
        self.phase = "dns"
        self.tls = TlsInfo()
        self.details: dict[str, Any] = {}
        self.problems: list[tuple[Status, str]] = []
        self.conns: list[_Conn] = []
        self.addrs: list[Any] = []

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        self.phase = phase
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - start) * 1000
            self.phases[phase] = round(self.phases.get(phase, 0.0) + elapsed, 3)

    def resolve(self) -> list[Any]:
        spec = self.spec
        future = _RESOLVER.submit(socket.getaddrinfo, spec.host, spec.port, type=socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=self.deadline.remaining())
        except concurrent.futures.TimeoutError:
            raise ProbeTimeout(f"DNS lookup of {spec.host} took longer than the deadline") from None
        except socket.gaierror as exc:
            raise ProbeFailure(f"DNS lookup of {spec.host} failed: {exc.strerror}") from None
        if spec.source_address:  # only addresses of the source's family can be reached
            family = socket.AF_INET6 if ":" in spec.source_address else socket.AF_INET
            infos = [i for i in infos if i[0] == family]
        if not infos:
            raise ProbeFailure(f"{spec.host} has no address reachable from the source address")
        return infos

    def connect(self, infos: list[Any]) -> _Conn:
        last: OSError | None = None
        for family, kind, proto, _name, sockaddr in infos:
            sock = socket.socket(family, kind, proto)
            try:
                if self.spec.source_address:
                    sock.bind((self.spec.source_address, 0))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.settimeout(self.deadline.remaining())
                sock.connect(sockaddr)
            except ProbeTimeout:
                sock.close()
                raise
            except OSError as exc:
                sock.close()
                last = exc
                continue
            conn = _Conn(sock, self.deadline)
            self.conns.append(conn)
            self.details["address"] = sockaddr[0]
            return conn
        raise last or ProbeFailure("no address to connect to")

    def client(self, conn: _Conn) -> _Imap | _Pop3:
        return _Imap(conn) if self.spec.protocol == "imap" else _Pop3(conn)

    def handshake(self, conn: _Conn, ctx: ssl.SSLContext | None = None) -> None:
        spec = self.spec
        ctx = ctx or ssl_context(spec.ca_file, spec.min_tls_version)
        try:
            tls = conn.start_tls(ctx, spec.expected_name)
        except ssl.SSLCertVerificationError as exc:
            self.tls.chain_ok = False
            self.tls.chain_error = exc.verify_message or str(exc)
            self.inspect_untrusted()
            raise ProbeFailure(
                f"certificate not trusted: {self.tls.chain_error}; nothing was sent"
            ) from None
        except ssl.SSLError as exc:
            raise ProbeFailure(f"TLS handshake failed: {exc.reason or exc}") from None
        self.record_tls(tls, chain_ok=True)
        if not self.tls.hostname_ok:
            raise ProbeFailure(
                f"certificate is for {', '.join(self.tls.sans) or self.tls.subject}, "
                f"not {spec.expected_name}; nothing was sent"
            )

    def record_tls(self, tls: ssl.SSLSocket, *, chain_ok: bool | None) -> None:
        der = tls.getpeercert(binary_form=True)
        info = describe_certificate(der, now=self.now) if der else TlsInfo()
        info.version = tls.version() or ""
        info.cipher = (tls.cipher() or ("",))[0]
        info.chain_ok = chain_ok
        info.chain_error = self.tls.chain_error
        info.hostname_ok = (
            hostname_matches(self.spec.expected_name, info.sans, _common_names(der))
            if der
            else False
        )
        self.tls = info

    def inspect_untrusted(self) -> None:
        """Describe a certificate that failed verification (a second, non-verifying session)."""
        with suppress(ProbeFailure, OSError):
            conn = self.open_tls_session(ssl_context("", self.spec.min_tls_version, verify=False))
            if isinstance(conn.sock, ssl.SSLSocket):
                self.record_tls(conn.sock, chain_ok=False)

    def open_tls_session(self, ctx: ssl.SSLContext) -> _Conn:
        conn = self.connect(self.addrs)
        if self.spec.transport != "implicit_tls":
            client = self.client(conn)
            client.greeting()
            client.starttls()
        conn.start_tls(ctx, self.spec.expected_name)
        return conn

    def check_downgrade(self) -> None:
        minimum = self.spec.min_tls_version
        try:
            conn = self.open_tls_session(downgrade_context(minimum))
        except ssl.SSLError:
            self.details["downgrade"] = f"refused TLS below {minimum}"
            return
        except (ProbeFailure, OSError) as exc:
            self.details["downgrade"] = f"not checked: {exc}"
            return
        accepted = getattr(conn.sock, "version", lambda: "?")()
        self.details["downgrade"] = f"accepted {accepted}"
        self.problems.append(
            (Status.CRITICAL, f"the server accepts {accepted}, below the minimum {minimum}")
        )

    def execute(self) -> None:
        spec = self.spec
        with self.timed("dns"):
            self.addrs = self.resolve()
        with self.timed("connect"):
            conn = self.connect(self.addrs)
        if spec.transport == "implicit_tls":
            with self.timed("tls"):
                self.handshake(conn)
        client = self.client(conn)
        with self.timed("greeting"):
            client.greeting()
        with self.timed("capability"):
            caps = client.capabilities()
        if spec.transport != "implicit_tls":
            self.plaintext_checks(client, caps)
            with self.timed("starttls"):
                client.starttls()
                self.handshake(conn)
            with self.timed("capability"):
                client.capabilities()
        if spec.username and spec.transport != "plaintext_must_refuse":
            with self.timed("login"):
                client.login(spec.username, spec.password)
            with self.timed("select"):
                self.details["mailbox"] = client.select_or_stat()
        elif spec.login_skipped_reason:
            self.problems.append((Status.WARNING, spec.login_skipped_reason))
        with self.timed("logout"):
            client.logout()
        if spec.check_downgrade and spec.min_tls_version != _TLS_ORDER[0]:
            self.check_downgrade()

    def plaintext_checks(self, client: _Imap | _Pop3, caps: set[str]) -> None:
        offer = "STARTTLS" if self.spec.protocol == "imap" else "STLS"
        if offer not in caps:
            raise ProbeFailure(f"the plaintext port does not offer {offer}")
        status, note = client.plaintext_refusal(caps)
        self.details["plaintext_login"] = note
        if status == Status.CRITICAL:
            raise ProbeFailure(note)
        if status != Status.OK:
            self.problems.append((status, note))

    def evaluate(self) -> None:
        spec, tls = self.spec, self.tls
        total = sum(self.phases.values())
        if total >= spec.latency_crit_ms:
            self.problems.append((Status.CRITICAL, f"slow: {total:.0f} ms"))
        elif total >= spec.latency_warn_ms:
            self.problems.append((Status.WARNING, f"slow: {total:.0f} ms"))
        if tls.days_left is not None:
            if tls.days_left < 0:
                self.problems.append((Status.CRITICAL, "certificate expired"))
            elif tls.days_left <= spec.cert_days_crit:
                self.problems.append(
                    (Status.CRITICAL, f"certificate expires in {tls.days_left} days")
                )
            elif tls.days_left <= spec.cert_days_warn:
                self.problems.append(
                    (Status.WARNING, f"certificate expires in {tls.days_left} days")
                )

    def ok_summary(self) -> str:
        spec, tls = self.spec, self.tls
        kind = {"implicit_tls": "TLS", "starttls": "STARTTLS"}.get(spec.transport, "plaintext")
        did = "login" if "login" in self.phases else "no login"
        parts = [f"{spec.protocol.upper()} {kind} {did} in {sum(self.phases.values()):.0f} ms"]
        if tls.version:
            parts.append(tls.version)
        if tls.days_left is not None:
            parts.append(f"certificate valid {tls.days_left} more days")
        return ", ".join(parts)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


def probe(spec: ProbeSpec) -> ProbeOutcome:
    """Run one probe; never raises. Status: the worst problem found, or OK."""
    started_at = datetime.now(UTC)
    run = _Run(spec, started_at)
    error = ""
    try:
        run.execute()
    except ProbeFailure as exc:
        error = f"{exc} (during {run.phase})" if isinstance(exc, ProbeTimeout) else str(exc)
        run.problems.append((exc.status, error))
    except TimeoutError:
        error = f"no answer within {spec.timeout_seconds:g} s (during {run.phase})"
        run.problems.append((Status.CRITICAL, error))
    except ConnectionRefusedError:
        error = f"connection refused by {spec.host}:{spec.port}"
        run.problems.append((Status.CRITICAL, error))
    except OSError as exc:
        error = f"{run.phase}: {exc.strerror or exc}"
        run.problems.append((Status.CRITICAL, error))
    except Exception as exc:  # a probe bug must still be a result
        error = f"probe error in {run.phase}: {type(exc).__name__}: {exc}"
        run.problems.append((Status.UNKNOWN, error))
    finally:
        run.close()
    with suppress(Exception):
        run.evaluate()
    worst = max(run.problems, key=lambda p: _SEVERITY[p[0]], default=None)
    status = worst[0] if worst else Status.OK
    summary = worst[1] if worst else run.ok_summary()
    run.details["problems"] = [f"{s.value}: {m}" for s, m in run.problems]
    return ProbeOutcome(
        status=status,
        summary=summary[:300],
        started_at=started_at,
        phases_ms=dict(run.phases),
        total_ms=round(sum(run.phases.values()), 3) if run.phases else None,
        tls=run.tls,
        error=error,
        details=run.details,
    )
