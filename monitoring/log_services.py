"""Log collection writes: read a source into events + checkpoint in one transaction, update
findings, notify, purge; and the audited writes (sources, settings, acknowledging findings).

Collected events are operational data, not audit (like probe results, STYLE.md §10).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as KombuOperationalError

from audit.models import Action
from audit.services import audit_record, changes
from mailadmin.lib.auth import ACCOUNT_EDITORS, HOLD_EDITORS, ORG_EDITORS, Role, has_role
from monitoring import log_rules, log_selectors
from monitoring.collector import DEFAULT_MAX_BYTES, Checkpoint, read_new
from monitoring.logparse import (
    DELETING_ACTIONS,
    ConnectionRecord,
    MailboxRecord,
    NetworkRefusal,
    Outcome,
    Parsed,
    Unknown,
    parse_line,
)
from monitoring.models import (
    LOG_UNKNOWN_SAMPLES,
    ConnectionEvent,
    Finding,
    FindingKind,
    LogSettings,
    LogSource,
    MailboxEvent,
)

logger = logging.getLogger(__name__)

ERRORS = {
    "not_allowed": _("Your role does not allow this."),
    "already_acknowledged": _(
        "This finding was already acknowledged by %(who)s at %(when)s; a new occurrence opens "
        "a new finding."
    ),
    "bad_timezone": _(
        "“%(value)s” is not a time zone we know. Use a name like UTC or Europe/Berlin."
    ),
    "relative_path": _("“%(value)s” is not an absolute path. Give the full path of the log file."),
    "empty_path": _("Give the full path of the log file, for example /var/log/dovecot.log."),
    "duplicate_path": _(
        "The source “%(other)s” already reads %(path)s on %(host)s. Edit that source instead, "
        "or give another path."
    ),
    "duplicate_name": _("There is already a log source named “%(value)s”. Choose another name."),
    "empty_host": _("Give the label of the mail host this file is on, for example mail1."),
    "bad_queue": _(
        "“%(value)s” is not a queue name: use letters, digits, dots, dashes, underscores and "
        "colons (for example logs.mail1), or leave it empty for the default queue."
    ),
    "already_enabled": _("The log source “%(name)s” is already enabled."),
    "already_disabled": _("The log source “%(name)s” is already disabled."),
    "collect_disabled": _(
        "The log source “%(name)s” is disabled, so it is not collected. Enable it first."
    ),
    "queue_unreachable": _(
        "The task queue cannot be reached (%(error)s), so the collection was not started. "
        "Check that the broker (CELERY_BROKER_URL) is running, then try again."
    ),
}
# What Celery's Redis transport and our routing accept without surprises (no spaces, no globs).
QUEUE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
SOURCE_FIELDS = ("name", "path", "host_label", "is_enabled", "queue", "timezone_name")
SETTINGS_FIELDS = (
    "store_sender_subject",
    "burst_threshold",
    "burst_window_minutes",
    "retention_days",
)
MAX_BATCHES = 200


def _refuse(code: str, **params: Any) -> ValidationError:
    return ValidationError(ERRORS[code], code=code, params=params or None)


# --- settings and sources (audited) -----------------------------------------------------------


def log_settings() -> LogSettings:
    """The one settings row; created with the defaults if missing."""
    row, _created = LogSettings.objects.get_or_create(pk=1)
    return row


def log_settings_update(*, actor: Any, values: dict[str, Any]) -> LogSettings:
    """Change the organisation's log settings (superusers and mail administrators)."""
    if not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed")
    with transaction.atomic():
        row = log_settings()
        row = LogSettings.objects.select_for_update().get(pk=row.pk)
        before = {name: getattr(row, name) for name in SETTINGS_FIELDS}
        for name in SETTINGS_FIELDS:
            setattr(row, name, values[name])
        row.full_clean()
        diff = changes(before, {name: getattr(row, name) for name in SETTINGS_FIELDS})
        if diff:
            row.save(update_fields=[*SETTINGS_FIELDS, "updated_at"])
            audit_record(actor=actor, action=Action.LOG_SETTINGS_CHANGED, target=row, details=diff)
    return row


