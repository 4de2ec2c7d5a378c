"""Reads for protocol policy: the organisation row and a mailbox's effective policy."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Domain, Mailbox
from policies.models import DomainPolicy, MailboxPolicy, OrgPolicy, Pop3Exception
from policies.rules import EffectivePolicy, ExceptionFacts, PolicyFacts, effective_policy


def org_policy() -> OrgPolicy:
    """The organisation policy row; created with the defaults if missing (e.g. after a flush)."""
    policy, _ = OrgPolicy.objects.get_or_create(pk=1)
    return policy


def mailbox_policy_facts(mailbox: Mailbox, *, org: OrgPolicy | None = None) -> PolicyFacts:
    """Load everything effective_policy() needs for one mailbox: at most 3 queries."""
    org = org if org is not None else org_policy()
    row = Mailbox.objects.select_related("domain", "domain__policy", "policy").get(pk=mailbox.pk)
    domain_policy = _domain_policy(row.domain)
    mailbox_policy = _mailbox_policy(row)
    networks = mailbox_policy.allowed_networks if mailbox_policy is not None else ""
    exceptions = Pop3Exception.objects.filter(mailbox_id=row.pk).select_related("approver")
    return PolicyFacts(
        org_imap_enabled=org.imap_enabled,
        min_tls_version=org.min_tls_version,
        domain_name=row.domain.name,
        domain_active=row.domain.is_active,
        domain_imap_enabled=domain_policy.imap_enabled if domain_policy is not None else None,
        mailbox_address=row.address,
        mailbox_active=row.is_active,
        mailbox_imap_enabled=mailbox_policy.imap_enabled if mailbox_policy is not None else None,
        allowed_networks=tuple(n.strip() for n in networks.split(",") if n.strip()),
        exceptions=tuple(exception_facts(e) for e in exceptions),
    )


def mailbox_effective_policy(mailbox: Mailbox, *, now: datetime) -> EffectivePolicy:
    """The mailbox's rights at `now`, each with its reason (3 queries)."""
    return effective_policy(mailbox_policy_facts(mailbox), now=now)


def exception_facts(exception: Pop3Exception) -> ExceptionFacts:
    approver = exception.approver
    return ExceptionFacts(
        starts_at=exception.starts_at,
        expires_at=exception.expires_at,
        revoked_at=exception.revoked_at,
        reason=exception.reason,
        approver=approver.get_full_name() or approver.get_username(),
    )


def _domain_policy(domain: Domain) -> DomainPolicy | None:
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    policy = getattr(domain, "policy", None)
    return policy if isinstance(policy, DomainPolicy) else None


def _mailbox_policy(mailbox: Mailbox) -> MailboxPolicy | None:
    policy = getattr(mailbox, "policy", None)
    return policy if isinstance(policy, MailboxPolicy) else None
