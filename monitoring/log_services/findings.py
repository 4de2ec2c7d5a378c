"""Findings: update them from collected events, notify about new ones, acknowledge them (audited)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from mailadmin.lib.auth import ACCOUNT_EDITORS, HOLD_EDITORS, Role, has_role
from monitoring import log_rules, log_selectors
from monitoring.log_services._common import _refuse
from monitoring.logparse import DELETING_ACTIONS, ConnectionRecord, MailboxRecord
from monitoring.models import ConnectionEvent, Finding, FindingKind, LogSettings


def _update_findings(
    connections: Sequence[ConnectionRecord],
    mailbox_records: Sequence[MailboxRecord],
    config: LogSettings,
    moment: datetime,
) -> list[int]:
    """Open or bump findings for this batch; returns the ids of newly opened ones."""
    users = {c.username for c in connections if c.protocol == "pop3" and c.username}
    windows = log_selectors.pop3_exception_windows(users)
    hits = log_rules.connection_hits(connections, pop3_windows=lambda u: windows.get(u, ()))
    deleting = [m for m in mailbox_records if m.action in DELETING_ACTIONS]
    if deleting:
        hits += log_rules.hold_deletion_hits(deleting, log_selectors.mailboxes_on_hold())
    hits += _burst_hits(connections, config)
    return [pk for hit in log_rules.merge_hits(hits) if (pk := _record_hit(hit)) is not None]


def _burst_hits(
    connections: Sequence[ConnectionRecord], config: LogSettings
) -> list[log_rules.FindingHit]:
    failures = [c for c in connections if c.outcome in log_rules.BURST_OUTCOMES and c.occurred_at]
    hits: list[log_rules.FindingHit] = []
    window = timedelta(minutes=config.burst_window_minutes)
    for kind, key, field_name in (
        (FindingKind.FAILED_BURST_USER, "username", "username"),
        (FindingKind.FAILED_BURST_CLIENT, "client_ip", "client_ip"),
    ):
        latest: dict[str, datetime] = {}
        for c in failures:
            subject = getattr(c, key)
            if subject and c.occurred_at is not None:
                latest[subject] = max(latest.get(subject, c.occurred_at), c.occurred_at)
        for subject, at in latest.items():
            count = ConnectionEvent.objects.filter(
                **{field_name: subject},
                outcome__in=[o.value for o in log_rules.BURST_OUTCOMES],
                occurred_at__gt=at - window,
                occurred_at__lte=at,
            ).count()
            hit = log_rules.burst_hit(
                kind,
                subject,
                count,
                threshold=config.burst_threshold,
                window_minutes=config.burst_window_minutes,
                at=at,
            )
            if hit is not None:
                hits.append(hit)
    return hits


def _record_hit(hit: log_rules.FindingHit) -> int | None:
    """Bump the open finding of this kind and subject, or open one; the new id or None."""
    finding = (
        Finding.objects.select_for_update()
        .open()
        .filter(kind=hit.kind, subject=hit.subject)
        .first()
    )
    if finding is None:
        finding = Finding.objects.create(
            kind=hit.kind,
            subject=hit.subject[:318],
            domain_name=hit.domain_name,
            severity=hit.severity,
            summary=hit.summary[:300],
            count=hit.count,
            first_seen_at=hit.at,
            last_seen_at=hit.at,
        )
        return finding.pk
    is_burst = hit.kind in (FindingKind.FAILED_BURST_USER, FindingKind.FAILED_BURST_CLIENT)
    # A burst's count is its size (the window is recounted); other kinds count occurrences.
    finding.count = max(finding.count, hit.count) if is_burst else finding.count + hit.count
    finding.last_seen_at = max(finding.last_seen_at, hit.at)
    finding.first_seen_at = min(finding.first_seen_at, hit.at)
    finding.summary = hit.summary[:300]
    finding.save(update_fields=["count", "last_seen_at", "first_seen_at", "summary"])
    return None


def _enqueue_notification(finding_ids: list[int]) -> None:
    from monitoring.tasks import notify_findings_task

    notify_findings_task.delay(finding_ids)


def findings_notify(finding_ids: Iterable[int]) -> int:
    """E-mail superusers and mail administrators about new findings (one message); marks them
    notified. Returns how many findings were in the message (0: nothing to send)."""
    with transaction.atomic():
        findings = list(
            Finding.objects.select_for_update()
            .filter(pk__in=list(finding_ids), notified_at__isnull=True)
            .order_by("kind", "subject")
        )
        if not findings:
            return 0
        recipients = _notification_recipients()
        if recipients:
            subject, body = findings_message(findings)
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        Finding.objects.filter(pk__in=[f.pk for f in findings]).update(notified_at=timezone.now())
    return len(findings)


def _notification_recipients() -> list[str]:
    users = User.objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__name=Role.MAIL_ADMIN)
    )
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def findings_message(findings: Sequence[Finding]) -> tuple[str, str]:
    """(subject, body) of the notification e-mail."""
    subject = f"[mailadmin] {len(findings)} new log finding{'s' if len(findings) != 1 else ''}"
    lines = [
        f"- {f.get_severity_display()}: {f.get_kind_display()} — {f.subject}: {f.summary}"
        for f in findings
    ]
    return subject, "New findings in the mail server logs:\n\n" + "\n".join(lines) + "\n"


def finding_acknowledge(*, finding: Finding, actor: Any, note: str = "") -> Finding:
    """Close a finding; the next occurrence opens a new one. Audited.

    Superusers, mail and domain administrators (their domains' findings) and compliance
    officers may acknowledge; refuses a finding that is already acknowledged.
    """
    if not has_role(actor, ACCOUNT_EDITORS | HOLD_EDITORS) or not (
        Finding.objects.visible_to(actor).filter(pk=finding.pk).exists()
    ):
        raise _refuse("not_allowed")
    with transaction.atomic():
        finding = Finding.objects.select_for_update().get(pk=finding.pk)
        if finding.acknowledged_at is not None:
            who = finding.acknowledged_by.get_username() if finding.acknowledged_by else "someone"
            raise _refuse(
                "already_acknowledged", who=who, when=f"{finding.acknowledged_at:%Y-%m-%d %H:%M}"
            )
        finding.acknowledged_at = timezone.now()
        finding.acknowledged_by = actor
        finding.acknowledge_note = note[:300]
        finding.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledge_note"])
        audit_record(
            actor=actor,
            action=Action.FINDING_ACKNOWLEDGED,
            target=finding,
            details={"kind": finding.kind, "subject": finding.subject, "count": finding.count,
                     "note": finding.acknowledge_note},
        )  # fmt: skip
    return finding
