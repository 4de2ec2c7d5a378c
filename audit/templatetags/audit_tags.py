"""How an audit event's details read on the page: "field: old → new", escaped by the template."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import template

register = template.Library()

_MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class DetailLine:
    field: str
    old: str
    new: str
    is_change: bool


def _show(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        text = ", ".join(_show(item) for item in value) or "—"
    elif isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


# Wrappers whose fields read best on their own lines ("created": {...} -> "address: …").
_FLATTENED = {"created", "deleted", "changes", "before", "after"}


def detail_lines(details: Any) -> list[DetailLine]:
    """One line per key: changes ({"old": .., "new": ..}) as old → new, other values as is;
    the fields of a "created"/"deleted"/"changes" record each get their own line."""
    if not isinstance(details, dict):
        return [] if details in (None, "") else [DetailLine("", "", _show(details), False)]
    lines = []
    for key in sorted(details):
        value = details[key]
        if key in _FLATTENED and isinstance(value, dict) and set(value) != {"old", "new"}:
            lines.extend(detail_lines(value))
        elif isinstance(value, dict) and set(value) == {"old", "new"}:
            lines.append(DetailLine(str(key), _show(value["old"]), _show(value["new"]), True))
        else:
            lines.append(DetailLine(str(key), "", _show(value), False))
    return lines


register.filter("detail_lines", detail_lines)


@register.filter
def target_kind(target_type: str) -> str:
    """ "accounts.mailbox" -> "mailbox"."""
    return target_type.rpartition(".")[2].replace("_", " ")
