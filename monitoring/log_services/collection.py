"""Collection: read a source into events + checkpoint in one transaction, batch by batch.

Collected events are operational data, not audit (like probe results, STYLE.md §10).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.utils import timezone

from monitoring import log_rules
from monitoring.collector import DEFAULT_MAX_BYTES, Checkpoint, read_new
from monitoring.log_services.findings import _enqueue_notification, _update_findings
from monitoring.log_services.sources import _enqueue_collect, log_settings
from monitoring.logparse import (
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
    LogSettings,
    LogSource,
    MailboxEvent,
)

MAX_BATCHES = 200


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
