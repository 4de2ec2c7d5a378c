"""Sizes the way people write them ("2.5 GB", "500 MB") <-> bytes.

KB/MB/GB/TB are decimal (1000), KiB/MiB/GiB/TiB binary (1024), as on disk labels and in IEC.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_UNITS = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*(?P<number>[+-]?[0-9]+(?:[.,][0-9]+)?)\s*(?P<unit>[a-zA-Z]*)\s*$")


class SizeError(ValueError):
    """The text is not a size; the message says why in plain words."""


def parse_size(text: str) -> int:
    """'2.5 GB' -> 2500000000. Refuses negatives, unknown units and fractions of a byte."""
    match = _SIZE_RE.match(text or "")
    if not match:
        raise SizeError(
            f"“{text}” is not a size. Write a number and a unit, like 500 MB or 2.5 GB."
        )
    unit = match["unit"].lower()
    if unit not in _UNITS:
        raise SizeError(
            f"“{match['unit']}” is not a unit we know. Use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB."
        )
    try:
        number = Decimal(match["number"].replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the regex only lets numbers through
        raise SizeError(f"“{text}” is not a number.") from None
    if number < 0:
        raise SizeError("A size cannot be negative. Use 0 for no limit.")
    value = number * _UNITS[unit]
    if value != value.to_integral_value():
        raise SizeError(f"“{text}” is not a whole number of bytes.")
    return int(value)


def format_size(num_bytes: int | None) -> str:
    """2500000000 -> '2.5 GB'; 0 or None -> '0 B'. Decimal units, at most one decimal."""
    if not num_bytes:
        return "0 B"
    value = Decimal(num_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            text = f"{value:.1f}".rstrip("0").rstrip(".") if unit != "B" else f"{value:.0f}"
            return f"{text} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_duration(seconds: float) -> str:
    """3725 -> '1 h 2 min'; 45 -> '45 s'; 0.012 -> '12 ms'."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, _ = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"
