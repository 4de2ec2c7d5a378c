# factory_boy calls are typed as returning the factory, not the model (project-wide).
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Alias, Domain, Mailbox, QuotaUsage
from accounts.passwords import check_password
from accounts.services import (
    alias_create,
    alias_delete,
    alias_update,
    domain_create,
    domain_delete,
    domain_set_administrators,
    domain_update,
    mailbox_create,
    mailbox_delete,
    mailbox_reactivate,
    mailbox_set_password,
    mailbox_set_quota,
    mailbox_suspend,
    mailbox_update,
)
from audit.models import Action, AuditEvent
from tests.accounts.helpers import last_event, message_of
from tests.factories import AliasFactory, DomainFactory, MailboxFactory

GB = 1_000_000_000
PASSWORD = "a-long-mailbox-passphrase"


def _settings(domain, **overrides):
    values = {
        "is_active": domain.is_active,
        "default_quota_bytes": domain.default_quota_bytes,
        "default_quota_messages": domain.default_quota_messages,
        "quota_bytes": domain.quota_bytes,
        "max_mailboxes": domain.max_mailboxes,
    }
    values.update(overrides)
    return values


# --- domains -----------------------------------------------------------------------------


def test_domain_create_stores_idna_and_audits(superadmin):
    domain = domain_create(name="Bücher.Example", actor=superadmin, quota_bytes=5 * GB)
    assert domain.name == "xn--bcher-kva.example"
    assert domain.display_name == "bücher.example"
    event = last_event(Action.DOMAIN_CREATED)
    assert event.actor == superadmin
    assert event.details["created"]["name"] == "xn--bcher-kva.example"
    assert event.details["created"]["quota_bytes"] == 5 * GB


def test_domain_create_refuses_existing_domain(superadmin, domain):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        domain_create(name="EXAMPLE.test", actor=superadmin)
    assert message_of(exc) == "The domain example.test already exists."
    assert Domain.objects.count() == 1
    assert AuditEvent.objects.count() == before


def test_domain_create_refuses_invalid_name(superadmin):
    with pytest.raises(ValidationError) as exc:
        domain_create(name="not a domain", actor=superadmin)
    assert message_of(exc) == (
        "“not a domain” contains a space, which cannot be part of a domain name. "
        "Use letters, digits, hyphens and dots."
    )
    assert not Domain.objects.exists()


def test_domain_create_refuses_default_above_quota(superadmin):
    with pytest.raises(ValidationError) as exc:
        domain_create(name="a.test", actor=superadmin, quota_bytes=GB, default_quota_bytes=2 * GB)
    assert message_of(exc) == (
        "The default mailbox size (2.0 GB) is larger than the domain's storage quota (1.0 GB). "
        "Lower the default or raise the domain quota."
    )
    assert not Domain.objects.exists()


def test_domain_update_records_before_and_after(superadmin, domain):
    domain_update(
        domain=domain, actor=superadmin, **_settings(domain, max_mailboxes=7, is_active=False)
    )
    domain.refresh_from_db()
    assert (domain.max_mailboxes, domain.is_active) == (7, False)
    event = last_event(Action.DOMAIN_UPDATED)
    assert event.details == {
        "is_active": {"old": True, "new": False},
        "max_mailboxes": {"old": 0, "new": 7},
    }


def test_domain_update_without_change_writes_no_event(superadmin, domain):
    before = AuditEvent.objects.count()
    domain_update(domain=domain, actor=superadmin, **_settings(domain))
    assert AuditEvent.objects.count() == before


def test_domain_update_refuses_quota_below_allocated(superadmin, domain):
    MailboxFactory.create_batch(3, domain=domain, quota_bytes=2 * GB)
    with pytest.raises(ValidationError) as exc:
        domain_update(domain=domain, actor=superadmin, **_settings(domain, quota_bytes=5 * GB))
    assert message_of(exc) == (
        "The mailboxes of example.test already have 6.0 GB of quota in all, so the domain quota "
        "cannot be 5.0 GB. Choose at least 6.0 GB or lower mailbox quotas first."
    )
    domain.refresh_from_db()
    assert domain.quota_bytes == 10 * GB


