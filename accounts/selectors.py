"""Reads for the accounts pages: lists with filters, usage joined by address, domain figures.

Usage comes from QuotaUsage (written by Dovecot, keyed by address, no foreign key). Lists fetch
one page of mailboxes and then that page's usage in one query (`attach_usage`): a correlated
subquery would also run for every row skipped by OFFSET on the last page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import idna
from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Alias, Domain, Mailbox, QuotaUsage
from accounts.rules import domain_to_unicode
from audit.models import AuditEvent


def mailbox_list(
    user: Any,
    *,
    q: str = "",
    domain: Domain | int | None = None,
    status: str = "",
    order_by: str = "address",
) -> QuerySet[Mailbox]:
    """Mailboxes the user may see, filtered; `order_by` must come from a whitelist."""
    mailboxes = Mailbox.objects.visible_to(user).select_related("domain")
    if domain is not None:
        mailboxes = mailboxes.filter(domain=domain)
    if status == "active":
        mailboxes = mailboxes.filter(is_active=True)
    elif status == "suspended":
        mailboxes = mailboxes.filter(is_active=False)
    if q:
        mailboxes = mailboxes.filter(_search(q))
    return (
        mailboxes.order_by(order_by, "pk")
        if order_by != "address"
        else mailboxes.order_by("address")
    )


def _search(q: str) -> Q:
    """Addresses are stored lower case (ASCII); a Unicode domain is searched in both forms."""
    text = q.strip().lower()
    condition = Q(address__contains=text) | Q(display_name__icontains=q.strip())
    if not text.isascii() and "@" not in text:
        # A Unicode domain name ("bücher") is stored as "xn--bcher-kva": search that too.
        condition |= Q(address__contains=_ascii(text))
    return condition


def attach_usage(mailboxes: Iterable[Mailbox]) -> None:
    """Set `used_bytes` / `used_messages` on each mailbox with one query."""
    rows = list(mailboxes)
    usage = QuotaUsage.objects.in_bulk([m.address for m in rows])
    for mailbox in rows:
        found = usage.get(mailbox.address)
        mailbox.used_bytes = found.bytes if found else 0  # type: ignore[attr-defined]
        mailbox.used_messages = found.messages if found else 0  # type: ignore[attr-defined]


def attach_hold_matters(mailboxes: Iterable[Mailbox]) -> None:
    """Set `hold_matters` (names of the legal holds covering it) on each mailbox, one query."""
    from policies.hold_selectors import active_matters_by_mailbox  # policies imports accounts

    rows = list(mailboxes)
    matters = active_matters_by_mailbox(rows)
    for mailbox in rows:
        mailbox.hold_matters = matters.get(mailbox.pk, [])  # type: ignore[attr-defined]


def domain_list(user: Any, *, q: str = "") -> QuerySet[Domain]:
    """Domains the user may see with their mailbox count and allocated quota."""
    domains = Domain.objects.visible_to(user)
    if q:
        text = q.strip().lower()
        domains = domains.filter(Q(name__contains=text) | Q(name__contains=_ascii(text)))
    return domains.annotate(
        mailbox_count=Count("mailboxes", distinct=True),
        allocated_bytes=Sum("mailboxes__quota_bytes", default=0),
    ).order_by("name")


def _ascii(text: str) -> str:
    """The IDNA form of each dot-separated part of a search text that can be converted."""
    parts = []
    for part in text.split("."):
        try:
            parts.append(idna.encode(part, uts46=True).decode("ascii") if part else part)
        except (idna.IDNAError, UnicodeError):
            parts.append(part)
    return ".".join(parts)


def domain_figures(domain: Domain) -> dict[str, Any]:
    """Mailbox and alias counts, allocated quota and storage used (from Dovecot's reports)."""
    figures = domain.mailboxes.aggregate(
        mailbox_count=Count("id"),
        suspended_count=Count("id", filter=Q(is_active=False)),
        allocated_bytes=Sum("quota_bytes", default=0),
    )
    used = QuotaUsage.objects.filter(username__in=domain.mailboxes.values("address")).aggregate(
        bytes=Sum("bytes", default=0), messages=Sum("messages", default=0)
    )
    figures["used_bytes"] = used["bytes"]
    figures["used_messages"] = used["messages"]
    figures["alias_count"] = domain.aliases.count()
    figures["left_bytes"] = max(0, domain.quota_bytes - figures["allocated_bytes"])
    return figures


def alias_list(user: Any, *, q: str = "", domain: Domain | None = None) -> QuerySet[Alias]:
    aliases = Alias.objects.visible_to(user).select_related("domain")
    if domain is not None:
        aliases = aliases.filter(domain=domain)
    if q:
        text = q.strip().lower()
        aliases = aliases.filter(Q(address__contains=text) | Q(destinations__icontains=text))
    return aliases.order_by("address")


def aliases_pointing_to(address: str) -> list[Alias]:
    """Aliases that list `address` among their destinations."""
    import json

    candidates = Alias.objects.filter(destinations__icontains=json.dumps(address)).select_related(
        "domain"
    )
    return [a for a in candidates if address in a.destinations]


def recent_events(target: Mailbox | Domain | Alias, *, limit: int = 10) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            target_type=target._meta.label_lower, target_id=str(target.pk)
        ).order_by("-id")[:limit]
    )


def display_domain(name: str) -> str:
    return domain_to_unicode(name)
