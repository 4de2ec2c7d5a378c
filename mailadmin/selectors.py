"""Reads for the overview page."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from accounts.models import Alias, Domain, Mailbox, QuotaUsage


def overview_context(user: Any) -> dict[str, Any]:
    """Counts of what the user can see and the fullest mailboxes (usage relative to quota)."""
    domains = Domain.objects.visible_to(user)
    mailboxes = Mailbox.objects.visible_to(user)
    counts = mailboxes.aggregate(
        total=Count("id"), suspended=Count("id", filter=Q(is_active=False))
    )
    return {
        "domain_count": domains.count(),
        "mailbox_count": counts["total"],
        "suspended_count": counts["suspended"],
        "alias_count": Alias.objects.visible_to(user).count(),
        "fullest": fullest_mailboxes(mailboxes),
    }


def fullest_mailboxes(mailboxes: QuerySet[Mailbox], *, limit: int = 10) -> list[Mailbox]:
    """The mailboxes with the highest usage relative to their quota, usage attached.

    One join of quota_usage to the mailboxes (no foreign key links them, so the ORM would
    run a correlated subquery per mailbox), then the page's rows by id.
    """
    visible_sql, params = mailboxes.filter(quota_bytes__gt=0).values("id").query.sql_with_params()
    # visible_sql is the ORM's own SQL with placeholders; every value goes in as a parameter.
    sql = (
        "SELECT m.id FROM accounts_mailbox m JOIN quota_usage u ON u.username = m.address"  # noqa: S608
        f" WHERE u.bytes > 0 AND m.id IN ({visible_sql})"
        " ORDER BY u.bytes * 1.0 / m.quota_bytes DESC, m.id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        ids = [row[0] for row in cursor.fetchall()]
    by_id = Mailbox.objects.select_related("domain").in_bulk(ids)
    rows = [by_id[pk] for pk in ids if pk in by_id]
    usage = QuotaUsage.objects.in_bulk([m.address for m in rows])
    for mailbox in rows:
        mailbox.used_bytes = usage[mailbox.address].bytes  # type: ignore[attr-defined]
    return rows