def test_domain_update_refuses_quota_while_a_mailbox_is_unlimited(superadmin, other_domain):
    MailboxFactory(domain=other_domain, quota_bytes=0)
    with pytest.raises(ValidationError) as exc:
        domain_update(
            domain=other_domain, actor=superadmin, **_settings(other_domain, quota_bytes=GB)
        )
    assert message_of(exc) == (
        "elsewhere.test has 1 mailbox without a size limit, so the domain cannot have a storage "
        "quota. Give each mailbox a size first, or keep the domain quota at 0 (no limit)."
    )
    other_domain.refresh_from_db()
    assert other_domain.quota_bytes == 0


def test_domain_update_refuses_limit_below_count(superadmin, domain):
    MailboxFactory.create_batch(3, domain=domain)
    with pytest.raises(ValidationError) as exc:
        domain_update(domain=domain, actor=superadmin, **_settings(domain, max_mailboxes=2))
    assert message_of(exc) == (
        "example.test already has 3 mailboxes, so the limit cannot be 2. Choose at least 3 or "
        "delete mailboxes first."
    )
    domain.refresh_from_db()
    assert domain.max_mailboxes == 0


def test_domain_delete_refuses_while_not_empty(superadmin, domain):
    MailboxFactory.create_batch(2, domain=domain)
    AliasFactory(domain=domain)
    with pytest.raises(ValidationError) as exc:
        domain_delete(domain=domain, actor=superadmin)
    assert message_of(exc) == (
        "example.test still has 2 mailboxes and 1 alias. Delete them first: only an empty "
        "domain can be deleted."
    )
    assert Domain.objects.filter(pk=domain.pk).exists()


def test_domain_delete_removes_empty_domain(superadmin, domain):
    pk = domain.pk
    domain_delete(domain=domain, actor=superadmin)
    assert not Domain.objects.filter(pk=pk).exists()
    event = last_event(Action.DOMAIN_DELETED)
    assert event.target_id == str(pk)
    assert event.target_repr == "example.test"


def test_domain_set_administrators(superadmin, domain, outsider, domain_admin):
    domain_set_administrators(domain=domain, users=[outsider], actor=superadmin)
    assert list(domain.administrators.all()) == [outsider]
    assert last_event(Action.DOMAIN_ADMINS_CHANGED).details == {
        "administrators": {"old": ["dora"], "new": ["otto"]}
    }


def test_domain_set_administrators_refuses_user_without_role(
    superadmin, domain, auditor, domain_admin
):
    with pytest.raises(ValidationError) as exc:
        domain_set_administrators(domain=domain, users=[auditor], actor=superadmin)
    assert message_of(exc) == (
        "audrey cannot administer a domain: only users with the Domain administrator role can. "
        "Give them that role first."
    )
    assert list(domain.administrators.all()) == [domain_admin]


# --- mailboxes ---------------------------------------------------------------------------


def test_mailbox_create_hashes_password_and_uses_defaults(mail_admin, domain):
    mailbox = mailbox_create(
        domain=domain,
        local_part="Alice",
        password=PASSWORD,
        display_name=" Alice ",
        actor=mail_admin,
    )
    assert mailbox.address == "alice@example.test"
    assert mailbox.display_name == "Alice"
    assert mailbox.quota_bytes == domain.default_quota_bytes
    assert mailbox.password_hash.startswith("{ARGON2ID}$argon2id$")
    assert check_password(PASSWORD, mailbox.password_hash)
    event = last_event(Action.MAILBOX_CREATED)
    assert event.details["created"]["address"] == "alice@example.test"
    assert "password_hash" not in event.details["created"]