def log_source_create(*, actor: Any, values: dict[str, Any]) -> LogSource:
    """A new log file to collect (superusers and mail administrators).

    Refuses an empty or relative path, a path another source already reads on the same host,
    a name in use, an unknown time zone and a queue name Celery could not route to.
    """
    if not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed")
    _check_source(values)
    with transaction.atomic():
        _check_unique(values, exclude_pk=None)
        source = LogSource(**{name: values[name] for name in SOURCE_FIELDS if name in values})
        source.full_clean()
        source.save()
        audit_record(
            actor=actor,
            action=Action.LOG_SOURCE_CREATED,
            target=source,
            details={name: getattr(source, name) for name in SOURCE_FIELDS},
        )
    return source


def log_source_update(*, actor: Any, source: LogSource, values: dict[str, Any]) -> LogSource:
    """Change a source; a new path starts reading the new file from its beginning.

    Same refusals as log_source_create; `values` may hold only the fields to change.
    """
    if not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed")
    _check_source(values)
    with transaction.atomic():
        source = LogSource.objects.select_for_update().get(pk=source.pk)
        before = {name: getattr(source, name) for name in SOURCE_FIELDS}
        _check_unique({**before, **values}, exclude_pk=source.pk)
        for name in SOURCE_FIELDS:
            setattr(source, name, values.get(name, before[name]))
        source.full_clean()
        diff = changes(before, {name: getattr(source, name) for name in SOURCE_FIELDS})
        if not diff:
            return source
        fields = list(SOURCE_FIELDS)
        if "path" in diff:
            source.file_device = source.file_inode = None
            source.offset_bytes, source.head_hash = 0, ""
            fields += ["file_device", "file_inode", "offset_bytes", "head_hash"]
        source.save(update_fields=fields)
        audit_record(actor=actor, action=Action.LOG_SOURCE_UPDATED, target=source, details=diff)
    return source


def log_source_set_enabled(*, actor: Any, source: LogSource, is_enabled: bool) -> LogSource:
    """Turn collection of a source on or off (audited as an update with before/after).

    Refuses a change to the state the source is already in (a second click, a stale page).
    """
    if not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed")
    with transaction.atomic():
        current = LogSource.objects.select_for_update().get(pk=source.pk)
        if current.is_enabled == is_enabled:
            raise _refuse(
                "already_enabled" if is_enabled else "already_disabled", name=current.name
            )
        return log_source_update(actor=actor, source=current, values={"is_enabled": is_enabled})


@dataclass(frozen=True)
class CollectRequest:
    """Where a source stood when "Collect now" was asked, so a page can tell when a collection
    has run since (last_collected_at moved) and what it read (the counters' growth)."""

    after_us: int
    lines_read: int
    unknown_lines: int


def log_source_collect_request(*, actor: Any, source: LogSource) -> CollectRequest:
    """ "Collect now": enqueue the source's collection on its host's queue after commit.

    Not audited (a collection changes no setting, like "probe now"). Refuses a disabled source
    and says so when the broker cannot be reached.
    """
    if not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed")
    try:
        with transaction.atomic():
            current = LogSource.objects.get(pk=source.pk)
            if not current.is_enabled:
                raise _refuse("collect_disabled", name=current.name)
            snapshot = CollectRequest(
                after_us=timestamp_us(current.last_collected_at),
                lines_read=current.lines_read,
                unknown_lines=current.unknown_lines,
            )
            source_id, queue = current.pk, current.queue
            transaction.on_commit(lambda: _enqueue_collect(source_id, queue))
    except KombuOperationalError as error:
        raise _refuse("queue_unreachable", error=error) from error
    logger.info("collection of %s requested by %s", current, getattr(actor, "username", actor))
    return snapshot


