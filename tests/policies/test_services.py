from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from audit.models import Action, AuditEvent
from policies import services
from policies.models import DomainPolicy, MailboxPolicy, OrgPolicy, Pop3Exception
from policies.selectors import mailbox_effective_policy, org_policy
from tests.factories import MailboxFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def mailbox(domain):
    return MailboxFactory(domain=domain, local_part="alice")


@pytest.fixture
def approver(db):
    return UserFactory(username="ada", first_name="Ada", last_name="Approver", roles=["mail_admin"])


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def refusal(call, **kwargs):
    with pytest.raises(ValidationError) as info:
        call(**kwargs)
    return info.value.messages


def grant(mailbox, actor, approver, *, days=30, reason="Legacy scanner needs POP3", **kw):
    return services.pop3_exception_grant(
        actor=actor,
        mailbox=mailbox,
        reason=reason,
        approver=approver,
        expires_at=kw.pop("expires_at", NOW + timedelta(days=days)),
        **kw,
    )


# --- organisation policy -----------------------------------------------------------------------


def test_org_policy_update_saves_and_audits_before_and_after(mail_admin):
    org_policy()
    policy = services.org_policy_update(
        actor=mail_admin, imap_enabled=False, min_tls_version="TLSv1.3", pop3_max_exception_days=30
    )
    policy.refresh_from_db()
    assert (policy.imap_enabled, policy.min_tls_version, policy.pop3_max_exception_days) == (
        False,
        "TLSv1.3",
        30,
    )
    [event] = events(Action.ORG_POLICY_CHANGED)
    assert event.actor == mail_admin
    assert event.details["changes"] == {
        "imap_enabled": {"old": True, "new": False},
        "min_tls_version": {"old": "TLSv1.2", "new": "TLSv1.3"},
        "pop3_max_exception_days": {"old": 90, "new": 30},
    }


def test_org_policy_update_without_change_records_nothing(superadmin):
    org_policy()
    services.org_policy_update(
        actor=superadmin, imap_enabled=True, min_tls_version="TLSv1.2", pop3_max_exception_days=90
    )
    assert events(Action.ORG_POLICY_CHANGED) == []


def assert_org_unchanged():
    policy = OrgPolicy.objects.get(pk=1)
    assert (policy.imap_enabled, policy.min_tls_version, policy.pop3_max_exception_days) == (
        True,
        "TLSv1.2",
        90,
    )
    assert events(Action.ORG_POLICY_CHANGED) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"min_tls_version": "TLSv1.0"},
            "“TLSv1.0” is not a minimum TLS version we offer. Choose TLS 1.2 or TLS 1.3.",
        ),
        (
            {"pop3_max_exception_days": 0},
            "The longest POP3 exception must be between 1 and 366 days; 0 is not.",
        ),
        (
            {"pop3_max_exception_days": 400},
            "The longest POP3 exception must be between 1 and 366 days; 400 is not.",
        ),
    ],
)
def test_org_policy_update_refuses_bad_values(mail_admin, kwargs, message):
    org_policy()
    values = {"imap_enabled": False, "min_tls_version": "TLSv1.3", "pop3_max_exception_days": 30}
    values.update(kwargs)
    assert refusal(services.org_policy_update, actor=mail_admin, **values) == [message]
    assert_org_unchanged()


@pytest.mark.parametrize("persona", ["domain_admin", "compliance_officer", "auditor"])
def test_org_policy_update_refuses_who_is_not_org_editor(request, persona):
    org_policy()
    actor = request.getfixturevalue(persona)
    assert refusal(
        services.org_policy_update,
        actor=actor,
        imap_enabled=False,
        min_tls_version="TLSv1.3",
        pop3_max_exception_days=30,
    ) == ["Only superusers and mail administrators may change the organisation policy."]
    assert_org_unchanged()


# --- domain and mailbox IMAP --------------------------------------------------------------------


