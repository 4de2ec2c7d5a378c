"""Acting again on something already finished (a revoked or expired POP3 exception, a released
hold, a removed custodian) is refused with its plain-language message, whatever the input, and
changes nothing. These came back without any message before (tests/test_fuzz_forms.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import AuditEvent
from policies import holds, services
from policies.holds import HOLD_ERRORS
from policies.models import HoldCustodian, LegalHold, Pop3Exception
from policies.rules import format_moment
from policies.services import ERROR_MESSAGES
from tests.conftest import login_client
from tests.factories import MailboxFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
REVOKE = {"reason": "Not needed any more", "confirm": "on", "next": "/accounts/mailboxes/"}


@pytest.fixture
def mailbox(domain):
    return MailboxFactory(domain=domain, local_part="alice")


@pytest.fixture
def exception(mailbox, mail_admin):
    approver = UserFactory(username="ada", roles=["mail_admin"])
    return services.pop3_exception_grant(
        actor=mail_admin,
        mailbox=mailbox,
        reason="Legacy scanner needs POP3",
        approver=approver,
        expires_at=timezone.now() + timedelta(days=3),
    )


@pytest.fixture
def hold(compliance_officer, mailbox):
    return holds.hold_place(
        actor=compliance_officer,
        matter_name="Acme v. Example",
        matter_reference="CASE-42",
        reason="Litigation expected over the Acme contract",
        mailboxes=[mailbox],
    )


def snapshot(model, pk):
    """The row's values and the audit trail's length: what must not change on a refusal."""
    return model.objects.filter(pk=pk).values().get(), AuditEvent.objects.count()


def page_text(response):
    assert response.status_code == 200
    return response.content.decode()


# --- POP3 exception ---------------------------------------------------------------------------


@pytest.mark.parametrize("data", [REVOKE, {}], ids=["complete", "empty"])
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_revoking_an_exception_again_says_it_was_already_revoked(
    exception, mail_admin, data, headers
):
    services.pop3_exception_revoke(actor=mail_admin, exception=exception, reason="Done with it")
    exception.refresh_from_db()
    before = snapshot(Pop3Exception, exception.pk)
    url = reverse("policies:pop3_exception_revoke", args=[exception.pk])

    text = page_text(login_client(mail_admin).post(url, data, headers=headers))

    expected = ERROR_MESSAGES["already_revoked"] % {
        "when": format_moment(exception.revoked_at),
        "who": mail_admin.get_full_name() or mail_admin.get_username(),
    }
    assert f'<p class="msg msg-error" role="alert">{escape(expected)}</p>' in text
    assert "Give a reason for revoking" not in text
    assert snapshot(Pop3Exception, exception.pk) == before


def test_revoking_an_expired_exception_says_it_expired(exception, mail_admin):
    past = timezone.now() - timedelta(hours=1)
    Pop3Exception.objects.filter(pk=exception.pk).update(
        starts_at=past - timedelta(days=1), expires_at=past
    )
    before = snapshot(Pop3Exception, exception.pk)
    url = reverse("policies:pop3_exception_revoke", args=[exception.pk])

    text = page_text(login_client(mail_admin).post(url, REVOKE, headers=HX))

    expected = ERROR_MESSAGES["already_expired"] % {"when": format_moment(past)}
    assert escape(expected) in text
    assert snapshot(Pop3Exception, exception.pk) == before


def test_the_revocable_check_passes_an_active_exception(exception):
    services.pop3_exception_check_revocable(exception=exception)  # does not raise
    assert exception.revoked_at is None


# --- Hold release -----------------------------------------------------------------------------


@pytest.mark.parametrize("data", [{"reason": "Settled again"}, {}], ids=["reason", "empty"])
def test_releasing_a_hold_again_says_it_was_already_released(hold, compliance_officer, data):
    holds.hold_release(actor=compliance_officer, hold=hold, reason="Settled")
    hold.refresh_from_db()
    before = snapshot(LegalHold, hold.pk)
    url = reverse("policies:hold_release", args=[hold.pk])

    text = page_text(login_client(compliance_officer).post(url, data))

    expected = HOLD_ERRORS["already_released"] % {
        "matter": "Acme v. Example",
        "when": f"{hold.released_at:%Y-%m-%d %H:%M} UTC",
    }
    assert f'<div class="alert alert-error" role="alert"><p>{escape(expected)}</p></div>' in text
    assert str(HOLD_ERRORS["release_reason_required"]) not in text
    assert snapshot(LegalHold, hold.pk) == before


def test_release_with_a_blank_reason_still_asks_for_one(hold, compliance_officer):
    before = snapshot(LegalHold, hold.pk)
    url = reverse("policies:hold_release", args=[hold.pk])

    text = page_text(login_client(compliance_officer).post(url, {"reason": " "}))

    assert str(HOLD_ERRORS["release_reason_required"]) in text
    assert 'class="alert alert-error"' not in text  # a field error, not a page refusal
    assert snapshot(LegalHold, hold.pk) == before


# --- Custodian removal ------------------------------------------------------------------------


@pytest.mark.parametrize("data", [{"reason": "Left again"}, {}], ids=["reason", "empty"])
def test_removing_a_custodian_again_says_it_was_already_removed(
    hold, compliance_officer, mailbox, data
):
    custodian = hold.custodians.get()
    holds.hold_custodian_remove(actor=compliance_officer, custodian=custodian, reason="Left")
    custodian.refresh_from_db()
    before = snapshot(HoldCustodian, custodian.pk)
    url = reverse("policies:hold_custodian_remove", args=[custodian.pk])

    text = page_text(login_client(compliance_officer).post(url, data))

    expected = HOLD_ERRORS["custodian_removed"] % {
        "name": mailbox.address,
        "when": f"{custodian.removed_at:%Y-%m-%d %H:%M} UTC",
    }
    assert f'<div class="alert alert-error" role="alert"><p>{escape(expected)}</p></div>' in text
    assert snapshot(HoldCustodian, custodian.pk) == before


def test_removing_a_custodian_of_a_released_hold_says_the_hold_was_released(
    hold, compliance_officer
):
    custodian = hold.custodians.get()
    holds.hold_release(actor=compliance_officer, hold=hold, reason="Settled")
    hold.refresh_from_db()
    before = snapshot(HoldCustodian, custodian.pk)
    url = reverse("policies:hold_custodian_remove", args=[custodian.pk])

    text = page_text(login_client(compliance_officer).post(url, {"reason": "Left"}))

    expected = HOLD_ERRORS["already_released"] % {
        "matter": "Acme v. Example",
        "when": f"{hold.released_at:%Y-%m-%d %H:%M} UTC",
    }
    assert escape(expected) in text
    assert snapshot(HoldCustodian, custodian.pk) == before


# --- Pages with several reason fields ---------------------------------------------------------


def duplicate_ids(html: str) -> set[str]:
    """Form controls' ids (what labels point to) used more than once."""
    ids = re.findall(r'\bid="(id_[^"]+)"', html)
    return {i for i in ids if ids.count(i) > 1}


def test_mailbox_page_with_an_exception_has_unique_field_ids(exception, mailbox, mail_admin):
    """The revoke form and the grant form both have a reason: each label names its own field."""
    text = page_text(login_client(mail_admin).get(mailbox.get_absolute_url()))
    assert f'for="id_revoke{exception.pk}_reason"' in text
    assert duplicate_ids(text) == set()


def test_hold_page_has_unique_field_ids(hold, compliance_officer):
    """Add, remove and release each have a reason field."""
    custodian = hold.custodians.get()
    text = page_text(login_client(compliance_officer).get(hold.get_absolute_url()))
    assert 'for="id_release_reason"' in text
    assert f'for="id_remove{custodian.pk}_reason"' in text
    assert duplicate_ids(text) == set()
