"""audit_record(): the only writer of the audit trail, called inside other services' transactions."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

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


def _clean_ip(value: str | None) -> str | None:
    """The address as the database will give it back, or None when it is not an address.

    The hash is computed before the INSERT and the row can never be updated, so the stored value
    must be byte-for-byte what we hashed: PostgreSQL's inet and Django's GenericIPAddressField
    both rewrite IPv6 ("2001:DB8:0::1" -> "2001:db8::1"), and inet refuses zone ids and junk,
    which would make every audited write fail.
    """
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0].strip())
    except ValueError:
        return None
    if address.version == 4:
        return str(address)
    return clean_ipv6_address(str(address))


def _fit(text: str, max_length: int) -> str:
    return text if len(text) <= max_length else text[: max_length - 1] + "…"


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
        actor_repr=_fit(_actor_repr(actor), 200),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        target_repr=_fit(
            target_repr if target_repr is not None else (str(target) if target else ""), 300
        ),
        details=json.loads(json.dumps(details or {}, default=str)),
        source=ctx.source,
        client_ip=_clean_ip(ctx.client_ip),
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


@dataclass(frozen=True)
class ChainProblem:
    """One break in the audit chain, as `audit_verify` reports it."""

    event_id: int
    message: str

    def __str__(self) -> str:
        return f"event {self.event_id}: {self.message}"


CONTENT_CHANGED = "content was changed"
PREVIOUS_MISSING = "previous event missing or altered"


def audit_verify_chain(events: Iterable[AuditEvent] | None = None) -> list[ChainProblem]:
    """Walk the trail in id order and return every break (an empty list: the chain is intact).

    An event whose stored hash differs from the hash of its content was edited. An event whose
    prev_hash is not the hash of the event before it (the genesis hash for the first one) follows
    a deleted, inserted or re-hashed event. Gaps in the ids alone are not breaks: PostgreSQL
    sequences skip the ids of rolled-back transactions. Deleting the newest events leaves no
    trace in the chain itself; compare the count with an earlier run for that.
    """
    if events is None:
        events = AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    problems: list[ChainProblem] = []
    previous_hash = GENESIS_HASH
    for event in events:
        if event.prev_hash != previous_hash:
            problems.append(ChainProblem(event.pk, PREVIOUS_MISSING))
        if event_hash(event) != event.hash:
            problems.append(ChainProblem(event.pk, CONTENT_CHANGED))
        previous_hash = event.hash
    return problems