def test_domain_policy_set_turns_imap_off_and_back_to_inherit(domain_admin, domain):
    services.domain_policy_set(actor=domain_admin, domain=domain, imap_enabled=False)
    assert DomainPolicy.objects.get(domain=domain).imap_enabled is False
    services.domain_policy_set(actor=domain_admin, domain=domain, imap_enabled=None)
    assert DomainPolicy.objects.get(domain=domain).imap_enabled is None
    first, second = events(Action.DOMAIN_POLICY_CHANGED)
    assert first.target_repr == "example.test"
    assert first.details["changes"] == {"imap_enabled": {"old": None, "new": False}}
    assert second.details["changes"] == {"imap_enabled": {"old": False, "new": None}}


def test_domain_policy_set_same_value_records_nothing(mail_admin, domain):
    services.domain_policy_set(actor=mail_admin, domain=domain, imap_enabled=None)
    assert events(Action.DOMAIN_POLICY_CHANGED) == []


def test_domain_policy_set_refuses_domain_admin_of_another_domain(outsider, domain):
    assert refusal(
        services.domain_policy_set, actor=outsider, domain=domain, imap_enabled=False
    ) == ["You may not change the policy of example.test."]
    assert not DomainPolicy.objects.filter(domain=domain, imap_enabled=False).exists()
    assert events(Action.DOMAIN_POLICY_CHANGED) == []


def test_mailbox_policy_set_overrides_domain_and_shows_in_effective_policy(mail_admin, mailbox):
    services.domain_policy_set(actor=mail_admin, domain=mailbox.domain, imap_enabled=False)
    services.mailbox_policy_set(actor=mail_admin, mailbox=mailbox, imap_enabled=True)
    assert MailboxPolicy.objects.get(mailbox=mailbox).imap_enabled is True
    effective = mailbox_effective_policy(mailbox, now=NOW)
    assert effective.imap.allowed is True
    assert effective.imap.reason == "IMAP on: mailbox alice@example.test turns it on"
    [event] = events(Action.MAILBOX_POLICY_CHANGED)
    assert event.target_repr == "alice@example.test"
    assert event.details["changes"] == {"imap_enabled": {"old": None, "new": True}}


def test_mailbox_policy_set_refuses_outsider(outsider, mailbox):
    assert refusal(
        services.mailbox_policy_set, actor=outsider, mailbox=mailbox, imap_enabled=False
    ) == ["You may not change the policy of alice@example.test."]
    assert not MailboxPolicy.objects.filter(mailbox=mailbox).exists()
    assert events(Action.MAILBOX_POLICY_CHANGED) == []


def test_mailbox_networks_set_stores_normalised_list(domain_admin, mailbox):
    services.mailbox_networks_set(
        actor=domain_admin, mailbox=mailbox, networks=["10.0.0.0/8", "2001:DB8::/32", "10.0.0.0/8"]
    )
    assert MailboxPolicy.objects.get(mailbox=mailbox).allowed_networks == "10.0.0.0/8,2001:db8::/32"
    [event] = events(Action.MAILBOX_NETWORKS_CHANGED)
    assert event.details["changes"] == {
        "allowed_networks": {"old": "", "new": "10.0.0.0/8,2001:db8::/32"}
    }
    services.mailbox_networks_set(actor=domain_admin, mailbox=mailbox, networks=[])
    assert MailboxPolicy.objects.get(mailbox=mailbox).allowed_networks == ""
    assert len(events(Action.MAILBOX_NETWORKS_CHANGED)) == 2


def test_mailbox_networks_set_refuses_bad_entry_and_keeps_old_list(mail_admin, mailbox):
    services.mailbox_networks_set(actor=mail_admin, mailbox=mailbox, networks=["192.0.2.0/24"])
    assert refusal(
        services.mailbox_networks_set,
        actor=mail_admin,
        mailbox=mailbox,
        networks=["10.0.0.5/8"],
    ) == ["10.0.0.5/8 has host bits set; did you mean 10.0.0.0/8?"]
    assert MailboxPolicy.objects.get(mailbox=mailbox).allowed_networks == "192.0.2.0/24"
    assert len(events(Action.MAILBOX_NETWORKS_CHANGED)) == 1


def test_mailbox_networks_set_refuses_outsider(outsider, mailbox):
    assert refusal(
        services.mailbox_networks_set, actor=outsider, mailbox=mailbox, networks=["10.0.0.0/8"]
    ) == ["You may not change the policy of alice@example.test."]
    assert not MailboxPolicy.objects.exists()


