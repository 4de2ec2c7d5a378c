"""One run of a probe: resolve, connect, TLS, greeting, log in, select, log out, each phase timed;
`probe(spec)` never raises."""

from __future__ import annotations

import concurrent.futures
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

from monitoring.probes._base import (
    _SEVERITY,
    ProbeFailure,
    ProbeOutcome,
    ProbeSpec,
    ProbeTimeout,
    Status,
    TlsInfo,
    _Deadline,
)
from monitoring.probes.imap import _Imap
from monitoring.probes.pop3 import _Pop3
from monitoring.probes.tls import (
    _TLS_ORDER,
    _common_names,
    describe_certificate,
    downgrade_context,
    hostname_matches,
    ssl_context,
)
from monitoring.probes.wire import _Conn

# getaddrinfo() has no timeout of its own: it runs on a small shared pool and is waited for
# with the remaining deadline (a thread, never a process).
_RESOLVER = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe-dns")


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
