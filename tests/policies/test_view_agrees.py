"""The dovecot_users view and policies.rules.effective_policy agree, on PostgreSQL and SQLite.

Random policies: org/domain/mailbox IMAP flags, active or suspended, a missing org row, and POP3
exceptions in the past, active, in the future or revoked. Offsets are hours, so the database
clock the view uses and the `now` given to the rules cannot straddle a boundary.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Domain, Mailbox
from policies.models import DomainPolicy, MailboxPolicy, OrgPolicy, Pop3Exception
from policies.rules import ExceptionFacts, PolicyFacts, effective_policy
from policies.selectors import mailbox_effective_policy

# (starts, expires, revoked) in hours from now
EXCEPTION_KINDS = {
    "past": (-48, -24, None),
    "active": (-24, 24, None),
    "future": (24, 48, None),
    "revoked": (-24, 24, -1),
    "revoked_past": (-48, -24, -30),
}
tristate = st.sampled_from([None, True, False])

policies = st.fixed_dictionaries(
    {
        "org_row": st.booleans(),
        "org_imap": st.booleans(),
        "domain_active": st.booleans(),
        "domain_imap": tristate,
        "mailbox_active": st.booleans(),
        "mailbox_imap": tristate,
        "networks": st.sampled_from(["", "10.0.0.0/8", "10.0.0.0/8,192.0.2.0/24"]),
        "exceptions": st.lists(st.sampled_from(sorted(EXCEPTION_KINDS)), max_size=3),
    }
)


def store(alias: str, p: dict, now) -> tuple[Mailbox, PolicyFacts]:
    approver = User.objects.using(alias).create(username="alice")
    if p["org_row"]:
        OrgPolicy.objects.using(alias).update_or_create(
            pk=1, defaults={"imap_enabled": p["org_imap"]}
        )
    else:
        OrgPolicy.objects.using(alias).all().delete()
    domain = Domain.objects.using(alias).create(name="example.org", is_active=p["domain_active"])
    mailbox = Mailbox.objects.using(alias).create(
        domain=domain,
        local_part="bob",
        address="bob@example.org",
        password_hash="{ARGON2ID}$argon2id$not-checked-here",
        is_active=p["mailbox_active"],
    )
    if p["domain_imap"] is not None:
        DomainPolicy.objects.using(alias).create(domain=domain, imap_enabled=p["domain_imap"])
    if p["mailbox_imap"] is not None or p["networks"]:
        MailboxPolicy.objects.using(alias).create(
            mailbox=mailbox, imap_enabled=p["mailbox_imap"], allowed_networks=p["networks"]
        )
    facts = []
    for kind in p["exceptions"]:
        starts, expires, revoked = EXCEPTION_KINDS[kind]
        row = Pop3Exception.objects.using(alias).create(
            mailbox=mailbox,
            reason="scanner in the print room",
            approver=approver,
            granted_by=approver,
            starts_at=now + timedelta(hours=starts),
            expires_at=now + timedelta(hours=expires),
            revoked_at=None if revoked is None else now + timedelta(hours=revoked),
            revoke_reason="" if revoked is None else "replaced",
        )
        facts.append(
            ExceptionFacts(row.starts_at, row.expires_at, row.revoked_at, row.reason, "alice")
        )
    return mailbox, PolicyFacts(
        org_imap_enabled=p["org_imap"] if p["org_row"] else True,
        min_tls_version="TLSv1.2",
        domain_name="example.org",
        domain_active=p["domain_active"],
        domain_imap_enabled=p["domain_imap"],
        mailbox_address="bob@example.org",
        mailbox_active=p["mailbox_active"],
        mailbox_imap_enabled=p["mailbox_imap"],
        allowed_networks=tuple(n for n in p["networks"].split(",") if n),
        exceptions=tuple(facts),
    )


def view_row(alias: str):
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT login_ok, imap_ok, pop3_ok, allow_nets, on_hold FROM dovecot_users "
            "WHERE local_part = %s AND domain = %s",
            ["bob", "example.org"],
        )
        rows = cursor.fetchall()
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("alias", ["default", "sqlite"])
@pytest.mark.django_db(databases={"default", "sqlite"})
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(p=policies)
def test_view_agrees_with_effective_policy(alias, p):
    assert connections[alias].vendor == {"default": "postgresql", "sqlite": "sqlite"}[alias]
    now = timezone.now()
    with transaction.atomic(using=alias):
        mailbox, facts = store(alias, p, now)
        expected = effective_policy(facts, now=now)
        login_ok, imap_ok, pop3_ok, allow_nets, on_hold = view_row(alias)
        assert (login_ok, imap_ok, pop3_ok) == (
            int(expected.login.allowed),
            int(expected.imap.allowed),
            int(expected.pop3.allowed),
        ), expected
        assert allow_nets == (p["networks"] or None)
        assert on_hold == 0
        if alias == "default":
            # The selector loads the same facts from the rows.
            assert mailbox_effective_policy(mailbox, now=now) == expected
        transaction.set_rollback(True, using=alias)