# --- POP3 exceptions: grant ---------------------------------------------------------------------


def test_grant_creates_exception_allows_pop3_and_audits(clock, domain_admin, mailbox, approver):
    exception = grant(mailbox, domain_admin, approver, days=30)
    exception.refresh_from_db()
    assert exception.starts_at == NOW
    assert exception.expires_at == NOW + timedelta(days=30)
    assert exception.granted_by == domain_admin
    assert exception.approver == approver
    effective = mailbox_effective_policy(mailbox, now=NOW)
    assert effective.pop3.allowed is True
    assert "Ada Approver" in effective.pop3.reason
    [event] = events(Action.POP3_EXCEPTION_GRANTED)
    assert event.actor == domain_admin
    assert event.target_repr == "alice@example.test"
    assert event.details == {
        "exception_id": exception.pk,
        "reason": "Legacy scanner needs POP3",
        "approver": "ada",
        "starts_at": NOW.isoformat(),
        "expires_at": (NOW + timedelta(days=30)).isoformat(),
    }


def test_grant_accepts_exactly_the_org_maximum(clock, mail_admin, mailbox, approver):
    exception = grant(mailbox, mail_admin, approver, days=90)
    assert exception.expires_at == NOW + timedelta(days=90)


def assert_nothing_granted():
    assert not Pop3Exception.objects.exists()
    assert events(Action.POP3_EXCEPTION_GRANTED) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": "   "}, "Give a reason for the POP3 exception: who needs POP3 and why."),
        (
            {"reason": "  because "},
            "Write a reason of at least 10 characters that says why POP3 is needed; "
            "“because” is too short.",
        ),
        (
            {"expires_at": None},
            "Choose when the exception expires; POP3 exceptions always expire.",
        ),
        (
            {"starts_at": NOW - timedelta(minutes=5)},
            "The exception cannot start in the past (2026-11-26 09:55 UTC). Leave the start "
            "empty to start now.",
        ),
        (
            {"expires_at": NOW - timedelta(days=1)},
            "The expiry (2026-11-25 10:00 UTC) must be after the start (2026-11-26 10:00 UTC).",
        ),
        (
            {"expires_at": NOW + timedelta(days=91)},
            "POP3 exceptions may last at most 90 days; choose an expiry on or before 2027-02-24.",
        ),
    ],
)
def test_grant_refusals(clock, mail_admin, mailbox, approver, change, message):
    kwargs = {
        "actor": mail_admin,
        "mailbox": mailbox,
        "reason": "Legacy scanner needs POP3",
        "approver": approver,
        "expires_at": NOW + timedelta(days=30),
    }
    kwargs.update(change)
    assert refusal(services.pop3_exception_grant, **kwargs) == [message]
    assert_nothing_granted()


def test_grant_maximum_follows_the_org_setting(clock, mail_admin, mailbox, approver):
    services.org_policy_update(
        actor=mail_admin, imap_enabled=True, min_tls_version="TLSv1.2", pop3_max_exception_days=14
    )
    assert refusal(grant, mailbox=mailbox, actor=mail_admin, approver=approver, days=15) == [
        "POP3 exceptions may last at most 14 days; choose an expiry on or before 2026-12-10."
    ]
    assert_nothing_granted()


def test_grant_start_within_a_minute_in_the_past_counts_as_now(
    clock, mail_admin, mailbox, approver
):
    exception = grant(mailbox, mail_admin, approver, starts_at=NOW - timedelta(seconds=30))
    assert exception.starts_at == NOW - timedelta(seconds=30)


def test_grant_requires_an_approver(clock, mail_admin, mailbox):
    assert refusal(grant, mailbox=mailbox, actor=mail_admin, approver=None) == [
        "Choose who approved the exception: a superuser or a mail administrator."
    ]
    assert_nothing_granted()


@pytest.mark.parametrize("persona", ["domain_admin", "compliance_officer", "auditor", "norole"])
def test_grant_refuses_approver_without_authority(request, clock, mail_admin, mailbox, persona):
    approver = request.getfixturevalue(persona)
    assert refusal(grant, mailbox=mailbox, actor=mail_admin, approver=approver) == [
        f"{approver.username} cannot approve POP3 exceptions; choose a superuser or a mail "
        "administrator."
    ]
    assert_nothing_granted()


