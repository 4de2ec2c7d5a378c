"""A mailbox's effective policy, with the reason for each right, in words an admin understands.

Pure: no ORM, no clock (`now` is a parameter). The Dovecot view (policies/migrations) encodes the
same rules in SQL; tests/policies/test_view_agrees.py proves the two agree.

Precedence: a suspended domain or mailbox refuses login (and so IMAP and POP3). IMAP: the most
specific setting wins (mailbox, then domain, then organisation). POP3: only an exception that has
started, has not expired and was not revoked. TLS: always required; only the minimum version varies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

TLS_LABELS = {"TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}


@dataclass(frozen=True)
class Right:
    """One right and why."""

    allowed: bool
    reason: str


@dataclass(frozen=True)
class ExceptionFacts:
    """One POP3 exception as the decision sees it."""

    starts_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    reason: str
    approver: str

    def is_active(self, now: datetime) -> bool:
        """Started, not yet expired (expires_at is exclusive) and never revoked."""
        return self.revoked_at is None and self.starts_at <= now < self.expires_at


@dataclass(frozen=True)
class PolicyFacts:
    """Everything the decision needs, already loaded (see policies.selectors)."""

    org_imap_enabled: bool
    min_tls_version: str
    domain_name: str
    domain_active: bool
    domain_imap_enabled: bool | None
    mailbox_address: str
    mailbox_active: bool
    mailbox_imap_enabled: bool | None
    allowed_networks: tuple[str, ...] = ()
    exceptions: tuple[ExceptionFacts, ...] = ()


@dataclass(frozen=True)
class EffectivePolicy:
    """The rights of one mailbox at one instant.

    `tls.allowed` is always True and means "logins are accepted over TLS only"; a login without
    TLS is never accepted. `networks.allowed` is True when any network may log in, False when only
    the listed networks may (`allowed_networks`).
    """

    login: Right
    imap: Right
    pop3: Right
    tls: Right
    networks: Right
    active_exception: ExceptionFacts | None
    min_tls_version: str = "TLSv1.2"
    allowed_networks: tuple[str, ...] = ()


def effective_policy(facts: PolicyFacts, *, now: datetime) -> EffectivePolicy:
    """Decide every right of one mailbox at `now` (an aware datetime)."""
    suspension = _suspension(facts)
    active = active_exception(facts.exceptions, now=now)
    return EffectivePolicy(
        login=_login(facts, suspension),
        imap=_imap(facts, suspension),
        pop3=_pop3(facts, suspension, active, now=now),
        tls=tls_right(facts.min_tls_version),
        networks=_networks(facts.allowed_networks),
        active_exception=active if suspension is None else None,
        min_tls_version=facts.min_tls_version,
        allowed_networks=facts.allowed_networks,
    )


def active_exception(
    exceptions: tuple[ExceptionFacts, ...], *, now: datetime
) -> ExceptionFacts | None:
    """The active exception that lasts longest, or None."""
    active = [e for e in exceptions if e.is_active(now)]
    return max(active, key=lambda e: e.expires_at) if active else None


def tls_right(min_tls_version: str) -> Right:
    label = TLS_LABELS.get(min_tls_version, min_tls_version)
    return Right(True, f"{label} or newer required on every connection (cannot be turned off)")


def format_moment(moment: datetime) -> str:
    """'2027-02-01' at midnight UTC, else '2027-02-01 14:30 UTC'."""
    utc = moment.astimezone(UTC)
    if utc.time() == time(0, 0):
        return f"{utc:%Y-%m-%d}"
    return f"{utc:%Y-%m-%d %H:%M} UTC"


def _suspension(facts: PolicyFacts) -> str | None:
    if not facts.domain_active:
        return f"domain {facts.domain_name} is suspended"
    if not facts.mailbox_active:
        return f"mailbox {facts.mailbox_address} is suspended"
    return None


def _login(facts: PolicyFacts, suspension: str | None) -> Right:
    if suspension is not None:
        return Right(False, f"Login refused: {suspension}")
    return Right(True, f"Login allowed: mailbox and domain {facts.domain_name} are active")


def _imap(facts: PolicyFacts, suspension: str | None) -> Right:
    if suspension is not None:
        return Right(False, f"IMAP off: {suspension}")
    if facts.mailbox_imap_enabled is not None:
        on = facts.mailbox_imap_enabled
        verb = "turns it on" if on else "turns it off"
        return Right(on, f"IMAP {'on' if on else 'off'}: mailbox {facts.mailbox_address} {verb}")
    if facts.domain_imap_enabled is not None:
        on = facts.domain_imap_enabled
        verb = "turns it on" if on else "turns it off"
        return Right(on, f"IMAP {'on' if on else 'off'}: domain {facts.domain_name} {verb}")
    on = facts.org_imap_enabled
    return Right(on, f"IMAP {'on' if on else 'off'}: organisation default")


def _pop3(
    facts: PolicyFacts,
    suspension: str | None,
    active: ExceptionFacts | None,
    *,
    now: datetime,
) -> Right:
    if suspension is not None:
        return Right(False, f"POP3 off: {suspension}")
    if active is not None:
        return Right(
            True,
            f"POP3 allowed until {format_moment(active.expires_at)} by exception approved by "
            f"{active.approver}: '{active.reason}'",
        )
    pending = sorted(
        (e for e in facts.exceptions if e.revoked_at is None and e.starts_at > now),
        key=lambda e: e.starts_at,
    )
    if pending:
        first = pending[0]
        return Right(
            False,
            f"POP3 off until {format_moment(first.starts_at)}, when the exception approved by "
            f"{first.approver} starts",
        )
    return Right(
        False,
        "POP3 off: no active exception (POP3 is only allowed by an approved, expiring exception)",
    )


def _networks(allowed_networks: tuple[str, ...]) -> Right:
    if not allowed_networks:
        return Right(True, "Any network: no network restriction on this mailbox")
    listed = ", ".join(allowed_networks)
    return Right(False, f"Only from {listed}: logins from other networks are refused")
