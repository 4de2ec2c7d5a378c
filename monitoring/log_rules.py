"""Which log records make a finding (pure: no ORM, times are parameters)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from monitoring.logparse import DELETING_ACTIONS, ConnectionRecord, MailboxRecord, Outcome
from monitoring.models import FindingKind, Severity

# Outcomes where a client tried to log in (an idle connection or a failed handshake did not).
ATTEMPT_OUTCOMES = frozenset(
    {
        Outcome.LOGIN,
        Outcome.AUTH_FAILED,
        Outcome.PLAINTEXT_DISABLED,
        Outcome.POLICY_REFUSED,
        Outcome.NETWORK_REFUSED,
        Outcome.TOO_MANY_CONNECTIONS,
    }
)
# What counts towards a failed-login burst: wrong passwords and network refusals.
BURST_OUTCOMES = frozenset({Outcome.AUTH_FAILED, Outcome.NETWORK_REFUSED})


@dataclass(frozen=True)
class FindingHit:
    kind: FindingKind
    subject: str
    severity: Severity
    summary: str
    at: datetime
    count: int = 1

    @property
    def domain_name(self) -> str:
        return domain_of(self.subject)


@dataclass(frozen=True)
class ExceptionWindow:
    starts_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def active_at(self, moment: datetime) -> bool:
        ended = (
            self.expires_at if self.revoked_at is None else min(self.expires_at, self.revoked_at)
        )
        return self.starts_at <= moment < ended


def domain_of(username: str) -> str:
    """The domain part of an address, lower case; "" for anything else (an IP address)."""
    local, at, domain = username.rpartition("@")
    return domain.lower() if at and local else ""


def connection_hits(
    records: Sequence[ConnectionRecord],
    *,
    pop3_windows: Callable[[str], Sequence[ExceptionWindow]],
) -> list[FindingHit]:
    """POP3 attempts without an active exception, attempts without TLS, network refusals."""
    hits: list[FindingHit] = []
    for record in records:
        if record.outcome not in ATTEMPT_OUTCOMES or record.occurred_at is None:
            continue
        at = record.occurred_at
        who = record.username or record.client_ip or ""
        if record.protocol == "pop3" and record.username:
            windows = pop3_windows(record.username)
            if not any(w.active_at(at) for w in windows):
                hits.append(
                    FindingHit(
                        FindingKind.POP3_WITHOUT_EXCEPTION,
                        record.username,
                        Severity.WARNING,
                        "POP3 used without an active POP3 exception "
                        f"({record.outcome}, from {record.client_ip or 'unknown address'}).",
                        at,
                    )
                )
        if not record.is_tls and who:
            hits.append(
                FindingHit(
                    FindingKind.NO_TLS,
                    who,
                    Severity.CRITICAL,
                    f"{record.protocol.upper() or 'A'} login attempted without TLS from "
                    f"{record.client_ip or 'unknown address'} ({record.outcome}): the client "
                    "may have sent the password in clear.",
                    at,
                )
            )
        if record.outcome == Outcome.NETWORK_REFUSED and record.username:
            hits.append(
                FindingHit(
                    FindingKind.NETWORK_REFUSED,
                    record.username,
                    Severity.WARNING,
                    f"Login from {record.client_ip or 'unknown address'} refused by the "
                    "mailbox's allowed networks.",
                    at,
                )
            )
    return hits


def hold_deletion_hits(records: Iterable[MailboxRecord], held: set[str]) -> list[FindingHit]:
    """Informational: a custodian on hold deleted mail (it is preserved, but worth knowing)."""
    return [
        FindingHit(
            FindingKind.HOLD_DELETION,
            record.username,
            Severity.INFO,
            f"{record.action} in {record.folder or 'a folder'} while on legal hold "
            "(the message is preserved).",
            record.occurred_at,
        )
        for record in records
        if record.action in DELETING_ACTIONS
        and record.username in held
        and record.occurred_at is not None
    ]


def burst_hit(
    kind: FindingKind,
    subject: str,
    failures: int,
    *,
    threshold: int,
    window_minutes: int,
    at: datetime,
) -> FindingHit | None:
    """A burst when `failures` in the window ending at `at` reach the threshold."""
    if failures < threshold:
        return None
    what = "this mailbox" if kind == FindingKind.FAILED_BURST_USER else "this client address"
    return FindingHit(
        kind,
        subject,
        Severity.WARNING,
        f"{failures} failed logins for {what} within {window_minutes} minutes "
        f"(threshold {threshold}).",
        at,
        count=failures,
    )


def merge_hits(hits: Iterable[FindingHit]) -> list[FindingHit]:
    """One hit per (kind, subject): counts summed, the latest time and summary kept."""
    merged: dict[tuple[str, str], FindingHit] = {}
    for hit in hits:
        key = (hit.kind, hit.subject)
        seen = merged.get(key)
        if seen is None:
            merged[key] = hit
            continue
        latest = hit if hit.at >= seen.at else seen
        merged[key] = replace(latest, count=seen.count + hit.count)
    return list(merged.values())
