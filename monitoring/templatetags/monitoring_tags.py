"""Health badges, uptime formatting and the overview's health summary (loads its own data)."""

from __future__ import annotations

from typing import Any

from django import template

from monitoring import selectors
from monitoring.models import State

register = template.Library()

_STATE_CLASS = {
    State.OK: "badge-ok",
    State.WARNING: "badge-warn",
    State.CRITICAL: "badge-crit",
    State.UNKNOWN: "badge-unknown",
}
_STATE_ICON = {State.OK: "✓", State.WARNING: "!", State.CRITICAL: "✕", State.UNKNOWN: "?"}


@register.inclusion_tag("monitoring/_state.html")
def state_badge(state: str) -> dict[str, Any]:
    """Colour and words (never colour alone): e.g. a red badge reading "✕ Critical"."""
    try:
        value = State(state)
    except ValueError:
        value = State.UNKNOWN
    return {"cls": _STATE_CLASS[value], "icon": _STATE_ICON[value], "label": value.label}


@register.filter
def uptime(value: float | str | None) -> str:
    if value is None or isinstance(value, str):
        return "\u2013"
    return f"{value:.2f}\u00a0%" if value < 100 else "100\u00a0%"


@register.filter
def ms(value: float | str | None) -> str:
    """12.3 -> "12 ms"; missing values (None, or "" from a missing object) -> a dash."""
    if value is None or isinstance(value, str):
        return "\u2013"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


@register.filter
def days_class(days: int | None, endpoint: Any) -> str:
    if days is None:
        return ""
    if days <= endpoint.cert_days_crit:
        return "badge badge-crit"
    if days <= endpoint.cert_days_warn:
        return "badge badge-warn"
    return ""


@register.inclusion_tag("monitoring/_overview_health.html")
def health_summary() -> dict[str, Any]:
    """The overview's health panel: counts per state and the failing endpoints (2 queries)."""
    counts = selectors.state_counts()
    return {
        "counts": [(State(s), n) for s, n in counts.items()],
        "total": sum(counts.values()),
        "failing": list(selectors.failing_endpoints()),
    }
