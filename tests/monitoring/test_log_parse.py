"""The pure parser: the corpus (real Dovecot lines + DESIGN.md), totality, finding rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring import log_rules
from monitoring.logparse import (
    ConnectionRecord,
    Ignored,
    MailboxRecord,
    NetworkRefusal,
    Outcome,
    Unknown,
    mail_log_fields,
    parse_line,
)
from monitoring.models import FindingKind

CORPUS = Path(__file__).parent / "corpus"


def corpus_lines(name):
    return (CORPUS / name).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", ["dovecot.log", "design.log"])
def test_every_corpus_line_is_understood(name):
    parsed = [parse_line(line, tz=UTC) for line in corpus_lines(name)]
    assert [p for p in parsed if isinstance(p, Unknown)] == []
    assert all(p.occurred_at is not None for p in parsed if hasattr(p, "occurred_at"))


def test_design_lines_give_the_documented_records():
    parsed = [parse_line(line, tz=UTC) for line in corpus_lines("design.log")]
    login, imap_out, pop3_out, plain, failed, internal, refused, nets, too_many, exp, auto = parsed
    assert login == ConnectionRecord(
        occurred_at=datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC),
        protocol="imap",
        username="alice@lab.test",
        outcome=Outcome.LOGIN,
        client_ip="127.0.0.1",
        server_ip="127.0.0.1",
        is_tls=True,
        method="PLAIN",
        session_id="6FOt3SdhwN1/AAAB",
    )
    assert (imap_out.outcome, imap_out.bytes_in, imap_out.bytes_out) == (Outcome.LOGOUT, 32, 806)
    assert imap_out.session_id == "6FOt3SdhwN1/AAAB"
    assert (pop3_out.bytes_out, pop3_out.messages_fetched, pop3_out.messages_deleted) == (742, 1, 1)
    assert (plain.outcome, plain.username, plain.is_tls) == (Outcome.PLAINTEXT_DISABLED, "", False)
    assert (failed.outcome, failed.auth_attempts) == (Outcome.AUTH_FAILED, 1)
    assert internal.outcome == Outcome.POLICY_REFUSED
    assert internal.reason == "Connection closed (internal failure, 1 successful auths)"
    assert refused.reason == "POP3 access is not enabled for this account."
    assert (refused.client_port, refused.server_port, refused.listener) == (54586, 10995, "pop3s")
    assert refused.tls_version == "TLSv1.3"
    assert nets == NetworkRefusal(
        occurred_at=datetime(2024, 5, 1, 10, 0, 7, tzinfo=UTC),
        username="frank@lab.test",
        client_ip="127.0.0.1",
        session_id="M00n8SdhKd5/AAAB",
        reason="allow_nets check failed: IP 127.0.0.1 not in allowed networks",
    )
    assert too_many.outcome == Outcome.TOO_MANY_CONNECTIONS
    assert (exp.action, exp.folder, exp.uid, exp.size) == ("expunge", "INBOX", 1, 503)
    assert exp.message_id == "179567404689.11706@lab.test"
    assert (exp.sender, exp.subject, exp.flags) == (
        "sender@example.org",
        "evidence 0",
        "\\Deleted \\Recent",
    )
    assert (auto.action, auto.folder) == ("autoexpunge", "Trash")


def test_real_lines_of_each_kind():
    lines = corpus_lines("dovecot.log")
    by_text = {line: parse_line(line, tz=UTC) for line in lines}

    def first(needle):
        return next(p for line, p in by_text.items() if needle in line)

    assert first("Mailbox renamed").other_folder == "Archive"
    assert first("Mailbox created").action == "mailbox_create"
    assert first("Mailbox deleted").action == "mailbox_delete"
    copy = first("copy from INBOX")
    assert (copy.action, copy.folder, copy.other_folder) == ("copy", "Projects", "INBOX")
    assert first("Aborted login").outcome == Outcome.ABORTED
    tls = first("SSL_accept")
    assert (tls.outcome, tls.is_tls, tls.client_ip) == (Outcome.TLS_FAILED, False, "127.0.0.2")
    local = first("secured")
    assert (local.outcome, local.is_tls) == (Outcome.POLICY_REFUSED, False)
    assert local.reason == "Logins require TLS: use IMAPS/POP3S or STARTTLS first."
    assert first("Password mismatch") == Ignored("auth")
    save = first("save: box=INBOX, uid=1")
    assert save.subject == "note 0, with comma"
    assert save.sender == "Sender <sender@example.org>"


def test_timestamps_are_read_in_the_sources_zone():
    line = corpus_lines("design.log")[0]
    record = parse_line(line, tz=ZoneInfo("Europe/Berlin"))
    assert record.occurred_at == datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        "2024-05-01 10:00:00 imap-login: Info: Login: no elements here",
        "2024-05-01 10:00:00 something(odd: Info: x",
        "2024-05-01 99:99:99 imap-login: Info: Login: user=<a@b>, rip=not-an-ip",
        "2024-05-01 10:00:00 imap(a@b)<1><s>: Info: expunge: box=",
    ],
)
def test_odd_lines_never_raise(line):
    assert isinstance(
        parse_line(line, tz=UTC), ConnectionRecord | MailboxRecord | Ignored | Unknown
    )


@given(st.text(max_size=300))
def test_parse_is_total(text):
    parse_line(text, tz=UTC)
    parse_line("2024-05-01 10:00:00 imap-login: Info: Login: user=<" + text, tz=UTC)
    parse_line("2024-05-01 10:00:00 imap(a@b.c)<1><x>: Info: save: box=" + text, tz=UTC)


def test_mail_log_fields_keep_commas_in_the_subject():
    fields = mail_log_fields("box=INBOX, uid=7, subject=a, b, flags=x, flags=(\\Seen)")
    assert fields == {"box": "INBOX", "uid": "7", "subject": "a, b, flags=x", "flags": "(\\Seen)"}


# --- finding rules ---------------------------------------------------------------------------

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _record(**values):
    base = {
        "occurred_at": AT,
        "protocol": "imap",
        "username": "ann@example.test",
        "outcome": Outcome.LOGIN,
        "client_ip": "192.0.2.7",
        "is_tls": True,
    }
    return ConnectionRecord(**{**base, **values})


def test_pop3_without_an_active_exception_is_a_finding():
    window = log_rules.ExceptionWindow(AT - timedelta(days=1), AT + timedelta(days=1), None)
    revoked = log_rules.ExceptionWindow(AT - timedelta(days=1), AT + timedelta(days=1), AT)
    pop3 = _record(protocol="pop3")
    assert log_rules.connection_hits([pop3], pop3_windows=lambda u: [window]) == []
    hits = log_rules.connection_hits([pop3], pop3_windows=lambda u: [revoked])
    assert [(h.kind, h.subject) for h in hits] == [
        (FindingKind.POP3_WITHOUT_EXCEPTION, "ann@example.test")
    ]


def test_attempts_without_tls_are_findings_but_idle_connections_are_not():
    hits = log_rules.connection_hits(
        [
            _record(is_tls=False, outcome=Outcome.PLAINTEXT_DISABLED, username=""),
            _record(is_tls=False, outcome=Outcome.NO_AUTH, username=""),
        ],
        pop3_windows=lambda u: [],
    )
    assert [(h.kind, h.subject, h.severity) for h in hits] == [
        (FindingKind.NO_TLS, "192.0.2.7", "critical")
    ]
    assert hits[0].domain_name == ""


def test_burst_needs_the_threshold():
    assert (
        log_rules.burst_hit(
            FindingKind.FAILED_BURST_USER, "a@b.c", 4, threshold=5, window_minutes=10, at=AT
        )
        is None
    )
    hit = log_rules.burst_hit(
        FindingKind.FAILED_BURST_USER, "a@b.c", 5, threshold=5, window_minutes=10, at=AT
    )
    assert hit.summary == "5 failed logins for this mailbox within 10 minutes (threshold 5)."


def test_hold_deletions_only_for_held_mailboxes():
    records = [
        MailboxRecord(AT, "imap", "held@x.test", "expunge", folder="INBOX"),
        MailboxRecord(AT, "imap", "held@x.test", "save", folder="INBOX"),
        MailboxRecord(AT, "imap", "free@x.test", "expunge", folder="INBOX"),
    ]
    hits = log_rules.merge_hits(log_rules.hold_deletion_hits(records, {"held@x.test"}))
    assert [(h.kind, h.subject, h.count) for h in hits] == [
        (FindingKind.HOLD_DELETION, "held@x.test", 1)
    ]


def test_merge_sums_counts_and_keeps_the_latest():
    early = log_rules.FindingHit(FindingKind.NO_TLS, "x", "critical", "early", AT)
    late = log_rules.FindingHit(FindingKind.NO_TLS, "x", "critical", "late", AT + timedelta(1))
    (merged,) = log_rules.merge_hits([late, early])
    assert (merged.count, merged.summary, merged.at) == (2, "late", AT + timedelta(1))