def timestamp_us(moment: datetime | None) -> int:
    """Microseconds since the epoch (0 for never): exact, and safe in a query string."""
    if moment is None:
        return 0
    delta = moment - datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _enqueue_collect(source_id: int, queue: str) -> None:
    from monitoring.tasks import collect_log_source_task

    options: dict[str, Any] = {"queue": queue} if queue else {}
    collect_log_source_task.apply_async(args=(source_id,), **options)


def _check_source(values: dict[str, Any]) -> None:
    if "path" in values and not str(values["path"]).strip():
        raise _refuse("empty_path")
    if "path" in values and not str(values["path"]).startswith("/"):
        raise _refuse("relative_path", value=values["path"])
    if "host_label" in values and not str(values["host_label"]).strip():
        raise _refuse("empty_host")
    if values.get("queue") and not QUEUE_NAME_RE.fullmatch(str(values["queue"])):
        raise _refuse("bad_queue", value=values["queue"])
    if "timezone_name" in values:
        _zone(values["timezone_name"])


def _check_unique(values: dict[str, Any], *, exclude_pk: int | None) -> None:
    """Plain refusals for what the unique constraints would otherwise reject."""
    others = LogSource.objects.exclude(pk=exclude_pk) if exclude_pk else LogSource.objects.all()
    if "name" in values and others.filter(name=values["name"]).exists():
        raise _refuse("duplicate_name", value=values["name"])
    if "path" in values and "host_label" in values:
        other = others.filter(path=values["path"], host_label=values["host_label"]).first()
        if other is not None:
            raise _refuse(
                "duplicate_path", other=other.name, path=other.path, host=other.host_label
            )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _refuse("bad_timezone", value=name) from None


# --- collection ----------------------------------------------------------------------------------


@dataclass
class CollectStats:
    lines: int = 0
    connection_events: int = 0
    mailbox_events: int = 0
    unknown: int = 0
    batches: int = 0
    new_findings: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def collect_due_sources() -> list[int]:
    """Enqueue one collection per enabled source, on the source's queue (its mail host)."""
    ids = []
    for source in LogSource.objects.filter(is_enabled=True).only("pk", "queue"):
        _enqueue_collect(source.pk, source.queue)
        ids.append(source.pk)
    return ids


def collect_source(
    source_id: int,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    now: datetime | None = None,
    on_batch_stored: Callable[[int], None] | None = None,
) -> CollectStats:
    """Read everything new in one source, batch by batch (each batch one transaction).

    `on_batch_stored(batch_number)` runs inside each batch's transaction after its events
    are written and before the checkpoint is: tests raise there to simulate a crash.
    """
    stats = CollectStats()
    for _batch in range(MAX_BATCHES):
        more = _collect_batch(source_id, stats, max_bytes, now, on_batch_stored)
        if not more:
            break
    return stats


def _collect_batch(
    source_id: int,
    stats: CollectStats,
    max_bytes: int,
    now: datetime | None,
    on_batch_stored: Callable[[int], None] | None,
) -> bool:
    with transaction.atomic():
        # The row lock serialises two collectors of one source (a rerun while one still runs).
        source = LogSource.objects.select_for_update().get(pk=source_id)
        result = read_new(Path(source.path), _checkpoint(source), max_bytes=max_bytes)
        moment = now or timezone.now()
        zone = ZoneInfo(source.timezone_name)
        parsed = [parse_line(line, tz=zone) for line in result.lines]
        config = log_settings()
        connections, mailbox_records = _store(source, parsed, config, moment)
        stats.batches += 1
        if on_batch_stored is not None:
            on_batch_stored(stats.batches)
        new = _update_findings(connections, mailbox_records, config, moment)
        _save_checkpoint(source, result.checkpoint, parsed, result.notes, moment)
        if new:
            transaction.on_commit(lambda: _enqueue_notification(new))
    stats.lines += len(result.lines)
    stats.connection_events += len(connections)
    stats.mailbox_events += len(mailbox_records)
    stats.unknown += sum(isinstance(p, Unknown) for p in parsed)
    stats.new_findings += new
    stats.notes += result.notes
    return result.more


