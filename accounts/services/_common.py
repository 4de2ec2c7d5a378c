"""Helpers shared by the account services: snapshots for audit details, sizes in messages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models


def snapshot(obj: models.Model, fields: tuple[str, ...]) -> dict[str, Any]:
    """The audit view of an object: the given fields' current values."""
    return {field: getattr(obj, field) for field in fields}


def size_text(num_bytes: int) -> str:
    """Sizes in refusals, always with one decimal ("2.5 GB", "1.0 GB") so they read alike."""
    value = Decimal(max(num_bytes, 0))
    if value < 1000:
        return f"{value:.0f} B"
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def counted(count: int, singular: str, plural: str) -> str:
    """'1 mailbox', '3 mailboxes'."""
    return f"{count} {singular if count == 1 else plural}"


def listing(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
