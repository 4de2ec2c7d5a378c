"""The parser against what the real test Dovecot writes (the corpus is its truth).

One scenario drives logins, refusals of every kind, POP3 with an exception, and mailbox
actions; then every line Dovecot wrote meanwhile must parse (no Unknown) into the expected
records. MAILADMIN_WRITE_CORPUS=1 saves those lines to tests/monitoring/corpus/dovecot.log.
"""

from __future__ import annotations

import imaplib
import itertools
import os
import poplib
import socket
import time
from collections import Counter
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.services import mailbox_create
from monitoring.logparse import (
    ConnectionRecord,
    MailboxRecord,
    NetworkRefusal,
    Outcome,
    Unknown,
    parse_line,
)
from policies.dovecot import REASON_NOT_TLS, REASON_POP3_OFF
from policies.services import mailbox_networks_set, pop3_exception_grant
from tests.factories import DomainFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Tr0ub4dor&3-horse"
CORPUS = Path(__file__).parent / "corpus" / "dovecot.log"
_numbers = itertools.count()


def _message(subject: str) -> bytes:
    return (
        f"From: Sender <sender@example.org>\r\nTo: x@lab.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@lab.test>\r\n\r\nbody\r\n"
    ).encode()


def _imap_session(dovecot, address):
    client = dovecot.imaps()
    client.login(address, PASSWORD)
    client.create("Projects")
    for n in range(3):
        client.append("INBOX", None, None, _message(f"note {n}, with comma"))
    client.select("INBOX")
    client.store("1", "+FLAGS", "\\Seen")
    client.copy("2", "Projects")
    client.store("1", "+FLAGS", "\\Deleted")
    client.expunge()
    client.rename("Projects", "Archive")
    client.delete("Archive")
    client.logout()


def _failures(dovecot, address, other):
    for _ in range(3):
        client = dovecot.imaps()
        with pytest.raises(imaplib.IMAP4.error):
            client.login(address, "wrong-password")
        client.shutdown()
    plain = dovecot.imap()
    with pytest.raises(imaplib.IMAP4.error):
        plain.login(address, PASSWORD)
    plain.shutdown()
    local = dovecot.imap(source="127.0.0.1")
    with pytest.raises(imaplib.IMAP4.error, match="TLS"):
        local.login(address, PASSWORD)
    local.shutdown()
    pop3 = dovecot.pop3s()
    pop3.user(other)
    with pytest.raises(poplib.error_proto):
        pop3.pass_(PASSWORD)
    pop3.close()
    idle = dovecot.imaps()  # connects, never authenticates
    idle.logout()
    raw = socket.create_connection((dovecot.host, dovecot.ports["imaps"]), 5, ("127.0.0.2", 0))
    raw.sendall(b"a001 LOGIN not tls\r\n")  # plaintext on the TLS port: handshake fails
    raw.recv(100)
    raw.close()


