"""The audit trail as CSV rows (streamed by audit.views.event_export)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from audit.models import AuditEvent

HEADER = [
    "id",
    "created_at",
    "actor",
    "action",
    "action_label",
    "target_type",
    "target_id",
    "target",
    "details",
    "source",
    "client_ip",
    "prev_hash",
    "hash",
]
# Spreadsheets run cells starting with these as formulas (CSV injection, OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """The text, prefixed with ' when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def event_row(event: AuditEvent) -> list[str]:
    values = [
        str(event.pk),
        event.created_at.isoformat(),
        event.actor_repr,
        event.action,
        event.action_label,
        event.target_type,
        event.target_id,
        event.target_repr,
        json.dumps(event.details, sort_keys=True, ensure_ascii=False, default=str),
        event.source,
        event.client_ip or "",
        event.prev_hash,
        event.hash,
    ]
    return [csv_safe(value) for value in values]


def event_rows(events: Iterable[AuditEvent]) -> Iterator[list[str]]:
    yield HEADER
    for event in events:
        yield event_row(event)
