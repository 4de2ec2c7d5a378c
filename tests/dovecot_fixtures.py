"""Real Dovecot fixtures (session-scoped), registered as a pytest plugin by tests/conftest.py.

`dovecot` starts a private Dovecot (its own base_dir, state_dir, log, certificate and high ports on
127.0.0.1) configured by `manage.py dovecot_config` for the pytest-django test database, through a
least-privilege PostgreSQL role. Nothing is installed: a missing Dovecot fails the run.

Tests that talk to it use `@pytest.mark.django_db(transaction=True)`: Dovecot reads committed
rows from its own connection. A client that must look remote (the `%{secured}` trap, DESIGN.md)
binds its source address to 127.0.0.2: `dovecot.imaps()`, `.imap()`, `.pop3s()`, `.pop3()`.
"""

from __future__ import annotations

import imaplib
import io
import os
import poplib
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOVECOT_PACKAGES = "dovecot-core dovecot-imapd dovecot-pop3d dovecot-pgsql dovecot-sqlite"
CERT_NAME = "mail.lab.test"
REMOTE_SOURCE = "127.0.0.2"
DOVECOT_DB_ROLE = "mailadmin_dovecot"
DOVECOT_DB_PASSWORD = "dovecot-test-only"
STARTUP_SECONDS = 15.0


def _source_socket(host: str, port: int, timeout: float | None, source: str | None):
    address = (source, 0) if source else None
    return socket.create_connection((host, port), timeout, source_address=address)


class SourceIMAP4(imaplib.IMAP4):
    """imaplib.IMAP4 (plaintext port, STARTTLS) from a chosen source address."""

    def __init__(self, host, port, *, source=None, timeout=10.0):
        self.source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return _source_socket(self.host, self.port, timeout, self.source)


class SourceIMAP4_SSL(imaplib.IMAP4_SSL):
    def __init__(self, host, port, *, ssl_context, source=None, timeout=10.0):
        self.source = source
        super().__init__(host, port, ssl_context=ssl_context, timeout=timeout)

    def _create_socket(self, timeout):
        sock = _source_socket(self.host, self.port, timeout, self.source)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class SourcePOP3(poplib.POP3):
    def __init__(self, host, port, *, source=None, timeout=10.0):
        self.source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return _source_socket(self.host, self.port, timeout, self.source)


class SourcePOP3_SSL(poplib.POP3_SSL):
    def __init__(self, host, port, *, context, source=None, timeout=10.0):
        self.source = source
        super().__init__(host, port, context=context, timeout=timeout)

    def _create_socket(self, timeout):
        sock = _source_socket(self.host, self.port, timeout, self.source)
        context: ssl.SSLContext = self.context
        return context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class DovecotServer:
    host: str
    ports: dict[str, int]
    ca_path: Path
    cert_name: str
    log_path: Path
    config_path: Path
    mail_root: Path
    base_dir: Path
    pid: int = 0
    _ssl_context: ssl.SSLContext | None = field(default=None, repr=False)

    def ssl_context(self) -> ssl.SSLContext:
        """One context trusting our CA (building one costs ~16 ms)."""
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context(cafile=str(self.ca_path))
        return self._ssl_context

    def doveadm(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `doveadm -c CONF ARGS`; raises RuntimeError with stderr on failure."""
        done = subprocess.run(
            ["doveadm", "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"doveadm {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}"
            )
        return done

    def imaps(self, *, source: str | None = REMOTE_SOURCE) -> SourceIMAP4_SSL:
        return SourceIMAP4_SSL(
            self.host, self.ports["imaps"], ssl_context=self.ssl_context(), source=source
        )

    def imap(self, *, source: str | None = REMOTE_SOURCE) -> SourceIMAP4:
        """Plaintext port: call .starttls(ssl_context=server.ssl_context()) before logging in."""
        return SourceIMAP4(self.host, self.ports["imap"], source=source)

    def pop3s(self, *, source: str | None = REMOTE_SOURCE) -> SourcePOP3_SSL:
        return SourcePOP3_SSL(
            self.host, self.ports["pop3s"], context=self.ssl_context(), source=source
        )

    def pop3(self, *, source: str | None = REMOTE_SOURCE) -> SourcePOP3:
        """Plaintext port: call .stls(context=server.ssl_context()) before logging in."""
        return SourcePOP3(self.host, self.ports["pop3"], source=source)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, needle: str, *, timeout: float = 15.0) -> str:
        """The log text once it contains `needle` (deadline-bounded polling).

        The log is shared by the whole session: wait for something unique to the test."""
        deadline = time.monotonic() + timeout
        while True:
            # Only whole lines: Dovecot may be half-way through writing the last one.
            text = self.log_text().rpartition("\n")[0]
            if needle in text or time.monotonic() > deadline:
                return text
            time.sleep(0.05)

    def wait_for_line(self, *needles: str, timeout: float = 15.0) -> str:
        """The first log line containing every needle, or "" at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            # Only whole lines: Dovecot may be half-way through writing the last one.
            complete = self.log_text().rpartition("\n")[0]
            for line in complete.splitlines():
                if all(needle in line for needle in needles):
                    return line
            if time.monotonic() > deadline:
                return ""
            time.sleep(0.05)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for mail.lab.test, localhost and 127.0.0.1 (openssl CLI)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "30",
            "-subj", f"/CN={CERT_NAME}",
            "-addext", f"subjectAltName=DNS:{CERT_NAME},DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def ensure_dovecot_role(connection) -> None:
    """A role that can only read the view and write quota usage (idempotent, concurrency-safe)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            DO $$ BEGIN
                CREATE ROLE {DOVECOT_DB_ROLE} LOGIN PASSWORD '{DOVECOT_DB_PASSWORD}';
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$;
            """
        )
        cursor.execute(f"GRANT SELECT ON dovecot_users TO {DOVECOT_DB_ROLE}")
        cursor.execute(f"GRANT SELECT ON dovecot_retention TO {DOVECOT_DB_ROLE}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE ON quota_usage TO {DOVECOT_DB_ROLE}")