def test_grant_refuses_inactive_approver(clock, mail_admin, mailbox):
    gone = UserFactory(username="gone", roles=["mail_admin"], is_active=False)
    assert refusal(grant, mailbox=mailbox, actor=mail_admin, approver=gone) == [
        "gone cannot approve POP3 exceptions; choose a superuser or a mail administrator."
    ]
    assert_nothing_granted()


def test_grant_refuses_the_mailbox_owner_as_approver(clock, mail_admin, mailbox):
    owner = UserFactory(username="alice", email="Alice@example.test", roles=["mail_admin"])
    assert refusal(grant, mailbox=mailbox, actor=mail_admin, approver=owner) == [
        "alice owns alice@example.test and cannot approve an exception for their own mailbox; "
        "choose another approver."
    ]
    assert_nothing_granted()


def test_grant_refuses_actor_outside_the_domain(clock, outsider, mailbox, approver):
    assert refusal(grant, mailbox=mailbox, actor=outsider, approver=approver) == [
        "You may not change the policy of alice@example.test."
    ]
    assert_nothing_granted()


def test_grant_refuses_a_second_exception_naming_the_current_expiry(
    clock, mail_admin, mailbox, approver
):
    first = grant(mailbox, mail_admin, approver, days=30)
    assert refusal(grant, mailbox=mailbox, actor=mail_admin, approver=approver, days=60) == [
        "alice@example.test already has a POP3 exception until 2026-12-26 10:00 UTC. Revoke it "
        "before granting another."
    ]
    assert list(Pop3Exception.objects.all()) == [first]
    assert len(events(Action.POP3_EXCEPTION_GRANTED)) == 1


def test_grant_after_revoke_or_expiry_is_allowed(clock, mail_admin, mailbox, approver):
    first = grant(mailbox, mail_admin, approver, days=10)
    services.pop3_exception_revoke(actor=mail_admin, exception=first, reason="Scanner replaced")
    grant(mailbox, mail_admin, approver, days=10)
    clock.move_to(NOW + timedelta(days=11), tick=False)
    third = grant(mailbox, mail_admin, approver, days=5, expires_at=NOW + timedelta(days=15))
    assert Pop3Exception.objects.count() == 3
    assert mailbox_effective_policy(mailbox, now=NOW + timedelta(days=11)).active_exception
    assert third.starts_at == NOW + timedelta(days=11)


def test_grant_for_another_mailbox_is_independent(clock, mail_admin, mailbox, approver, domain):
    other = MailboxFactory(domain=domain, local_part="bob")
    grant(mailbox, mail_admin, approver)
    grant(other, mail_admin, approver)
    assert Pop3Exception.objects.count() == 2


# --- POP3 exceptions: revoke --------------------------------------------------------------------


def test_revoke_stops_pop3_and_audits(clock, domain_admin, mail_admin, mailbox, approver):
    exception = grant(mailbox, mail_admin, approver)
    clock.move_to(NOW + timedelta(hours=2), tick=False)
    services.pop3_exception_revoke(
        actor=domain_admin, exception=exception, reason="  User moved to IMAP  "
    )
    exception.refresh_from_db()
    assert exception.revoked_at == NOW + timedelta(hours=2)
    assert exception.revoked_by == domain_admin
    assert exception.revoke_reason == "User moved to IMAP"
    assert mailbox_effective_policy(mailbox, now=NOW + timedelta(hours=2)).pop3.allowed is False
    [event] = events(Action.POP3_EXCEPTION_REVOKED)
    assert event.actor == domain_admin
    assert event.details["exception_id"] == exception.pk
    assert event.details["reason"] == "User moved to IMAP"


def test_revoke_requires_a_reason(clock, mail_admin, mailbox, approver):
    exception = grant(mailbox, mail_admin, approver)
    assert refusal(
        services.pop3_exception_revoke, actor=mail_admin, exception=exception, reason="  "
    ) == ["Give a reason for revoking the POP3 exception."]
    exception.refresh_from_db()
    assert exception.revoked_at is None
    assert events(Action.POP3_EXCEPTION_REVOKED) == []