def _checkpoint(source: LogSource) -> Checkpoint:
    return Checkpoint(source.file_device, source.file_inode, source.offset_bytes, source.head_hash)


def _save_checkpoint(
    source: LogSource,
    checkpoint: Checkpoint,
    parsed: Sequence[Parsed],
    notes: list[str],
    moment: datetime,
) -> None:
    unknown = [p.line[:500] for p in parsed if isinstance(p, Unknown)]
    source.file_device, source.file_inode = checkpoint.device, checkpoint.inode
    source.offset_bytes, source.head_hash = checkpoint.offset, checkpoint.head_hash
    source.lines_read += len(parsed)
    source.unknown_lines += len(unknown)
    source.unknown_samples = [*source.unknown_samples, *unknown][-LOG_UNKNOWN_SAMPLES:]
    source.last_collected_at = moment
    source.last_error = "; ".join(n for n in notes if "lost" in n or "does not exist" in n)
    source.save(
        update_fields=[
            "file_device",
            "file_inode",
            "offset_bytes",
            "head_hash",
            "lines_read",
            "unknown_lines",
            "unknown_samples",
            "last_collected_at",
            "last_error",
        ]
    )


def _store(
    source: LogSource, parsed: Sequence[Parsed], config: LogSettings, moment: datetime
) -> tuple[list[ConnectionRecord], list[MailboxRecord]]:
    """Insert the batch's events; returns the connection and mailbox records stored."""
    connections = _with_network_refusals(parsed, moment)
    completed = _complete_earlier_refusals(connections)
    connections = [c for c in connections if c.session_id not in completed or not c.session_id]
    mailbox_records = [p for p in parsed if isinstance(p, MailboxRecord)]
    if not config.store_sender_subject:
        mailbox_records = [_without_personal(m) for m in mailbox_records]
    bulk_insert(ConnectionEvent, [_connection_row(source, c, moment) for c in connections])
    bulk_insert(MailboxEvent, [_mailbox_row(source, m, moment) for m in mailbox_records])
    return connections, mailbox_records


def _without_personal(record: MailboxRecord) -> MailboxRecord:
    from dataclasses import replace

    return replace(record, sender="", subject="")


def _with_network_refusals(parsed: Sequence[Parsed], moment: datetime) -> list[ConnectionRecord]:
    """Connection records, where the auth process's allow_nets refusal of a session turns that
    session's "auth failed" line into a network refusal. A refusal whose login line is not in
    this batch is stored on its own (the next batch completes it)."""
    from dataclasses import replace

    refusals = {p.session_id: p for p in parsed if isinstance(p, NetworkRefusal) and p.session_id}
    out: list[ConnectionRecord] = []
    for item in parsed:
        if isinstance(item, ConnectionRecord):
            refusal = refusals.pop(item.session_id, None) if item.session_id else None
            if refusal is not None and item.outcome == Outcome.AUTH_FAILED:
                item = replace(item, outcome=Outcome.NETWORK_REFUSED, reason=refusal.reason)
            out.append(item)
    for refusal in refusals.values():
        out.append(
            ConnectionRecord(
                occurred_at=refusal.occurred_at or moment,
                protocol="",
                username=refusal.username,
                outcome=Outcome.NETWORK_REFUSED,
                reason=refusal.reason,
                client_ip=refusal.client_ip,
                session_id=refusal.session_id,
            )
        )
    return out