def test_mailbox_create_in_idn_domain(mail_admin):
    domain = DomainFactory(name="xn--bcher-kva.example")
    mailbox = mailbox_create(domain=domain, local_part="anna", password=PASSWORD, actor=mail_admin)
    assert mailbox.address == "anna@xn--bcher-kva.example"
    assert str(mailbox) == "anna@bücher.example"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "Enter a password."),
        ("short", "This password is too short. It must contain at least 10 characters."),
        ("1234567890123", "This password is entirely numeric."),
        ("password123", "This password is too common."),
        (
            "x" * 73,
            "This password is 73 bytes long; the limit is 72 bytes (Dovecot's BLF-CRYPT reads no "
            "more). Choose a shorter one.",
        ),
        (
            "é" * 37,
            "This password is 74 bytes long; the limit is 72 bytes (Dovecot's BLF-CRYPT reads no "
            "more). Choose a shorter one.",
        ),
    ],
)
def test_mailbox_create_refuses_bad_passwords(mail_admin, domain, password, message):
    with pytest.raises(ValidationError) as exc:
        mailbox_create(domain=domain, local_part="alice", password=password, actor=mail_admin)
    assert message in exc.value.messages
    assert not Mailbox.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.MAILBOX_CREATED).exists()


def test_mailbox_create_refuses_taken_address(mail_admin, domain):
    MailboxFactory(domain=domain, local_part="alice")
    with pytest.raises(ValidationError) as exc:
        mailbox_create(domain=domain, local_part="ALICE", password=PASSWORD, actor=mail_admin)
    assert message_of(exc) == "alice@example.test already exists as a mailbox."
    assert Mailbox.objects.count() == 1


def test_mailbox_create_refuses_address_of_an_alias(mail_admin, domain):
    AliasFactory(domain=domain, local_part="sales")
    with pytest.raises(ValidationError) as exc:
        mailbox_create(domain=domain, local_part="sales", password=PASSWORD, actor=mail_admin)
    assert message_of(exc) == (
        "sales@example.test is already an alias. Choose another address or delete the alias first."
    )
    assert not Mailbox.objects.exists()


def test_mailbox_create_refuses_bad_local_part(mail_admin, domain):
    with pytest.raises(ValidationError) as exc:
        mailbox_create(domain=domain, local_part="a..b", password=PASSWORD, actor=mail_admin)
    assert message_of(exc) == "“a..b” has two dots in a row. Remove one of them."
    assert not Mailbox.objects.exists()


def test_mailbox_create_enforces_max_mailboxes(mail_admin, domain):
    Domain.objects.filter(pk=domain.pk).update(max_mailboxes=1)
    MailboxFactory(domain=domain)
    with pytest.raises(ValidationError) as exc:
        mailbox_create(domain=domain, local_part="bob", password=PASSWORD, actor=mail_admin)
    assert message_of(exc) == (
        "example.test already has 1 mailbox, its limit. Raise the domain's mailbox limit or "
        "delete a mailbox first."
    )
    assert Mailbox.objects.count() == 1


def test_mailbox_create_refuses_more_than_domain_has_left(mail_admin, domain):
    MailboxFactory(domain=domain, quota_bytes=9 * GB)
    with pytest.raises(ValidationError) as exc:
        mailbox_create(
            domain=domain,
            local_part="bob",
            password=PASSWORD,
            quota_bytes=2_500_000_000,
            actor=mail_admin,
        )
    assert message_of(exc) == (
        "This mailbox needs 2.5 GB but the domain has 1.0 GB left. Raise the domain quota or "
        "choose a smaller size."
    )
    assert Mailbox.objects.count() == 1


def test_mailbox_create_refuses_unlimited_in_domain_with_quota(mail_admin, domain):
    with pytest.raises(ValidationError) as exc:
        mailbox_create(
            domain=domain, local_part="bob", password=PASSWORD, quota_bytes=0, actor=mail_admin
        )
    assert message_of(exc) == (
        "example.test has a storage quota of 10.0 GB, so its mailboxes need a size limit too "
        "(0 means no limit). Choose a size; the domain has 10.0 GB left."
    )
    assert not Mailbox.objects.exists()


