"""Formatting filters shared by every page."""

from __future__ import annotations

from django import template

from mailadmin.lib.units import format_duration, format_size

register = template.Library()


@register.filter
def size(value: int | None) -> str:
    return format_size(value)


@register.filter
def duration(value: float | None) -> str:
    return "" if value is None else format_duration(value)


@register.filter
def percent_of(used: int | None, limit: int | None) -> int:
    """Whole percent of a limit used, capped at 100; 0 when there is no limit."""
    if not limit or not used:
        return 0
    return min(100, round(used * 100 / limit))
