"""Retention rules: preview counts, the confirm step, refusals, audit, the view, the pages."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from audit.models import Action, AuditEvent
from policies import holds
from policies.models import RetentionRule
from policies.retention import (
    RETENTION_ERRORS,
    retention_preview,
    retention_rule_set,
)
from tests.conftest import login_client
from tests.factories import DomainFactory, MailboxFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailboxes(domain, other_domain):
    return [
        *(MailboxFactory(domain=domain, local_part=f"u{i}") for i in range(3)),
        *(MailboxFactory(domain=other_domain, local_part=f"v{i}") for i in range(2)),
    ]


def message(code, **params):
    return str(RETENTION_ERRORS[code]) % params if params else str(RETENTION_ERRORS[code])


def view_days(address):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT autoexpunge_trash, autoexpunge_junk FROM dovecot_users WHERE username = %s",
            [address],
        )
        return cursor.fetchone()


def test_preview_counts_every_mailbox_for_an_org_rule(mailboxes):
    preview = retention_preview(domain=None, folder="Trash", retention_days=30)
    assert preview.mailboxes == 5
    assert preview.deletes_more
    assert preview.text == "Trash older than 30 days will be deleted by the server in 5 mailboxes."


def test_preview_leaves_out_domains_with_their_own_rule_and_held_mailboxes(
    mailboxes, domain, other_domain, mail_admin, compliance_officer
):
    retention_rule_set(actor=mail_admin, domain=other_domain, folder="Trash", retention_days=0)
    holds.hold_place(
        actor=compliance_officer,
        matter_name="M",
        matter_reference="R",
        reason="r",
        mailboxes=[mailboxes[0]],
    )
    preview = retention_preview(domain=None, folder="Trash", retention_days=30)
    assert (preview.mailboxes, preview.held) == (2, 1)
    assert preview.text == (
        "Trash older than 30 days will be deleted by the server in 2 mailboxes. "
        "1 mailbox on legal hold keep everything."
    )


def test_preview_uses_thousands_separators():
    from policies.retention import RetentionPreview

    preview = RetentionPreview("Trash", "the organisation", 0, 30, 1234, 0)
    assert (
        preview.text == "Trash older than 30 days will be deleted by the server in 1,234 mailboxes."
    )


def test_enabling_without_confirmation_is_refused_with_the_preview(mailboxes, mail_admin):
    with pytest.raises(ValidationError) as refused:
        retention_rule_set(actor=mail_admin, domain=None, folder="Trash", retention_days=30)
    preview = "Trash older than 30 days will be deleted by the server in 5 mailboxes."
    assert refused.value.messages == [message("confirm_required", preview=preview)]
    assert not RetentionRule.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.RETENTION_RULE_CHANGED).exists()


def test_shortening_needs_confirmation_lengthening_does_not(mailboxes, mail_admin):
    retention_rule_set(
        actor=mail_admin, domain=None, folder="Junk", retention_days=30, confirmed=True
    )
    with pytest.raises(ValidationError) as refused:
        retention_rule_set(actor=mail_admin, domain=None, folder="Junk", retention_days=7)
    assert refused.value.code == "confirm_required"
    assert RetentionRule.objects.get().retention_days == 30
    retention_rule_set(actor=mail_admin, domain=None, folder="Junk", retention_days=60)
    assert RetentionRule.objects.get().retention_days == 60


def test_change_is_audited_with_before_and_after(mailboxes, mail_admin):
    retention_rule_set(
        actor=mail_admin, domain=None, folder="Trash", retention_days=30, confirmed=True
    )
    retention_rule_set(actor=mail_admin, domain=None, folder="Trash", retention_days=45)
    events = AuditEvent.objects.filter(action=Action.RETENTION_RULE_CHANGED).order_by("id")
    assert [e.details["changes"]["retention_days"] for e in events] == [
        {"old": None, "new": 30},
        {"old": 30, "new": 45},
    ]
    assert events[0].target_repr == "Trash retention (the organisation)"


def test_domain_rule_overrides_org_in_the_view(mailboxes, domain, mail_admin):
    retention_rule_set(
        actor=mail_admin, domain=None, folder="Trash", retention_days=30, confirmed=True
    )
    retention_rule_set(
        actor=mail_admin, domain=domain, folder="Trash", retention_days=7, confirmed=True
    )
    assert view_days(mailboxes[0].address) == (7, 0)
    assert view_days(mailboxes[3].address) == (30, 0)
    retention_rule_set(actor=mail_admin, domain=domain, folder="Trash", retention_days=None)
    assert view_days(mailboxes[0].address) == (30, 0)


def test_hold_forces_autoexpunge_zero_in_both_views(mailboxes, mail_admin, compliance_officer):
    retention_rule_set(
        actor=mail_admin, domain=None, folder="Archive", retention_days=90, confirmed=True
    )
    retention_rule_set(
        actor=mail_admin, domain=None, folder="Trash", retention_days=30, confirmed=True
    )
    held = mailboxes[0]
    holds.hold_place(
        actor=compliance_officer,
        matter_name="M",
        matter_reference="R",
        reason="r",
        mailboxes=[held],
    )
    assert view_days(held.address) == (0, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT folder, days FROM dovecot_retention WHERE mailbox_id IN (%s, %s) "
            "ORDER BY mailbox_id, folder",
            [held.pk, mailboxes[1].pk],
        )
        assert cursor.fetchall() == [("Archive", 0), ("Trash", 0), ("Archive", 90), ("Trash", 30)]


@pytest.mark.parametrize(
    ("folder", "days", "code", "params"),
    [
        (".hidden", 5, "folder_invalid", {"folder": ".hidden"}),
        ("bad'quote", 5, "folder_invalid", {"folder": "bad'quote"}),
        ("EXPUNGED", 5, "folder_preserved", {"folder": "EXPUNGED"}),
        ("Trash", 36501, "days_range", {"max": 36500, "days": 36501}),
        ("Trash", -1, "days_range", {"max": 36500, "days": -1}),
    ],
)
def test_refuses_bad_folders_and_days(mail_admin, folder, days, code, params):
    with pytest.raises(ValidationError) as refused:
        retention_rule_set(
            actor=mail_admin, domain=None, folder=folder, retention_days=days, confirmed=True
        )
    assert refused.value.messages == [message(code, **params)]
    assert not RetentionRule.objects.exists()


def test_domain_admin_cannot_set_org_or_other_domains(domain_admin, other_domain, domain):
    with pytest.raises(ValidationError) as refused:
        retention_rule_set(
            actor=domain_admin, domain=None, folder="Trash", retention_days=3, confirmed=True
        )
    assert refused.value.messages == [message("not_allowed_org")]
    with pytest.raises(ValidationError) as refused:
        retention_rule_set(
            actor=domain_admin,
            domain=other_domain,
            folder="Trash",
            retention_days=3,
            confirmed=True,
        )
    assert refused.value.messages == [message("not_allowed_domain", domain="elsewhere.test")]
    retention_rule_set(
        actor=domain_admin, domain=domain, folder="Trash", retention_days=3, confirmed=True
    )
    assert RetentionRule.objects.get().domain == domain


# --- Pages ------------------------------------------------------------------------------------


def test_retention_page_readable_by_every_role(auditor, compliance_officer, mail_admin):
    for user in (auditor, compliance_officer):
        page = login_client(user).get("/policies/retention/")
        assert page.status_code == 200
        assert "Preview and save" not in page.content.decode()
    page = login_client(mail_admin).get("/policies/retention/")
    assert "Preview and save" in page.content.decode()


def test_retention_page_needs_login(client):
    response = client.get("/policies/retention/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@pytest.mark.parametrize("persona", ["auditor", "compliance_officer", "norole"])
def test_retention_changes_need_an_account_editor(request, persona):
    client = login_client(request.getfixturevalue(persona))
    data = {"domain": "", "folder": "Trash", "retention_days": "3", "confirmed": "on"}
    assert client.post("/policies/retention/set/", data).status_code == 403
    assert not RetentionRule.objects.exists()


def test_outsider_gets_404_for_a_domain_not_theirs(outsider, domain):
    data = {"domain": domain.pk, "folder": "Trash", "retention_days": "3", "confirmed": "on"}
    response = login_client(outsider).post("/policies/retention/set/", data)
    assert response.status_code == 404
    assert not RetentionRule.objects.exists()


def test_enabling_through_the_page_shows_the_confirm_step_then_saves(mail_admin, mailboxes):
    client = login_client(mail_admin)
    data = {"domain": "", "folder": "Trash", "retention_days": "30"}
    page = client.post("/policies/retention/set/", data)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Trash older than 30 days will be deleted by the server in 5 mailboxes." in text
    assert 'name="confirmed" value="on"' in text
    assert not RetentionRule.objects.exists()
    response = client.post("/policies/retention/set/", {**data, "confirmed": "on"})
    assert response.status_code == 302
    assert RetentionRule.objects.get().retention_days == 30


def test_page_shows_refusal_next_to_the_field(mail_admin):
    data = {"domain": "", "folder": ".bad", "retention_days": "3", "confirmed": "on"}
    page = login_client(mail_admin).post("/policies/retention/set/", data)
    assert page.status_code == 200
    assert message("folder_invalid", folder=".bad") in page.content.decode()
    assert not RetentionRule.objects.exists()


def test_domain_admin_sets_a_rule_for_their_domain(domain_admin, domain):
    DomainFactory(name="unrelated.test")
    data = {"domain": domain.pk, "folder": "Junk", "retention_days": "14", "confirmed": "on"}
    response = login_client(domain_admin).post("/policies/retention/set/", data)
    assert response.status_code == 302
    assert RetentionRule.objects.get().folder == "Junk"