def test_mailbox_update_changes_display_name(mail_admin, domain):
    mailbox = MailboxFactory(domain=domain, display_name="Old")
    mailbox_update(mailbox=mailbox, display_name="New Name", actor=mail_admin)
    mailbox.refresh_from_db()
    assert mailbox.display_name == "New Name"
    assert last_event(Action.MAILBOX_UPDATED).details == {
        "display_name": {"old": "Old", "new": "New Name"}
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 201, "The display name is 201 characters long; the limit is 200."),
        (
            "two\nlines",
            "The display name contains a line break or control character. Use a single line.",
        ),
    ],
)
def test_mailbox_update_refuses_bad_display_name(mail_admin, domain, name, message):
    mailbox = MailboxFactory(domain=domain, display_name="Old")
    with pytest.raises(ValidationError) as exc:
        mailbox_update(mailbox=mailbox, display_name=name, actor=mail_admin)
    assert message_of(exc) == message
    mailbox.refresh_from_db()
    assert mailbox.display_name == "Old"


def test_mailbox_set_password(mail_admin, domain):
    mailbox = MailboxFactory(domain=domain)
    mailbox_set_password(mailbox=mailbox, password="another-long-passphrase", actor=mail_admin)
    mailbox.refresh_from_db()
    assert check_password("another-long-passphrase", mailbox.password_hash)
    event = last_event(Action.MAILBOX_PASSWORD_CHANGED)
    assert event.details == {"scheme": {"old": "ARGON2ID", "new": "ARGON2ID"}}


def test_mailbox_set_password_refuses_weak_password(mail_admin, domain):
    mailbox = MailboxFactory(domain=domain)
    old_hash = mailbox.password_hash
    with pytest.raises(ValidationError) as exc:
        mailbox_set_password(mailbox=mailbox, password="short", actor=mail_admin)
    assert exc.value.messages == [
        "This password is too short. It must contain at least 10 characters."
    ]
    mailbox.refresh_from_db()
    assert mailbox.password_hash == old_hash
    assert not AuditEvent.objects.filter(action=Action.MAILBOX_PASSWORD_CHANGED).exists()


def test_mailbox_set_quota_records_change(mail_admin, domain):
    mailbox = MailboxFactory(domain=domain, quota_bytes=GB)
    mailbox_set_quota(mailbox=mailbox, quota_bytes=2 * GB, quota_messages=5000, actor=mail_admin)
    mailbox.refresh_from_db()
    assert (mailbox.quota_bytes, mailbox.quota_messages) == (2 * GB, 5000)
    assert last_event(Action.MAILBOX_QUOTA_CHANGED).details == {
        "quota_bytes": {"old": GB, "new": 2 * GB},
        "quota_messages": {"old": 0, "new": 5000},
    }


def test_set_quota_refuses_more_than_domain_has_left(mail_admin, domain):
    MailboxFactory(domain=domain, quota_bytes=8 * GB)
    mailbox = MailboxFactory(domain=domain, quota_bytes=GB)
    with pytest.raises(ValidationError) as exc:
        mailbox_set_quota(
            mailbox=mailbox, quota_bytes=2_500_000_000, quota_messages=0, actor=mail_admin
        )
    # its own current quota does not count against it: 10 - 8 = 2 GB left
    assert message_of(exc) == (
        "This mailbox needs 2.5 GB but the domain has 2.0 GB left. Raise the domain quota or "
        "choose a smaller size."
    )
    mailbox.refresh_from_db()
    assert mailbox.quota_bytes == GB
    assert not AuditEvent.objects.filter(action=Action.MAILBOX_QUOTA_CHANGED).exists()