def _complete_earlier_refusals(connections: Sequence[ConnectionRecord]) -> set[str]:
    """Sessions whose network refusal was stored by an earlier batch: fill in the login line's
    details there instead of storing a second event. Returns those session ids."""
    failed = {
        c.session_id: c for c in connections if c.outcome == Outcome.AUTH_FAILED and c.session_id
    }
    if not failed:
        return set()
    earlier = ConnectionEvent.objects.filter(
        session_id__in=list(failed), outcome=Outcome.NETWORK_REFUSED, protocol=""
    )
    done = set()
    for event in earlier:
        line = failed[event.session_id]
        event.protocol, event.method, event.is_tls = line.protocol, line.method, line.is_tls
        event.client_port, event.server_ip = line.client_port, _ip(line.server_ip)
        event.server_port, event.listener = line.server_port, line.listener
        event.tls_version, event.auth_attempts = line.tls_version, line.auth_attempts
        event.save(
            update_fields=[
                "protocol", "method", "is_tls", "client_port", "server_ip", "server_port",
                "listener", "tls_version", "auth_attempts",
            ]
        )  # fmt: skip
        done.add(event.session_id)
    return done


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _connection_row(source: LogSource, c: ConnectionRecord, moment: datetime) -> dict[str, Any]:
    return {
        "source_id": source.pk,
        "host": source.host_label,
        "occurred_at": c.occurred_at or moment,
        "protocol": c.protocol[:16],
        "username": c.username[:318],
        "domain_name": log_rules.domain_of(c.username)[:253],
        "outcome": c.outcome.value,
        "reason": c.reason[:300],
        "client_ip": _ip(c.client_ip),
        "client_port": c.client_port,
        "server_ip": _ip(c.server_ip),
        "server_port": c.server_port,
        "is_tls": c.is_tls,
        "tls_version": c.tls_version[:16],
        "method": c.method[:20],
        "session_id": c.session_id[:40],
        "listener": c.listener[:40],
        "auth_attempts": c.auth_attempts,
        "bytes_in": c.bytes_in,
        "bytes_out": c.bytes_out,
        "messages_fetched": c.messages_fetched,
        "messages_deleted": c.messages_deleted,
    }


def _mailbox_row(source: LogSource, m: MailboxRecord, moment: datetime) -> dict[str, Any]:
    return {
        "source_id": source.pk,
        "host": source.host_label,
        "occurred_at": m.occurred_at or moment,
        "service": m.service[:32],
        "username": m.username[:318],
        "domain_name": log_rules.domain_of(m.username)[:253],
        "action": m.action[:24],
        "folder": m.folder[:255],
        "other_folder": m.other_folder[:255],
        "uid": m.uid,
        "message_id": m.message_id[:255],
        "size_bytes": m.size,
        "flags": m.flags[:200],
        "sender": m.sender[:320],
        "subject": m.subject[:300],
        "session_id": m.session_id[:40],
    }


def bulk_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> int:
    """Insert rows in the current transaction: COPY on PostgreSQL, bulk_create elsewhere."""
    if not rows:
        return 0
    columns = list(rows[0])
    if connection.vendor == "postgresql":
        column_of = {f.attname: f.column for f in model._meta.concrete_fields}
        names = ", ".join(connection.ops.quote_name(column_of[c]) for c in columns)
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor behind Django's wrapper: same transaction
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
        return len(rows)
    model._default_manager.bulk_create([model(**row) for row in rows], batch_size=500)
    return len(rows)


# --- findings ------------------------------------------------------------------------------------


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


# --- purge ---------------------------------------------------------------------------------------


def log_events_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete events older than the retention, except those of custodians on legal hold."""
    moment = now or timezone.now()
    cutoff = moment - timedelta(days=log_settings().retention_days)
    held = sorted(log_selectors.mailboxes_on_hold())
    counts = {}
    for name, model in (("connection_events", ConnectionEvent), ("mailbox_events", MailboxEvent)):
        old = model._default_manager.filter(occurred_at__lt=cutoff).exclude(username__in=held)
        counts[name], _ = old.delete()
    return counts
