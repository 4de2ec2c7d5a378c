"""audit_record(): the only writer of the audit trail, called inside other services' transactions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from audit.context import current
from audit.models import Action, AuditEvent

GENESIS_HASH = "0" * 64
# Serialises writers on PostgreSQL so that each event chains to the one before it.
_CHAIN_LOCK_KEY = 727_001


def event_hash(event: AuditEvent) -> str:
    """The SHA-256 over the event's content and the previous hash (canonical JSON)."""
    payload = {
        "prev": event.prev_hash,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor": event.actor_repr,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target": event.target_repr,
        "details": event.details,
        "source": event.source,
        "client_ip": event.client_ip,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _actor_repr(actor: Any) -> str:
    if actor is None:
        return "system"
    return str(getattr(actor, "get_username", lambda: str(actor))())


def audit_record(
    *,
    actor: Any,
    action: Action,
    target: models.Model | None = None,
    target_repr: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event, chained to the previous one. Must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record() must be called inside the service's transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    ctx = current()
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_repr=_actor_repr(actor),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        target_repr=target_repr if target_repr is not None else (str(target) if target else ""),
        details=json.loads(json.dumps(details or {}, default=str)),
        source=ctx.source,
        client_ip=ctx.client_ip,
        prev_hash=last or GENESIS_HASH,
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    return event


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{"field": {"old": .., "new": ..}} for the fields whose value differs."""
    return {
        key: {"old": before.get(key), "new": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