def test_set_quota_refuses_negative(mail_admin, domain):
    mailbox = MailboxFactory(domain=domain, quota_bytes=GB)
    with pytest.raises(ValidationError) as exc:
        mailbox_set_quota(mailbox=mailbox, quota_bytes=GB, quota_messages=-1, actor=mail_admin)
    assert message_of(exc) == "The message limit cannot be negative. Use 0 for no limit."
    mailbox.refresh_from_db()
    assert mailbox.quota_messages == 0


def test_suspend_and_reactivate(mail_admin, domain):
    mailbox = MailboxFactory(domain=domain)
    mailbox_suspend(mailbox=mailbox, actor=mail_admin)
    mailbox.refresh_from_db()
    assert not mailbox.is_active
    assert last_event(Action.MAILBOX_SUSPENDED).details == {
        "is_active": {"old": True, "new": False}
    }
    with pytest.raises(ValidationError) as exc:
        mailbox_suspend(mailbox=mailbox, actor=mail_admin)
    assert message_of(exc) == f"{mailbox.address} is already suspended."
    mailbox_reactivate(mailbox=mailbox, actor=mail_admin)
    mailbox.refresh_from_db()
    assert mailbox.is_active
    with pytest.raises(ValidationError) as exc:
        mailbox_reactivate(mailbox=mailbox, actor=mail_admin)
    assert message_of(exc) == f"{mailbox.address} is already active."
    assert AuditEvent.objects.filter(action=Action.MAILBOX_REACTIVATED).count() == 1


def test_mailbox_delete_removes_it_from_aliases_and_usage(mail_admin, domain):
    alice = MailboxFactory(domain=domain, local_part="alice")
    MailboxFactory(domain=domain, local_part="bob")
    alias = AliasFactory(
        domain=domain, local_part="team", destinations=["alice@example.test", "bob@example.test"]
    )
    QuotaUsage.objects.create(username="alice@example.test", bytes=10, messages=1)
    mailbox_delete(mailbox=alice, actor=mail_admin)
    assert not Mailbox.objects.filter(address="alice@example.test").exists()
    assert not QuotaUsage.objects.filter(username="alice@example.test").exists()
    alias.refresh_from_db()
    assert alias.destinations == ["bob@example.test"]
    assert last_event(Action.ALIAS_UPDATED).details == {
        "destinations": {
            "old": ["alice@example.test", "bob@example.test"],
            "new": ["bob@example.test"],
        }
    }
    assert last_event(Action.MAILBOX_DELETED).details["deleted"]["address"] == "alice@example.test"


def test_mailbox_delete_refuses_while_sole_destination_of_an_alias(mail_admin, domain):
    alice = MailboxFactory(domain=domain, local_part="alice")
    AliasFactory(domain=domain, local_part="info", destinations=["alice@example.test"])
    with pytest.raises(ValidationError) as exc:
        mailbox_delete(mailbox=alice, actor=mail_admin)
    assert message_of(exc) == (
        "alice@example.test is the only destination of the alias info@example.test. Delete "
        "those aliases or give them another destination first."
    )
    assert Mailbox.objects.filter(pk=alice.pk).exists()
    assert not AuditEvent.objects.exists()


# --- aliases -----------------------------------------------------------------------------


def test_alias_create_normalises_destinations(mail_admin, domain):
    MailboxFactory(domain=domain, local_part="alice")
    alias = alias_create(
        domain=domain,
        local_part="Info",
        destinations=["Alice@Example.test", "partner+x@Bücher.example"],
        actor=mail_admin,
    )
    assert alias.address == "info@example.test"
    assert alias.destinations == ["alice@example.test", "partner+x@xn--bcher-kva.example"]
    assert alias.display_destinations == ["alice@example.test", "partner+x@bücher.example"]
    assert last_event(Action.ALIAS_CREATED).details["created"]["destinations"] == alias.destinations