def _pop3_with_exception(dovecot, mailbox, superadmin, mail_admin):
    pop3_exception_grant(
        actor=superadmin,
        mailbox=mailbox,
        reason="scanner in the print room",
        approver=mail_admin,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    client = dovecot.pop3s()
    client.user(mailbox.address)
    client.pass_(PASSWORD)
    client.retr(1)
    client.dele(1)
    client.quit()


def _too_many(dovecot, address):
    clients = []
    try:
        for _ in range(12):
            client = dovecot.imaps()
            try:
                client.login(address, PASSWORD)
            except imaplib.IMAP4.error:
                break
            clients.append(client)
    finally:
        for client in clients:
            client.logout()


def test_every_line_the_real_dovecot_writes_parses(dovecot, superadmin, mail_admin):
    domain = DomainFactory(name=f"corpus{next(_numbers)}-{int(time.time())}.test")
    alice = mailbox_create(domain=domain, local_part="alice", password=PASSWORD, actor=superadmin)
    bob = mailbox_create(domain=domain, local_part="bob", password=PASSWORD, actor=superadmin)
    frank = mailbox_create(domain=domain, local_part="frank", password=PASSWORD, actor=superadmin)
    start = dovecot.log_path.stat().st_size

    _imap_session(dovecot, alice.address)
    _failures(dovecot, alice.address, bob.address)
    _pop3_with_exception(dovecot, alice, superadmin, mail_admin)
    mailbox_networks_set(actor=superadmin, mailbox=frank, networks=["10.0.0.0/8"])
    with pytest.raises(imaplib.IMAP4.error):
        dovecot.imaps().login(frank.address, PASSWORD)
    _too_many(dovecot, alice.address)
    dovecot.wait_for_line("Maximum number of connections", alice.address)
    dovecot.wait_for_line("frank", "auth failed")
    time.sleep(0.5)  # the last disconnect lines

    with open(dovecot.log_path, "rb") as log:
        log.seek(start)
        lines = log.read().decode("utf-8", "replace").splitlines()
    if os.environ.get("MAILADMIN_WRITE_CORPUS") == "1":
        CORPUS.parent.mkdir(exist_ok=True)
        CORPUS.write_text("\n".join(lines) + "\n", encoding="utf-8")

    parsed = [parse_line(line, tz=UTC) for line in lines]
    unknown = [p.line for p in parsed if isinstance(p, Unknown)]
    assert unknown == []
    connections = [p for p in parsed if isinstance(p, ConnectionRecord)]
    outcomes = Counter((c.protocol, c.outcome, c.username) for c in connections)
    assert outcomes[("imap", Outcome.LOGIN, alice.address)] >= 2
    # three wrong passwords over TLS, and the plaintext attempt's disconnect (not TLS)
    assert outcomes[("imap", Outcome.AUTH_FAILED, alice.address)] == 4
    failed = [c for c in connections if c.outcome == Outcome.AUTH_FAILED and c.username]
    assert sorted(c.is_tls for c in failed if c.username == alice.address) == [0, 1, 1, 1]
    assert outcomes[("imap", Outcome.PLAINTEXT_DISABLED, "")] == 1
    assert outcomes[("pop3", Outcome.POLICY_REFUSED, bob.address)] == 1
    assert outcomes[("pop3", Outcome.LOGIN, alice.address)] == 1
    assert outcomes[("imap", Outcome.TOO_MANY_CONNECTIONS, alice.address)] == 1
    assert outcomes[("imap", Outcome.TLS_FAILED, "")] == 1
    assert outcomes[("imap", Outcome.ABORTED, "")] == 1
    refusals = {c.reason for c in connections if c.outcome == Outcome.POLICY_REFUSED}
    assert refusals == {REASON_NOT_TLS, REASON_POP3_OFF}
    pop3_logout = next(
        c for c in connections if c.protocol == "pop3" and c.outcome == Outcome.LOGOUT
    )
    assert (pop3_logout.messages_fetched, pop3_logout.messages_deleted) == (1, 1)
    assert (pop3_logout.bytes_out or 0) > 0
    imap_logouts = [c for c in connections if c.protocol == "imap" and c.outcome == Outcome.LOGOUT]
    assert any(c.bytes_in and c.bytes_out for c in imap_logouts)
    logins = [c for c in connections if c.outcome == Outcome.LOGIN]
    assert all(c.is_tls and c.client_ip == "127.0.0.2" and c.tls_version for c in logins)
    nets = [p for p in parsed if isinstance(p, NetworkRefusal)]
    assert [(n.username, n.client_ip) for n in nets] == [(frank.address, "127.0.0.2")]
    actions = Counter((m.action, m.folder) for m in parsed if isinstance(m, MailboxRecord))
    assert actions[("save", "INBOX")] == 3
    assert actions[("copy", "Projects")] == 1
    assert actions[("expunge", "INBOX")] >= 2  # IMAP EXPUNGE and the POP3 DELE
    assert actions[("mailbox_create", "Projects")] == 1
    renamed = next(
        m
        for m in parsed
        if isinstance(m, MailboxRecord) and m.folder == "Projects" and m.action == "mailbox_rename"
    )
    assert renamed.other_folder == "Archive"
    assert actions[("mailbox_delete", "Archive")] == 1
    assert actions[("flag_change", "INBOX")] >= 1
    saved = next(m for m in parsed if isinstance(m, MailboxRecord) and m.action == "save")
    assert saved.subject == "note 0, with comma"
    assert saved.message_id == "note-0,-with-comma@lab.test"
    assert "sender@example.org" in saved.sender
