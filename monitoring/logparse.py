"""Dovecot log lines -> records (DESIGN.md "Log collection"). Pure and total: never raises.

Every line becomes exactly one of: a ConnectionRecord (login-process and session lines about
connections: logins, refusals, failures, logouts with their counters), a MailboxRecord (mail_log
plugin: expunge, save, copy, folder create/delete/rename, flag changes ...), a NetworkRefusal (the
auth process saying allow_nets refused a login; the login process only logs "auth failed" for
those), Ignored (a line we recognise and do not store: start-up, auth chatter) or Unknown
(counted and sampled by the collector, never fatal).

Formats follow Dovecot 2.3 with `log_timestamp = "%Y-%m-%d %H:%M:%S "` and the
login_log_format_elements that policies/dovecot.py generates (rport, lport, %k, listener,
reason=<…>); the default elements parse too. Times are naive in the log: `tz` says which zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum


class Outcome(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    AUTH_FAILED = "auth_failed"
    PLAINTEXT_DISABLED = "plaintext_disabled"
    POLICY_REFUSED = "policy_refused"
    NETWORK_REFUSED = "network_refused"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    TLS_FAILED = "tls_failed"
    NO_AUTH = "no_auth"
    ABORTED = "aborted"
    OTHER = "other"


FAILED_OUTCOMES = frozenset(
    {
        Outcome.AUTH_FAILED,
        Outcome.PLAINTEXT_DISABLED,
        Outcome.POLICY_REFUSED,
        Outcome.NETWORK_REFUSED,
        Outcome.TOO_MANY_CONNECTIONS,
    }
)


@dataclass(frozen=True)
class ConnectionRecord:
    occurred_at: datetime | None
    protocol: str
    username: str
    outcome: Outcome
    reason: str = ""
    client_ip: str | None = None
    client_port: int | None = None
    server_ip: str | None = None
    server_port: int | None = None
    is_tls: bool = False
    tls_version: str = ""
    method: str = ""
    session_id: str = ""
    listener: str = ""
    auth_attempts: int | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    messages_fetched: int | None = None
    messages_deleted: int | None = None


@dataclass(frozen=True)
class MailboxRecord:
    occurred_at: datetime | None
    service: str
    username: str
    action: str
    folder: str = ""
    # The other folder of a copy (its source) or a rename (its new name).
    other_folder: str = ""
    uid: int | None = None
    message_id: str = ""
    size: int | None = None
    flags: str = ""
    sender: str = ""
    subject: str = ""
    session_id: str = ""


@dataclass(frozen=True)
class NetworkRefusal:
    occurred_at: datetime | None
    username: str
    client_ip: str | None
    session_id: str
    reason: str


@dataclass(frozen=True)
class Ignored:
    what: str


@dataclass(frozen=True)
class Unknown:
    line: str


Parsed = ConnectionRecord | MailboxRecord | NetworkRefusal | Ignored | Unknown

MAIL_LOG_ACTIONS = (
    "delete",
    "undelete",
    "expunge",
    "autoexpunge",
    "copy",
    "save",
    "mailbox_create",
    "mailbox_delete",
    "mailbox_rename",
    "flag_change",
)
DELETING_ACTIONS = frozenset({"delete", "expunge", "autoexpunge", "mailbox_delete"})

_LINE = re.compile(
    r"^(?:(?P<ts>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:\.\d+)? )?"
    r"(?P<source>[^:\s][^:]*?): (?P<level>Info|Warning|Error|Fatal|Panic|Debug): (?P<msg>.*)$"
)
# Dovecot's own processes (start-up, configuration, helpers): recognised, not stored.
_SERVICE_SOURCES = frozenset(
    {"master", "log", "ssl-params", "config", "dict", "stats", "anvil", "indexer", "quota-warning"}
)
_LOGIN_SOURCE = re.compile(r"^(?P<proto>[a-z0-9]+)-login$")
_SESSION_SOURCE = re.compile(
    r"^(?P<service>[a-z0-9-]+)\((?P<user>[^)]*)\)(?:<(?P<pid>\d*)>)?(?:<(?P<session>[^>]*)>)?"
)
_AUTH_SOURCE = re.compile(r"^auth(?:-worker)?(?:\(\d+\))?$")
_KEY = re.compile(r"([a-z_]+)=")
_ATTEMPTS = re.compile(r"auth failed, (\d+) attempts")
_MAIL_LOG = re.compile(r"^(?P<action>[a-z_]+)(?: from (?P<source>.*?))?: (?P<fields>.*)$")
_MAIL_LOG_KEYS = ("box", "uid", "msgid", "size", "vsize", "from", "subject", "flags")
# mail_log writes folder events as sentences: "Mailbox renamed: Old -> New".
_FOLDER_EVENT = re.compile(r"^Mailbox (?P<verb>created|deleted|renamed): (?P<names>.*)$")
_FOLDER_ACTIONS = {
    "created": "mailbox_create",
    "deleted": "mailbox_delete",
    "renamed": "mailbox_rename",
}
_IMAP_COUNTERS = re.compile(r"(?:^| )in=(?P<in>\d+) out=(?P<out>\d+)(?P<rest>.*)$")
_POP3_COUNTERS = re.compile(
    r"(?:^| )top=(?P<top>\d+)/(?P<top_bytes>\d+), retr=(?P<retr>\d+)/(?P<retr_bytes>\d+), "
    r"del=(?P<del>\d+)/(?P<total>\d+), size=(?P<size>\d+)"
)
_ALLOW_NETS = re.compile(
    r"^[a-z-]+\((?P<user>[^,)]*),(?P<ip>[^,)]*)(?:,<(?P<session>[^>]*)>)?\): "
    r"allow_nets check failed: (?P<reason>.*)$"
)


def parse_line(line: str, *, tz: tzinfo) -> Parsed:
    """One log line (without its newline) -> one record. Never raises."""
    try:
        return _parse(line.rstrip("\r\n"), tz)
    except Exception:  # totality: a line we choke on is unknown, never fatal
        return Unknown(line)


def _parse(line: str, tz: tzinfo) -> Parsed:
    match = _LINE.match(line)
    if match is None:
        return Unknown(line)
    when = _timestamp(match["ts"], tz)
    source, message = match["source"], match["msg"]
    if login := _LOGIN_SOURCE.match(source):
        return _login_line(when, login["proto"], message) or Unknown(line)
    if session := _SESSION_SOURCE.match(source):
        return _session_line(when, session, message) or Unknown(line)
    if _AUTH_SOURCE.match(source):
        return _auth_line(when, message)
    if source in _SERVICE_SOURCES:
        return Ignored(source)
    return Unknown(line)


def _timestamp(text: str | None, tz: tzinfo) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=tz)
    except ValueError:
        return None


# --- login processes ---------------------------------------------------------------------------


def _login_line(when: datetime | None, protocol: str, message: str) -> ConnectionRecord | None:
    head, sep, tail = message.partition(": user=<")
    if not sep:
        return None
    elements = _elements("user=<" + tail)
    outcome, reason, attempts = _classify(head, elements)
    if outcome == Outcome.POLICY_REFUSED and elements.get("reason"):
        reason = elements["reason"]
    bare = elements.get("", "")
    return ConnectionRecord(
        occurred_at=when,
        protocol=protocol,
        username=elements.get("user", "").lower(),
        outcome=outcome,
        reason=reason[:300],
        client_ip=elements.get("rip") or None,
        client_port=_int(elements.get("rport")),
        server_ip=elements.get("lip") or None,
        server_port=_int(elements.get("lport")),
        is_tls=any(item == "TLS" or item.startswith("TLS:") for item in bare.split("\n")),
        tls_version=_tls_version(bare),
        method=elements.get("method", "")[:20],
        session_id=elements.get("session", "")[:40],
        listener=elements.get("listener", "")[:40],
        auth_attempts=attempts,
    )


def _elements(text: str) -> dict[str, str]:
    """key -> value; bare items (TLS, secured, "TLSv1.3 with cipher ...") joined under "".

    Elements are separated by ", "; a `key=<...>` value runs to the first ">" that ends the
    text or is followed by ", " (a refusal reason may hold commas).
    """
    found: dict[str, str] = {}
    bare: list[str] = []
    pos = 0
    while pos < len(text):
        key_match = _KEY.match(text, pos)
        if key_match and text.startswith("<", key_match.end()):
            value_start = key_match.end() + 1
            close = text.find(">, ", value_start)
            end = close if close >= 0 else len(text) - 1 if text.endswith(">") else len(text)
            found[key_match[1]] = text[value_start:end]
            pos = end + 3
            continue
        end = text.find(", ", pos)
        end = len(text) if end < 0 else end
        item = text[pos:end]
        if key_match:
            found[key_match[1]] = item[len(key_match[0]) :]
        elif item.strip():
            bare.append(item.strip())
        pos = end + 2
    found[""] = "\n".join(bare)
    return found


def _classify(head: str, elements: dict[str, str]) -> tuple[Outcome, str, int | None]:
    """(outcome, reason, auth attempts) from the text before the elements."""
    if head == "Login":
        return Outcome.LOGIN, "", None
    text = head.removeprefix("Disconnected").lstrip(": ").strip()
    lowered = text.lower()
    attempts_match = _ATTEMPTS.search(text)
    attempts = int(attempts_match[1]) if attempts_match else None
    bare = elements.get("", "")
    if "plaintext authentication disabled" in lowered or "disallowed plaintext" in lowered:
        return Outcome.PLAINTEXT_DISABLED, text, attempts
    if "maximum number of connections" in lowered:
        return Outcome.TOO_MANY_CONNECTIONS, text, attempts
    if "successful auths" in lowered:
        return Outcome.POLICY_REFUSED, text, attempts
    if attempts is not None or head.startswith("Login failed") or "auth failed" in lowered:
        return Outcome.AUTH_FAILED, text, attempts
    if "ssl_accept" in lowered or "tls handshak" in lowered or "TLS handshaking" in bare:
        return Outcome.TLS_FAILED, text, attempts
    if "aborted login" in lowered or "didn't finish sasl" in lowered or "aborted" in lowered:
        return Outcome.ABORTED, text, attempts
    if "no auth attempts" in lowered or "before auth was ready" in lowered:
        return Outcome.NO_AUTH, text, attempts
    return Outcome.OTHER, text, attempts


def _tls_version(bare: str) -> str:
    match = re.search(r"\b(TLSv1(?:\.[0-3])?|SSLv3)\b", bare)
    return match[1] if match else ""


def _int(text: str | None) -> int | None:
    if text is None or not text.isdigit():
        return None
    return int(text)


# --- mail processes (imap, pop3, doveadm, lmtp ...) -------------------------------------------


def _session_line(when: datetime | None, source: re.Match[str], message: str) -> Parsed | None:
    user = source["user"].lower()
    session = (source["session"] or "")[:40]
    service = source["service"]
    mail = _MAIL_LOG.match(message)
    if mail and mail["action"] in MAIL_LOG_ACTIONS:
        return _mailbox_record(when, service, user, session, mail)
    if folder := _FOLDER_EVENT.match(message):
        old, _, new = folder["names"].partition(" -> ")
        return MailboxRecord(
            occurred_at=when,
            service=service,
            username=user,
            action=_FOLDER_ACTIONS[folder["verb"]],
            folder=old[:255],
            other_folder=new[:255] if folder["verb"] == "renamed" else "",
            session_id=session,
        )
    if service in {"imap", "pop3"} and (logout := _logout(when, service, user, session, message)):
        return logout
    if service in {"imap", "pop3", "lmtp", "doveadm", "indexer-worker", "quota-warning"}:
        return Ignored(service)
    return None


def _logout(
    when: datetime | None, protocol: str, user: str, session: str, message: str
) -> ConnectionRecord | None:
    imap = _IMAP_COUNTERS.search(message) if protocol == "imap" else None
    pop3 = _POP3_COUNTERS.search(message) if protocol == "pop3" else None
    if imap is None and pop3 is None:
        return None
    counters = imap or pop3
    assert counters is not None  # noqa: S101 - narrowed for mypy: one of the two matched
    reason = message[: counters.start()].removeprefix("Disconnected").lstrip(": ").strip()
    common = {
        "occurred_at": when,
        "protocol": protocol,
        "username": user,
        "outcome": Outcome.LOGOUT,
        "reason": reason[:300],
        "session_id": session,
    }
    if imap is not None:
        extra = dict(re.findall(r"([a-z_]+)=(\d+)", imap["rest"]))
        return ConnectionRecord(
            **common,  # type: ignore[arg-type]  # the keys above are ConnectionRecord fields
            bytes_in=int(imap["in"]),
            bytes_out=int(imap["out"]),
            messages_fetched=_int(extra.get("body_count")),
            messages_deleted=_int(extra.get("expunged")),
        )
    assert pop3 is not None  # noqa: S101 - narrowed for mypy
    return ConnectionRecord(
        **common,  # type: ignore[arg-type]  # the keys above are ConnectionRecord fields
        bytes_out=int(pop3["top_bytes"]) + int(pop3["retr_bytes"]),
        messages_fetched=int(pop3["retr"]),
        messages_deleted=int(pop3["del"]),
    )


def _mailbox_record(
    when: datetime | None, service: str, user: str, session: str, mail: re.Match[str]
) -> MailboxRecord:
    action = mail["action"]
    if action == "mailbox_rename":
        old, _, new = mail["fields"].partition(" -> ")
        return MailboxRecord(
            occurred_at=when,
            service=service,
            username=user,
            action=action,
            folder=old[:255],
            other_folder=new[:255],
            session_id=session,
        )
    fields = mail_log_fields(mail["fields"])
    return MailboxRecord(
        occurred_at=when,
        service=service,
        username=user,
        action=action,
        folder=fields.get("box", "")[:255],
        other_folder=(mail["source"] or "")[:255],
        uid=_int(fields.get("uid")),
        message_id=fields.get("msgid", "").strip("<>")[:255],
        size=_int(fields.get("size")),
        flags=fields.get("flags", "").strip("()")[:200],
        sender=fields.get("from", "")[:320],
        subject=fields.get("subject", "")[:300],
        session_id=session,
    )


def mail_log_fields(text: str) -> dict[str, str]:
    """mail_log's "box=INBOX, uid=1, ..., subject=a, b, flags=(...)" -> key -> value.

    mail_log does not quote values: a subject may hold ", " itself. The keys come in a fixed
    order, so a value runs to the first ", key=" of a key that may still follow (the last one
    after the subject, which is free text followed only by the flags).
    """
    values: dict[str, str] = {}
    rest = text
    while rest:
        key, eq, after = rest.partition("=")
        if not eq or key not in _MAIL_LOG_KEYS:
            break
        later = _MAIL_LOG_KEYS[_MAIL_LOG_KEYS.index(key) + 1 :]
        find = after.rfind if key == "subject" else after.find
        cuts = [i for k in later if (i := find(f", {k}=")) >= 0]
        if not cuts:
            values[key] = after
            break
        values[key] = after[: min(cuts)]
        rest = after[min(cuts) + 2 :]
    return values


# --- the auth process -------------------------------------------------------------------------


def _auth_line(when: datetime | None, message: str) -> Parsed:
    match = _ALLOW_NETS.match(message)
    if match is None:
        return Ignored("auth")
    return NetworkRefusal(
        occurred_at=when,
        username=match["user"].lower(),
        client_ip=match["ip"] or None,
        session_id=(match["session"] or "")[:40],
        reason=f"allow_nets check failed: {match['reason']}"[:300],
    )