def _wait_for_ports(host, ports, deadline, log, process) -> None:
    for port in ports:
        while True:
            try:
                socket.create_connection((host, port), 0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text() if log.exists() else "(no log)"
                    pytest.fail(f"Dovecot did not listen on {host}:{port}. Log:\n{text}")
                time.sleep(0.05)


def _stop(process: subprocess.Popen) -> None:
    """Stop our Dovecot by its pid (SIGTERM; SIGKILL if it does not exit in 10 s)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _mail_owner() -> tuple[str, str]:
    """Dovecot refuses mail access as uid 0: as root the mail processes run as nobody."""
    if os.geteuid() == 0:
        return "nobody", "nogroup"
    user = pwd.getpwuid(os.geteuid())
    return user.pw_name, str(user.pw_gid)


@pytest.fixture(scope="session")
def dovecot(django_db_setup, django_db_blocker):
    """A private, running Dovecot reading the pytest-django test database."""
    if shutil.which("dovecot") is None or shutil.which("doveadm") is None:
        pytest.fail(
            "Dovecot is not installed (dovecot/doveadm not on PATH); the Dovecot tests need it. "
            f"Install: apt-get install {DOVECOT_PACKAGES}"
        )
    from django.core.management import call_command
    from django.db import connection

    # Not under pytest's 0700 basetemp: login and mail processes run unprivileged.
    root = Path(tempfile.mkdtemp(prefix="mailadmin-dovecot-"))
    root.chmod(0o755)
    for name in ("conf", "run", "state", "mail"):
        (root / name).mkdir()
    uid, gid = _mail_owner()
    shutil.chown(root / "mail", uid, gid)
    cert, key = make_certificate(root)
    host = "127.0.0.1"
    ports = dict(zip(("imaps", "imap", "pop3s", "pop3"), free_ports(4), strict=True))
    log = root / "dovecot.log"

    with django_db_blocker.unblock():
        ensure_dovecot_role(connection)
        db = connection.settings_dict
        db_connect = (
            f"host={db.get('HOST') or '127.0.0.1'} port={db.get('PORT') or 5432} "
            f"dbname={db['NAME']} user={DOVECOT_DB_ROLE} password={DOVECOT_DB_PASSWORD}"
        )
        call_command(
            "dovecot_config",
            output=str(root / "conf"),
            listen=host,
            imaps_port=ports["imaps"],
            imap_port=ports["imap"],
            pop3s_port=ports["pop3s"],
            pop3_port=ports["pop3"],
            ssl_cert=str(cert),
            ssl_key=str(key),
            mail_home=f"{root}/mail/%d/%n",
            mail_uid=uid,
            mail_gid=gid,
            base_dir=str(root / "run"),
            state_dir=str(root / "state"),
            log_path=str(log),
            instance_name=f"mailadmin-test-{os.getpid()}",
            db_connect=db_connect,
            driver="pgsql",
            stdout=io.StringIO(),
        )
    config = root / "conf" / "dovecot.conf"
    # -F: stays our child, so we know its pid and it cannot outlive a crashed session silently.
    with open(root / "dovecot.stderr", "wb") as stderr:
        process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
        )
    pid = process.pid
    deadline = time.monotonic() + STARTUP_SECONDS
    server = DovecotServer(
        host=host,
        ports=ports,
        ca_path=cert,
        cert_name=CERT_NAME,
        log_path=log,
        config_path=config,
        mail_root=root / "mail",
        base_dir=root / "run",
        pid=pid,
    )
    try:
        _wait_for_ports(host, list(ports.values()), deadline, log, process)
        yield server
    finally:
        _stop(process)
        if os.environ.get("MAILADMIN_KEEP_DOVECOT") != "1":
            shutil.rmtree(root, ignore_errors=True)