@pytest.mark.parametrize(
    ("destinations", "message"),
    [
        ([], "Enter at least one destination address, one per line."),
        (
            ["nobody"],
            "“nobody” is not a valid destination: “nobody” has no @. Enter a full address, like "
            "alice@example.com.",
        ),
        (["a@x.org", "A@X.org"], "a@x.org is listed twice. List each destination once."),
        (
            ["ghost@example.test"],
            "There is no mailbox or alias ghost@example.test, and example.test is one of our "
            "domains. Create it first or check the spelling.",
        ),
        (
            ["info@example.test"],
            "These destinations would make mail go round in a loop: info@example.test → "
            "info@example.test. Remove one of the aliases from the chain.",
        ),
    ],
)
def test_alias_create_refuses_bad_destinations(mail_admin, domain, destinations, message):
    with pytest.raises(ValidationError) as exc:
        alias_create(domain=domain, local_part="info", destinations=destinations, actor=mail_admin)
    assert message_of(exc) == message
    assert not Alias.objects.exists()
    assert not AuditEvent.objects.exists()


def test_alias_update_refuses_loop_through_a_chain(mail_admin, domain):
    a = AliasFactory(domain=domain, local_part="a", destinations=["out@x.org"])
    AliasFactory(domain=domain, local_part="b", destinations=["a@example.test"])
    AliasFactory(domain=domain, local_part="c", destinations=["b@example.test"])
    with pytest.raises(ValidationError) as exc:
        alias_update(alias=a, destinations=["c@example.test"], is_active=True, actor=mail_admin)
    assert message_of(exc) == (
        "These destinations would make mail go round in a loop: a@example.test → c@example.test "
        "→ b@example.test → a@example.test. Remove one of the aliases from the chain."
    )
    a.refresh_from_db()
    assert a.destinations == ["out@x.org"]


def test_alias_refuses_shadowing_a_mailbox(mail_admin, domain):
    MailboxFactory(domain=domain, local_part="alice")
    with pytest.raises(ValidationError) as exc:
        alias_create(domain=domain, local_part="alice", destinations=["x@y.org"], actor=mail_admin)
    assert message_of(exc) == (
        "alice@example.test is a mailbox. An alias with the same address would hide it: choose "
        "another address."
    )
    assert not Alias.objects.exists()


def test_alias_refuses_duplicate(mail_admin, domain):
    AliasFactory(domain=domain, local_part="info")
    with pytest.raises(ValidationError) as exc:
        alias_create(domain=domain, local_part="info", destinations=["x@y.org"], actor=mail_admin)
    assert message_of(exc) == "The alias info@example.test already exists."
    assert Alias.objects.count() == 1


def test_alias_update_and_delete(mail_admin, domain):
    alias = AliasFactory(domain=domain, local_part="info", destinations=["x@y.org"])
    alias_update(alias=alias, destinations=["z@y.org"], is_active=False, actor=mail_admin)
    alias.refresh_from_db()
    assert (alias.destinations, alias.is_active) == (["z@y.org"], False)
    assert last_event(Action.ALIAS_UPDATED).details == {
        "destinations": {"old": ["x@y.org"], "new": ["z@y.org"]},
        "is_active": {"old": True, "new": False},
    }
    alias_delete(alias=alias, actor=mail_admin)
    assert not Alias.objects.exists()
    assert last_event(Action.ALIAS_DELETED).target_repr == "info@example.test"


def test_alias_delete_refuses_while_sole_destination_of_another(mail_admin, domain):
    inner = AliasFactory(domain=domain, local_part="inner", destinations=["x@y.org"])
    AliasFactory(domain=domain, local_part="outer", destinations=["inner@example.test"])
    with pytest.raises(ValidationError) as exc:
        alias_delete(alias=inner, actor=mail_admin)
    assert message_of(exc) == (
        "inner@example.test is the only destination of the alias outer@example.test. Delete "
        "those aliases or give them another destination first."
    )
    assert Alias.objects.count() == 2
