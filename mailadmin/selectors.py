"""Reads for the overview page."""

from __future__ import annotations

from typing import Any

from django.db.models import F, FloatField, OuterRef, Subquery
from django.db.models.functions import Cast

from accounts.models import Alias, Domain, Mailbox, QuotaUsage


def overview_context(user: Any) -> dict[str, Any]:
    """Counts of what the user can see and the fullest mailboxes (usage relative to quota)."""
    domains = Domain.objects.visible_to(user)
    mailboxes = Mailbox.objects.visible_to(user)
    usage = QuotaUsage.objects.filter(username=OuterRef("address"))
    fullest = (
        mailboxes.filter(quota_bytes__gt=0)
        .select_related("domain")
        .annotate(used_bytes=Subquery(usage.values("bytes")[:1]))
        .filter(used_bytes__gt=0)
        .annotate(fill=Cast(F("used_bytes"), FloatField()) / F("quota_bytes"))
        .order_by("-fill")[:10]
    )
    return {
        "domain_count": domains.count(),
        "mailbox_count": mailboxes.count(),
        "suspended_count": mailboxes.filter(is_active=False).count(),
        "alias_count": Alias.objects.visible_to(user).count(),
        "fullest": list(fullest),
    }
