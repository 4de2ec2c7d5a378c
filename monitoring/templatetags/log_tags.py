"""The mailbox page's log panel, the overview's findings summary and outcome badges."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count

from monitoring import log_selectors
from monitoring.log_forms import OUTCOME_LABELS
from monitoring.logparse import Outcome
from monitoring.models import LOG_FAILED_OUTCOMES, FindingKind, Severity

register = template.Library()

_SEVERITY_CLASS = {
    Severity.INFO: "badge-info",
    Severity.WARNING: "badge-warn",
    Severity.CRITICAL: "badge-crit",
}


@register.inclusion_tag("monitoring/logs/_mailbox_panel.html", takes_context=True)
def mailbox_log_panel(context: dict[str, Any], mailbox: Any) -> dict[str, Any]:
    """Last logins, recent connections, failures, mailbox events and findings (5 queries)."""
    return {
        "mailbox": mailbox,
        "summary": log_selectors.mailbox_log_summary(mailbox, limit=5),
        "full_page": False,
        "request": context.get("request"),
        "can_acknowledge": context.get("can_edit_accounts") or context.get("can_edit_holds"),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("monitoring/logs/_overview_findings.html", takes_context=True)
def findings_summary(context: dict[str, Any]) -> dict[str, Any]:
    """Open findings per kind and the five latest, for the user's scope (2 queries)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    findings = log_selectors.open_findings(user)
    counts = {
        row["kind"]: row["n"] for row in findings.order_by().values("kind").annotate(n=Count("id"))
    }
    return {
        "counts": [(FindingKind(k).label, n) for k, n in sorted(counts.items())],
        "total": sum(counts.values()),
        "latest": list(findings[:5]),
    }


@register.filter
def outcome_label(value: str) -> str:
    try:
        return str(OUTCOME_LABELS[Outcome(value)])
    except ValueError:
        return value


@register.filter
def outcome_class(value: str) -> str:
    if value == Outcome.LOGIN:
        return "badge badge-ok"
    if value in LOG_FAILED_OUTCOMES or value == Outcome.TLS_FAILED:
        return "badge badge-crit" if value != Outcome.AUTH_FAILED else "badge badge-warn"
    return "badge"


@register.filter
def severity_class(value: str) -> str:
    return (
        "badge " + _SEVERITY_CLASS.get(Severity(value), "") if value in Severity.values else "badge"
    )
