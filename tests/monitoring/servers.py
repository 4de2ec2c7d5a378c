"""Tiny local IMAP/POP3/TCP servers and certificates for probe tests (127.0.0.1 only)."""

from __future__ import annotations

import base64
import datetime as dt
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# --- certificates -----------------------------------------------------------------------------


@dataclass
class Ca:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    path: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(directory: Path, cn: str = "Probe Test CA") -> Ca:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{cn.replace(' ', '_')}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Ca(key, cert, path)


def make_leaf(
    ca: Ca, directory: Path, names: list[str], *, days_before: int = 1, days_after: int = 90
) -> tuple[Path, Path]:
    """(cert_path, key_path) for a leaf valid from now-days_before to now+days_after."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=days_before))
        .not_valid_after(now + dt.timedelta(days=days_after))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    stem = f"{names[0]}-{days_after}"
    cert_path = directory / f"{stem}.crt"
    key_path = directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(
    cert_path: Path,
    key_path: Path,
    *,
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    max_version: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if min_version < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


# --- servers ----------------------------------------------------------------------------------


@dataclass
class Behaviour:
    protocol: str = "imap"  # "imap" | "pop3" | "silent"
    implicit_tls: ssl.SSLContext | None = None
    starttls: ssl.SSLContext | None = None
    logindisabled: bool = False
    auth_plain_before_tls: str = "continue"  # "continue" | "privacy" | "no"
    user_reply_before_tls: str = "-ERR [AUTH] Plaintext authentication disallowed."
    password: str = "probe-secret-pw"
    greeting_delay: float = 0.0


@dataclass
class Recorder:
    received: list[bytes] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, data: bytes) -> None:
        with self.lock:
            self.received.append(data)

    @property
    def all_bytes(self) -> bytes:
        with self.lock:
            return b"".join(self.received)


class _Lines:
    def __init__(self, sock: socket.socket, recorder: Recorder) -> None:
        self.sock, self.recorder, self.buf = sock, recorder, b""

    def readline(self) -> str | None:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.recorder.add(chunk)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode()

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode() + b"\r\n")


def _serve_imap(sock: socket.socket, b: Behaviour, rec: Recorder) -> None:
    tls = b.implicit_tls is not None
    if b.implicit_tls is not None:
        sock = b.implicit_tls.wrap_socket(sock, server_side=True)
    io = _Lines(sock, rec)
    io.send("* OK test IMAP ready")
    while (line := io.readline()) is not None:
        tag, _, rest = line.partition(" ")
        cmd = rest.split(" ", 1)[0].upper()
        if cmd == "CAPABILITY":
            caps = "IMAP4rev1 AUTH=PLAIN"
            if not tls and b.starttls is not None:
                caps += " STARTTLS"
            if not tls and b.logindisabled:
                caps += " LOGINDISABLED"
            io.send(f"* CAPABILITY {caps}")
            io.send(f"{tag} OK done")
        elif cmd == "STARTTLS" and b.starttls is not None and not tls:
            io.send(f"{tag} OK begin TLS")
            sock = b.starttls.wrap_socket(sock, server_side=True)
            io = _Lines(sock, rec)
            tls = True
        elif cmd == "AUTHENTICATE":
            if not tls and b.auth_plain_before_tls == "privacy":
                io.send(f"{tag} NO [PRIVACYREQUIRED] Plaintext authentication disallowed.")
                continue
            if not tls and b.auth_plain_before_tls == "no":
                io.send(f"{tag} NO not now")
                continue
            io.send("+ ")
            data = io.readline()
            if data is None:
                return
            if data == "*":
                io.send(f"{tag} BAD Authentication aborted")
                continue
            _, _user, pw = base64.b64decode(data).decode().split("\0")
            if pw == b.password:
                io.send(f"{tag} OK Logged in")
            else:
                io.send(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.")
        elif cmd == "LOGIN":
            io.send(f"{tag} OK Logged in")
        elif cmd == "SELECT":
            io.send("* 3 EXISTS")
            io.send(f"{tag} OK [READ-WRITE] Select completed")
        elif cmd == "LOGOUT":
            io.send("* BYE bye")
            io.send(f"{tag} OK Logout completed")
            return
        else:
            io.send(f"{tag} BAD unknown")


def _serve_pop3(sock: socket.socket, b: Behaviour, rec: Recorder) -> None:
    tls = b.implicit_tls is not None
    if b.implicit_tls is not None:
        sock = b.implicit_tls.wrap_socket(sock, server_side=True)
    io = _Lines(sock, rec)
    io.send("+OK test POP3 ready")
    while (line := io.readline()) is not None:
        cmd = line.split(" ", 1)[0].upper()
        if cmd == "CAPA":
            io.send("+OK")
            io.send("USER")
            if not tls and b.starttls is not None:
                io.send("STLS")
            io.send(".")
        elif cmd == "STLS" and b.starttls is not None and not tls:
            io.send("+OK begin TLS")
            sock = b.starttls.wrap_socket(sock, server_side=True)
            io = _Lines(sock, rec)
            tls = True
        elif cmd == "USER":
            io.send("+OK" if tls else b.user_reply_before_tls)
        elif cmd == "PASS":
            ok = tls and line[5:] == b.password
            io.send("+OK Logged in." if ok else "-ERR [AUTH] Authentication failed.")
        elif cmd == "STAT":
            io.send("+OK 2 320")
        elif cmd == "QUIT":
            io.send("+OK Logging out.")
            return
        else:
            io.send("-ERR unknown")


class LocalServer:
    """A threaded server on 127.0.0.1:<free port>; use as a context manager."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.recorder = Recorder()
        self._stop = threading.Event()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.recorder.connections += 1
                sock = self.request
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                try:
                    if outer.behaviour.protocol == "silent":
                        outer._stop.wait(30)
                    elif outer.behaviour.protocol == "imap":
                        _serve_imap(sock, outer.behaviour, outer.recorder)
                    else:
                        _serve_pop3(sock, outer.behaviour, outer.recorder)
                except (OSError, ssl.SSLError, ValueError):
                    pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


class WebhookServer:
    """An HTTP server on 127.0.0.1 that records JSON POSTs and answers `status`."""

    def __init__(self, status: int = 204) -> None:
        import http.server
        import json

        self.posts: list[dict] = []
        self.status = status
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                outer.posts.append(
                    {"json": json.loads(body), "content_type": self.headers.get("Content-Type")}
                )
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
