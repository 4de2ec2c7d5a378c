"""policies.rules: each right and its reason (pure, no database) and the selector around it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from policies.models import DomainPolicy, MailboxPolicy, OrgPolicy, Pop3Exception
from policies.rules import ExceptionFacts, PolicyFacts, Right, effective_policy
from policies.selectors import mailbox_effective_policy, org_policy
from tests.factories import MailboxFactory, UserFactory

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POP3_OFF = "POP3 off: no active exception (POP3 is only allowed by an approved, expiring exception)"

BASE = PolicyFacts(
    org_imap_enabled=True,
    min_tls_version="TLSv1.2",
    domain_name="example.org",
    domain_active=True,
    domain_imap_enabled=None,
    mailbox_address="alice@example.org",
    mailbox_active=True,
    mailbox_imap_enabled=None,
    allowed_networks=(),
    exceptions=(),
)


def exception(*, starts=-1, expires=30, revoked=None, reason="scanner in the print room"):
    return ExceptionFacts(
        starts_at=NOW + timedelta(days=starts),
        expires_at=NOW + timedelta(days=expires),
        revoked_at=None if revoked is None else NOW + timedelta(days=revoked),
        reason=reason,
        approver="alice",
    )


def test_defaults_allow_login_and_imap_but_not_pop3():
    policy = effective_policy(BASE, now=NOW)
    assert policy.login == Right(True, "Login allowed: mailbox and domain example.org are active")
    assert policy.imap == Right(True, "IMAP on: organisation default")
    assert policy.pop3 == Right(False, POP3_OFF)
    assert policy.active_exception is None


def test_tls_is_always_required_with_the_org_minimum():
    assert effective_policy(BASE, now=NOW).tls == Right(
        True, "TLS 1.2 or newer required on every connection (cannot be turned off)"
    )
    tls13 = replace(BASE, min_tls_version="TLSv1.3")
    assert effective_policy(tls13, now=NOW).tls.reason.startswith("TLS 1.3 or newer required")


@pytest.mark.parametrize(
    ("org", "domain", "mailbox", "expected"),
    [
        (False, None, None, Right(False, "IMAP off: organisation default")),
        (True, False, None, Right(False, "IMAP off: domain example.org turns it off")),
        (False, True, None, Right(True, "IMAP on: domain example.org turns it on")),
        (True, None, False, Right(False, "IMAP off: mailbox alice@example.org turns it off")),
        (False, False, True, Right(True, "IMAP on: mailbox alice@example.org turns it on")),
        (True, True, False, Right(False, "IMAP off: mailbox alice@example.org turns it off")),
    ],
)
def test_imap_most_specific_setting_wins(org, domain, mailbox, expected):
    facts = replace(
        BASE, org_imap_enabled=org, domain_imap_enabled=domain, mailbox_imap_enabled=mailbox
    )
    assert effective_policy(facts, now=NOW).imap == expected


def test_pop3_allowed_by_an_active_exception_with_who_and_why():
    facts = replace(BASE, exceptions=(exception(expires=73),))
    policy = effective_policy(facts, now=NOW)
    assert policy.pop3 == Right(
        True,
        "POP3 allowed until 2027-02-01 12:00 UTC by exception approved by alice: "
        "'scanner in the print room'",
    )
    assert policy.active_exception == exception(expires=73)


def test_pop3_expiry_at_midnight_is_shown_as_a_date():
    midnight = ExceptionFacts(
        starts_at=NOW - timedelta(days=1),
        expires_at=datetime(2027, 2, 1, tzinfo=UTC),
        revoked_at=None,
        reason="scanner in the print room",
        approver="alice",
    )
    policy = effective_policy(replace(BASE, exceptions=(midnight,)), now=NOW)
    assert policy.pop3.reason == (
        "POP3 allowed until 2027-02-01 by exception approved by alice: 'scanner in the print room'"
    )


@pytest.mark.parametrize(
    "facts",
    [
        exception(starts=-30, expires=-1),  # expired
        exception(revoked=-1),  # revoked
        exception(starts=-10, expires=0),  # expires exactly now: already over
    ],
)
def test_pop3_off_for_expired_or_revoked_exceptions(facts):
    policy = effective_policy(replace(BASE, exceptions=(facts,)), now=NOW)
    assert policy.pop3 == Right(False, POP3_OFF)
    assert policy.active_exception is None


def test_pop3_off_until_a_future_exception_starts():
    policy = effective_policy(replace(BASE, exceptions=(exception(starts=3, expires=10),)), now=NOW)
    assert policy.pop3 == Right(
        False,
        "POP3 off until 2026-11-23 12:00 UTC, when the exception approved by alice starts",
    )


def test_exception_starting_exactly_now_is_active():
    policy = effective_policy(replace(BASE, exceptions=(exception(starts=0),)), now=NOW)
    assert policy.pop3.allowed


def test_suspended_mailbox_refuses_login_imap_and_pop3():
    facts = replace(BASE, mailbox_active=False, exceptions=(exception(),))
    policy = effective_policy(facts, now=NOW)
    assert policy.login == Right(False, "Login refused: mailbox alice@example.org is suspended")
    assert policy.imap == Right(False, "IMAP off: mailbox alice@example.org is suspended")
    assert policy.pop3 == Right(False, "POP3 off: mailbox alice@example.org is suspended")
    assert policy.active_exception is None


def test_suspended_domain_is_named_first():
    facts = replace(BASE, domain_active=False, mailbox_active=False)
    policy = effective_policy(facts, now=NOW)
    assert policy.login == Right(False, "Login refused: domain example.org is suspended")
    assert policy.imap.reason == "IMAP off: domain example.org is suspended"


def test_networks_any_or_only_the_listed_ones():
    assert effective_policy(BASE, now=NOW).networks == Right(
        True, "Any network: no network restriction on this mailbox"
    )
    facts = replace(BASE, allowed_networks=("10.0.0.0/8", "192.0.2.0/24"))
    policy = effective_policy(facts, now=NOW)
    assert policy.networks == Right(
        False, "Only from 10.0.0.0/8, 192.0.2.0/24: logins from other networks are refused"
    )
    assert policy.allowed_networks == ("10.0.0.0/8", "192.0.2.0/24")


@pytest.mark.django_db
def test_org_policy_is_recreated_with_defaults_when_missing():
    OrgPolicy.objects.all().delete()
    policy = org_policy()
    assert (policy.pk, policy.imap_enabled, policy.min_tls_version) == (1, True, "TLSv1.2")


@pytest.mark.django_db
def test_mailbox_effective_policy_loads_facts_in_three_queries(django_assert_num_queries):
    approver = UserFactory.create(username="alice")
    mailbox = MailboxFactory.create(local_part="bob", domain__name="example.org")
    OrgPolicy.objects.update_or_create(pk=1, defaults={"imap_enabled": True})
    DomainPolicy.objects.create(domain=mailbox.domain, imap_enabled=False)
    MailboxPolicy.objects.create(mailbox=mailbox, allowed_networks="10.0.0.0/8,192.0.2.0/24")
    now = datetime.now(tz=UTC)
    Pop3Exception.objects.create(
        mailbox=mailbox,
        reason="scanner in the print room",
        approver=approver,
        granted_by=approver,
        starts_at=now - timedelta(days=1),
        expires_at=now + timedelta(days=1),
    )
    with django_assert_num_queries(3):
        policy = mailbox_effective_policy(mailbox, now=now)
    assert policy.imap == Right(False, "IMAP off: domain example.org turns it off")
    assert policy.pop3.allowed
    assert policy.pop3.reason.endswith("approved by alice: 'scanner in the print room'")
    assert policy.allowed_networks == ("10.0.0.0/8", "192.0.2.0/24")