def test_revoke_refuses_already_revoked(clock, mail_admin, superadmin, mailbox, approver):
    exception = grant(mailbox, mail_admin, approver)
    services.pop3_exception_revoke(actor=mail_admin, exception=exception, reason="No longer used")
    clock.move_to(NOW + timedelta(days=1), tick=False)
    assert refusal(
        services.pop3_exception_revoke, actor=superadmin, exception=exception, reason="Again"
    ) == ["This POP3 exception was already revoked on 2026-11-26 10:00 UTC by mia."]
    exception.refresh_from_db()
    assert exception.revoked_by == mail_admin
    assert len(events(Action.POP3_EXCEPTION_REVOKED)) == 1


def test_revoke_refuses_expired(clock, mail_admin, mailbox, approver):
    exception = grant(mailbox, mail_admin, approver, expires_at=datetime(2026, 12, 1, tzinfo=UTC))
    clock.move_to(datetime(2026, 12, 2, tzinfo=UTC), tick=False)
    assert refusal(
        services.pop3_exception_revoke, actor=mail_admin, exception=exception, reason="Too late"
    ) == ["This POP3 exception already expired on 2026-12-01; nothing to revoke."]
    exception.refresh_from_db()
    assert exception.revoked_at is None
    assert events(Action.POP3_EXCEPTION_REVOKED) == []


def test_revoke_refuses_actor_outside_the_domain(clock, mail_admin, outsider, mailbox, approver):
    exception = grant(mailbox, mail_admin, approver)
    assert refusal(
        services.pop3_exception_revoke, actor=outsider, exception=exception, reason="Not mine"
    ) == ["You may not change the policy of alice@example.test."]
    exception.refresh_from_db()
    assert exception.revoked_at is None


# --- expiry reminders ---------------------------------------------------------------------------


def test_reminder_sent_once_a_week_before_expiry(clock, domain_admin, mailbox, approver):
    exception = grant(mailbox, domain_admin, approver, days=20)
    assert services.pop3_exception_send_reminders(now=NOW + timedelta(days=12)) == 0
    assert mail.outbox == []

    moment = NOW + timedelta(days=13, hours=1)
    assert services.pop3_exception_send_reminders(now=moment) == 1
    [message] = mail.outbox
    assert sorted(message.to) == ["ada@staff.test", "dora@staff.test"]
    assert message.subject == (
        "POP3 exception for alice@example.test expires on 2026-12-16 10:00 UTC"
    )
    assert "Legacy scanner needs POP3" in message.body
    assert "(in 6 days)" in message.body
    exception.refresh_from_db()
    assert exception.reminder_sent_at == moment
    [event] = events(Action.POP3_EXCEPTION_REMINDED)
    assert event.actor is None
    assert event.actor_repr == "system"
    assert event.details == {
        "exception_id": exception.pk,
        "recipients": ["ada@staff.test", "dora@staff.test"],
    }

    assert services.pop3_exception_send_reminders(now=moment + timedelta(days=1)) == 0
    assert len(mail.outbox) == 1


def test_reminder_goes_to_one_address_when_approver_granted_it(clock, mail_admin, mailbox):
    grant(mailbox, mail_admin, mail_admin, days=5)
    assert services.pop3_exception_send_reminders(now=NOW) == 1
    assert mail.outbox[0].to == ["mia@staff.test"]


def test_no_reminder_for_revoked_or_expired(clock, mail_admin, mailbox, approver, domain):
    revoked = grant(mailbox, mail_admin, approver, days=5)
    services.pop3_exception_revoke(actor=mail_admin, exception=revoked, reason="Not needed now")
    other = MailboxFactory(domain=domain, local_part="bob")
    grant(other, mail_admin, approver, days=2)
    assert services.pop3_exception_send_reminders(now=NOW + timedelta(days=3)) == 0
    assert mail.outbox == []
    assert events(Action.POP3_EXCEPTION_REMINDED) == []


def test_reminder_without_addresses_is_still_marked(clock, mailbox):
    actor = UserFactory(username="quiet", email="", roles=["mail_admin"])
    exception = grant(mailbox, actor, actor, days=3)
    assert services.pop3_exception_send_reminders(now=NOW) == 1
    assert mail.outbox == []
    exception.refresh_from_db()
    assert exception.reminder_sent_at == NOW
