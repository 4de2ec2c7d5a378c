"""Reads for the log pages: searches, a mailbox's log summary, findings, the migration
readiness report; and the two facts collection needs from policies (holds, POP3 exceptions)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.apps import apps
from django.db.models import Max, Q, QuerySet

from accounts.models import Domain, Mailbox, QuotaUsage
from monitoring.log_rules import ExceptionWindow
from monitoring.models import LOG_FAILED_OUTCOMES, ConnectionEvent, Finding, MailboxEvent
from policies.models import Pop3Exception

POP3_WINDOW_DAYS = 30
UNUSED_DAYS = 90


def mailboxes_on_hold() -> set[str]:
    """Addresses of the mailboxes that a current legal hold covers (custodian mailboxes and
    every mailbox of a custodian domain). Empty while the policies app has no hold models."""
    try:
        custodian = apps.get_model("policies", "HoldCustodian")
    except LookupError:
        return set()
    current = custodian.objects.filter(removed_at__isnull=True, hold__released_at__isnull=True)
    mailbox_ids = current.exclude(mailbox__isnull=True).values("mailbox_id")
    domain_ids = current.exclude(domain__isnull=True).values("domain_id")
    held = Mailbox.objects.filter(Q(pk__in=mailbox_ids) | Q(domain_id__in=domain_ids))
    return set(held.values_list("address", flat=True))


def pop3_exception_windows(usernames: Iterable[str]) -> dict[str, list[ExceptionWindow]]:
    """address -> every POP3 exception window of that mailbox (one query)."""
    names = list(usernames)
    if not names:
        return {}
    rows = Pop3Exception.objects.filter(mailbox__address__in=names).values_list(
        "mailbox__address", "starts_at", "expires_at", "revoked_at"
    )
    found: dict[str, list[ExceptionWindow]] = defaultdict(list)
    for address, starts, expires, revoked in rows:
        found[address].append(ExceptionWindow(starts, expires, revoked))
    return dict(found)


# --- searches ------------------------------------------------------------------------------------


def connection_search(user: Any, filters: dict[str, Any]) -> QuerySet[ConnectionEvent]:
    """Connection events the user may see, filtered (empty filters are ignored)."""
    events = ConnectionEvent.objects.visible_to(user)
    if filters.get("username"):
        events = events.filter(username=filters["username"])
    if filters.get("client_ip"):
        events = events.filter(client_ip=filters["client_ip"])
    if filters.get("protocol"):
        events = events.filter(protocol=filters["protocol"])
    if filters.get("outcome"):
        events = events.filter(outcome=filters["outcome"])
    if filters.get("failed_only"):
        events = events.filter(outcome__in=LOG_FAILED_OUTCOMES)
    if filters.get("tls") in ("yes", "no"):
        events = events.filter(is_tls=filters["tls"] == "yes")
    return _in_range(events, filters).order_by("-occurred_at", "-id")


def mailbox_event_search(user: Any, filters: dict[str, Any]) -> QuerySet[MailboxEvent]:
    events = MailboxEvent.objects.visible_to(user)
    if filters.get("username"):
        events = events.filter(username=filters["username"])
    if filters.get("action"):
        events = events.filter(action=filters["action"])
    if filters.get("folder"):
        events = events.filter(folder=filters["folder"])
    return _in_range(events, filters).order_by("-occurred_at", "-id")


_Events = TypeVar("_Events", bound=QuerySet[Any])


def _in_range(events: _Events, filters: dict[str, Any]) -> _Events:
    if filters.get("since"):
        events = events.filter(occurred_at__gte=filters["since"])
    if filters.get("until"):
        events = events.filter(occurred_at__lt=filters["until"])
    return events


# --- one mailbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxLogSummary:
    last_logins: dict[str, datetime]
    connections: list[ConnectionEvent]
    failures: list[ConnectionEvent]
    mailbox_events: list[MailboxEvent]
    findings: list[Finding]


def mailbox_log_summary(mailbox: Mailbox, *, limit: int = 10) -> MailboxLogSummary:
    """What the logs say about one mailbox (5 queries, each on the username index)."""
    address = mailbox.address
    events = ConnectionEvent.objects.filter(username=address)
    last = events.filter(outcome="login").values("protocol").annotate(at=Max("occurred_at"))
    return MailboxLogSummary(
        last_logins={row["protocol"]: row["at"] for row in last.order_by("protocol")},
        connections=list(events.order_by("-occurred_at", "-id")[:limit]),
        failures=list(
            events.filter(outcome__in=LOG_FAILED_OUTCOMES).order_by("-occurred_at", "-id")[:limit]
        ),
        mailbox_events=list(
            MailboxEvent.objects.filter(username=address).order_by("-occurred_at", "-id")[:limit]
        ),
        findings=list(Finding.objects.filter(subject=address).order_by("-last_seen_at")[:limit]),
    )


# --- findings ------------------------------------------------------------------------------------


def open_findings(user: Any) -> QuerySet[Finding]:
    return Finding.objects.visible_to(user).open().order_by("-last_seen_at", "-id")


def finding_list(user: Any, *, show: str = "open") -> QuerySet[Finding]:
    findings = Finding.objects.visible_to(user).select_related("acknowledged_by")
    if show == "open":
        findings = findings.open()
    elif show == "acknowledged":
        findings = findings.filter(acknowledged_at__isnull=False)
    return findings.order_by("-last_seen_at", "-id")


# --- migration readiness -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadinessRow:
    address: str
    mailbox_id: int
    is_active: bool
    used_bytes: int
    used_messages: int
    quota_bytes: int
    last_imap_login: datetime | None
    last_pop3_login: datetime | None
    used_pop3_recently: bool
    is_unused: bool


def readiness_rows(domain: Domain, *, now: datetime) -> list[ReadinessRow]:
    """One row per mailbox of the domain (4 queries, whatever the count)."""
    mailboxes = list(Mailbox.objects.in_domain(domain).order_by("address"))
    addresses = [m.address for m in mailboxes]
    usage = QuotaUsage.objects.in_bulk(addresses)
    logins = (
        ConnectionEvent.objects.filter(domain_name=domain.name, outcome="login")
        .values("username", "protocol")
        .annotate(at=Max("occurred_at"))
    )
    last: dict[tuple[str, str], datetime] = {
        (row["username"], row["protocol"]): row["at"] for row in logins
    }
    pop3_since = now - timedelta(days=POP3_WINDOW_DAYS)
    pop3_users = set(
        ConnectionEvent.objects.filter(
            domain_name=domain.name, protocol="pop3", occurred_at__gte=pop3_since
        )
        .exclude(outcome__in=["no_auth", "tls_failed", "aborted"])
        .values_list("username", flat=True)
        .distinct()
    )
    unused_before = now - timedelta(days=UNUSED_DAYS)
    rows = []
    for m in mailboxes:
        imap, pop3 = last.get((m.address, "imap")), last.get((m.address, "pop3"))
        latest = max((t for t in (imap, pop3) if t is not None), default=None)
        found = usage.get(m.address)
        rows.append(
            ReadinessRow(
                address=m.address,
                mailbox_id=m.pk,
                is_active=m.is_active,
                used_bytes=found.bytes if found else 0,
                used_messages=found.messages if found else 0,
                quota_bytes=m.quota_bytes,
                last_imap_login=imap,
                last_pop3_login=pop3,
                used_pop3_recently=m.address in pop3_users,
                is_unused=(latest is None or latest < unused_before)
                and m.created_at < unused_before,
            )
        )
    return rows


@dataclass(frozen=True)
class ReadinessTotals:
    mailboxes: int
    used_bytes: int
    used_messages: int
    pop3_users: int
    unused: int


def readiness_totals(rows: list[ReadinessRow]) -> ReadinessTotals:
    return ReadinessTotals(
        mailboxes=len(rows),
        used_bytes=sum(r.used_bytes for r in rows),
        used_messages=sum(r.used_messages for r in rows),
        pop3_users=sum(r.used_pop3_recently for r in rows),
        unused=sum(r.is_unused for r in rows),
    )
