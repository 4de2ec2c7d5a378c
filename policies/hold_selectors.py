"""Reads for legal holds and retention: lists, a hold's custodians and report, a mailbox's
hold history, the retention table. Each returns rows already joined (a fixed query count)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.expressions import OrderBy

from accounts.models import Domain, Mailbox
from policies.models import HoldCustodian, HoldEnforcement, LegalHold, RetentionRule
from policies.retention import STANDARD_FOLDERS


def hold_list() -> QuerySet[LegalHold]:
    """Every hold, active first then newest, with custodian and pending counts."""
    current = Q(custodians__removed_at__isnull=True)
    return (
        LegalHold.objects.select_related("placed_by", "released_by")
        .annotate(
            custodian_count=Count("custodians", filter=current, distinct=True),
            pending_count=Count(
                "custodians__enforcements",
                filter=current & Q(custodians__enforcements__in_force_at__isnull=True),
                distinct=True,
            ),
        )
        .order_by(null_first("released_at"), "-placed_at")
    )


def null_first(field: str) -> OrderBy:
    """Descending, NULL (active, current) first, on both backends."""
    return F(field).desc(nulls_first=True)


def hold_with_custodians(hold_id: int) -> LegalHold:
    """One hold with its custodians (current first) and their enforcement rows."""
    enforcements = HoldEnforcement.objects.order_by("address")
    custodians = (
        HoldCustodian.objects.select_related("added_by", "removed_by", "mailbox", "domain")
        .prefetch_related(Prefetch("enforcements", queryset=enforcements))
        .order_by(null_first("removed_at"), "name")
    )
    return (
        LegalHold.objects.select_related("placed_by", "released_by")
        .prefetch_related(Prefetch("custodians", queryset=custodians))
        .get(pk=hold_id)
    )


@dataclass(frozen=True)
class ReportRow:
    """One preserved mailbox of a hold, as the report and its CSV show it."""

    custodian: HoldCustodian
    address: str
    in_force_at: datetime | None
    preserved_messages: int | None
    verified_at: datetime | None
    problem: str


def hold_report_rows(hold: LegalHold) -> list[ReportRow]:
    """One row per mailbox each custodian covers (a domain custodian: one per mailbox known)."""
    rows = []
    for custodian in hold.custodians.all():
        enforcements = list(custodian.enforcements.all())
        if not enforcements:
            rows.append(ReportRow(custodian, "", None, None, None, ""))
        for e in enforcements:
            problem = e.verification_error or e.last_error
            rows.append(
                ReportRow(
                    custodian,
                    e.address,
                    e.in_force_at,
                    e.preserved_messages,
                    e.verified_at,
                    problem,
                )
            )
    return rows


def mailbox_hold_history(mailbox: Mailbox) -> list[HoldCustodian]:
    """Every custodianship that covered the mailbox (itself or its domain), newest first."""
    return list(
        HoldCustodian.objects.filter(Q(mailbox=mailbox) | Q(domain_id=mailbox.domain_id))
        .select_related("hold", "added_by", "removed_by", "hold__released_by")
        .order_by("-added_at", "-pk")
    )


def active_matters(history: list[HoldCustodian]) -> list[LegalHold]:
    """The active holds among a mailbox's history (its "on hold" badge)."""
    seen: dict[int, LegalHold] = {}
    for c in history:
        if c.removed_at is None and c.hold.released_at is None:
            seen.setdefault(c.hold_id, c.hold)
    return list(seen.values())


@dataclass(frozen=True)
class RetentionRow:
    folder: str
    org_days: int | None
    domain_rules: list[RetentionRule]


def retention_table(domains: QuerySet[Domain]) -> list[RetentionRow]:
    """Per folder (Trash, Junk, then named ones): the organisation's days and the domain rules
    among `domains` that override it."""
    rules = list(
        RetentionRule.objects.filter(Q(domain__isnull=True) | Q(domain__in=domains))
        .select_related("domain")
        .order_by("folder", "domain__name")
    )
    folders = list(STANDARD_FOLDERS) + sorted({r.folder for r in rules} - set(STANDARD_FOLDERS))
    return [
        RetentionRow(
            folder=folder,
            org_days=next(
                (r.retention_days for r in rules if r.folder == folder and r.domain_id is None),
                None,
            ),
            domain_rules=[r for r in rules if r.folder == folder and r.domain_id is not None],
        )
        for folder in folders
    ]


def active_matters_by_mailbox(mailboxes: list[Mailbox]) -> dict[int, list[str]]:
    """{mailbox id: names of the matters holding it} for one page of mailboxes, in one query
    (a custodian is the mailbox itself or its whole domain)."""
    if not mailboxes:
        return {}
    ids = {m.pk for m in mailboxes}
    domain_ids = {m.domain_id for m in mailboxes}
    rows = (
        HoldCustodian.objects.filter(removed_at__isnull=True, hold__released_at__isnull=True)
        .filter(Q(mailbox_id__in=ids) | Q(domain_id__in=domain_ids))
        .values_list("mailbox_id", "domain_id", "hold__matter_name")
        .order_by("hold__matter_name")
    )
    matters: dict[int, list[str]] = {}
    for mailbox_id, domain_id, matter in rows:
        for m in mailboxes:
            if (m.pk == mailbox_id or m.domain_id == domain_id) and matter not in matters.get(
                m.pk, []
            ):
                matters.setdefault(m.pk, []).append(matter)
    return matters
