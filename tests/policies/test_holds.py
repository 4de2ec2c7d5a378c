"""Legal holds: services, refusals (exact message, nothing changed), account refusals, views."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Domain, Mailbox
from accounts.services import domain_delete, mailbox_delete, mailbox_suspend
from audit.models import Action, AuditEvent
from policies import holds
from policies.holds import HOLD_ERRORS
from policies.models import HoldCustodian, HoldEnforcement, LegalHold
from tests.conftest import login_client
from tests.factories import DomainFactory, MailboxFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(domain):
    return MailboxFactory(domain=domain, local_part="alice")


@pytest.fixture
def hold(compliance_officer, mailbox):
    return holds.hold_place(
        actor=compliance_officer,
        matter_name="Acme v. Example",
        matter_reference="CASE-42",
        reason="Litigation expected over the Acme contract",
        mailboxes=[mailbox],
    )


def message(code, **params):
    text = str(HOLD_ERRORS[code])
    return text % params if params else text


def refusal(call):
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value


def test_place_hold_records_custodians_pending_enforcement_and_audit(hold, mailbox):
    custodian = hold.custodians.get()
    assert (custodian.kind, custodian.mailbox, custodian.name) == (
        "mailbox",
        mailbox,
        mailbox.address,
    )
    enforcement = HoldEnforcement.objects.get()
    assert enforcement.address == mailbox.address
    assert enforcement.in_force_at is None
    event = AuditEvent.objects.get(action=Action.HOLD_PLACED)
    assert event.details["matter"] == "Acme v. Example"
    assert event.details["matter_reference"] == "CASE-42"
    assert event.details["custodians"] == [mailbox.address]


def test_place_hold_enqueues_one_task_per_mailbox_after_commit(
    compliance_officer, domain, django_capture_on_commit_callbacks, monkeypatch
):
    MailboxFactory(domain=domain, local_part="a")
    MailboxFactory(domain=domain, local_part="b")
    sent = []
    from policies import tasks

    monkeypatch.setattr(tasks.enforce_hold_task, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        holds.hold_place(
            actor=compliance_officer,
            matter_name="M",
            matter_reference="R-1",
            reason="why",
            domains=[domain],
        )
    assert sorted(sent) == sorted(HoldEnforcement.objects.values_list("pk", flat=True))
    assert len(sent) == 2


@pytest.mark.parametrize("persona", ["mail_admin", "domain_admin", "auditor"])
def test_only_compliance_officers_place_holds(request, persona, mailbox):
    actor = request.getfixturevalue(persona)
    error = refusal(
        lambda: holds.hold_place(
            actor=actor, matter_name="M", matter_reference="R", reason="x", mailboxes=[mailbox]
        )
    )
    assert error.messages == [message("not_allowed")]
    assert not LegalHold.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"matter_name": " "}, "matter_required"),
        ({"matter_reference": ""}, "reference_required"),
        ({"reason": "  "}, "reason_required"),
        ({"mailboxes": []}, "custodians_required"),
    ],
)
def test_place_refuses_missing_parts(compliance_officer, mailbox, kwargs, code):
    args = {
        "matter_name": "M",
        "matter_reference": "R",
        "reason": "because",
        "mailboxes": [mailbox],
        **kwargs,
    }
    error = refusal(lambda: holds.hold_place(actor=compliance_officer, **args))
    assert error.messages == [message(code)]
    assert not LegalHold.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.HOLD_PLACED).exists()


def test_place_refuses_end_before_start(compliance_officer, mailbox):
    error = refusal(
        lambda: holds.hold_place(
            actor=compliance_officer,
            matter_name="M",
            matter_reference="R",
            reason="because",
            mailboxes=[mailbox],
            starts_on=date(2026, 5, 2),
            ends_on=date(2026, 5, 1),
        )
    )
    assert error.messages == [message("ends_before_start", ends="2026-05-01", starts="2026-05-02")]
    assert not LegalHold.objects.exists()


def test_add_and_remove_custodian_with_reason(hold, compliance_officer, domain):
    other = MailboxFactory(domain=domain, local_part="bob")
    custodian = holds.hold_custodian_add(
        actor=compliance_officer, hold=hold, mailbox=other, reason="Bob joined the deal team"
    )
    assert HoldEnforcement.objects.filter(custodian=custodian).count() == 1
    holds.hold_custodian_remove(
        actor=compliance_officer, custodian=custodian, reason="Not involved"
    )
    custodian.refresh_from_db()
    assert custodian.removed_at is not None
    assert custodian.remove_reason == "Not involved"
    actions = list(
        AuditEvent.objects.filter(details__matter_reference="CASE-42")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        Action.HOLD_PLACED,
        Action.HOLD_CUSTODIAN_ADDED,
        Action.HOLD_CUSTODIAN_REMOVED,
    ]


def test_add_refuses_current_custodian_and_blank_reason(hold, compliance_officer, mailbox):
    error = refusal(
        lambda: holds.hold_custodian_add(
            actor=compliance_officer, hold=hold, mailbox=mailbox, reason="again"
        )
    )
    assert error.messages == [
        message("already_custodian", name=mailbox.address, matter="Acme v. Example")
    ]
    error = refusal(
        lambda: holds.hold_custodian_add(
            actor=compliance_officer, hold=hold, mailbox=mailbox, reason=" "
        )
    )
    assert error.messages == [message("custodian_reason_required")]
    assert hold.custodians.count() == 1


def test_remove_refuses_blank_reason(hold, compliance_officer):
    custodian = hold.custodians.get()
    error = refusal(
        lambda: holds.hold_custodian_remove(
            actor=compliance_officer, custodian=custodian, reason=""
        )
    )
    assert error.messages == [message("custodian_reason_required")]
    custodian.refresh_from_db()
    assert custodian.removed_at is None


def test_release_requires_reason_and_only_once(hold, compliance_officer):
    error = refusal(lambda: holds.hold_release(actor=compliance_officer, hold=hold, reason=""))
    assert error.messages == [message("release_reason_required")]
    hold.refresh_from_db()
    assert hold.released_at is None
    holds.hold_release(actor=compliance_officer, hold=hold, reason="Case settled")
    hold.refresh_from_db()
    when = f"{hold.released_at:%Y-%m-%d %H:%M} UTC"
    error = refusal(lambda: holds.hold_release(actor=compliance_officer, hold=hold, reason="x"))
    assert error.messages == [message("already_released", matter="Acme v. Example", when=when)]
    assert AuditEvent.objects.filter(action=Action.HOLD_RELEASED).count() == 1


def test_released_hold_refuses_new_custodians(hold, compliance_officer, domain):
    holds.hold_release(actor=compliance_officer, hold=hold, reason="Case settled")
    other = MailboxFactory(domain=domain, local_part="carl")
    hold.refresh_from_db()
    when = f"{hold.released_at:%Y-%m-%d %H:%M} UTC"
    error = refusal(
        lambda: holds.hold_custodian_add(
            actor=compliance_officer, hold=hold, mailbox=other, reason="late"
        )
    )
    assert error.messages == [message("already_released", matter="Acme v. Example", when=when)]
    assert hold.custodians.count() == 1


def test_held_mailbox_cannot_be_deleted_but_can_be_suspended(hold, mailbox, superadmin):
    error = refusal(lambda: mailbox_delete(mailbox=mailbox, actor=superadmin))
    assert error.messages == [
        message(
            "mailbox_on_hold",
            mailbox=mailbox.address,
            matters="“Acme v. Example” (CASE-42)",
        )
    ]
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()
    assert not AuditEvent.objects.filter(action=Action.MAILBOX_DELETED).exists()
    mailbox_suspend(mailbox=mailbox, actor=superadmin)
    mailbox.refresh_from_db()
    assert mailbox.is_active is False


def test_domain_hold_covers_later_mailboxes_and_blocks_domain_delete(
    compliance_officer, superadmin
):
    empty = DomainFactory(name="held.test")
    holds.hold_place(
        actor=compliance_officer,
        matter_name="Audit 2026",
        matter_reference="AUD-1",
        reason="Regulator request",
        domains=[empty],
    )
    error = refusal(lambda: domain_delete(domain=empty, actor=superadmin))
    assert error.messages == [
        message("domain_on_hold", domain="held.test", matters="“Audit 2026” (AUD-1)")
    ]
    assert Domain.objects.filter(pk=empty.pk).exists()
    later = MailboxFactory(domain=empty, local_part="newcomer")
    assert [h.matter_reference for h in holds.covering_holds(later)] == ["AUD-1"]
    error = refusal(lambda: mailbox_delete(mailbox=later, actor=superadmin))
    assert error.code == "mailbox_on_hold"


def test_release_makes_mailbox_deletable_again(hold, mailbox, compliance_officer, superadmin):
    holds.hold_release(actor=compliance_officer, hold=hold, reason="Case settled")
    mailbox_delete(mailbox=mailbox, actor=superadmin)
    assert not Mailbox.objects.filter(pk=mailbox.pk).exists()
    custodian = HoldCustodian.objects.get()
    assert custodian.mailbox is None
    assert custodian.name == "alice@example.test"


def test_view_reports_on_hold(hold, mailbox, compliance_officer, domain):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT on_hold, autoexpunge_trash FROM dovecot_users WHERE username = %s",
            [mailbox.address],
        )
        assert cursor.fetchone() == (1, 0)
        holds.hold_release(actor=compliance_officer, hold=hold, reason="Case settled")
        cursor.execute("SELECT on_hold FROM dovecot_users WHERE username = %s", [mailbox.address])
        assert cursor.fetchone() == (0,)


def test_audit_page_filters_by_matter(hold, auditor, compliance_officer, domain):
    holds.hold_place(
        actor=compliance_officer,
        matter_name="Other matter",
        matter_reference="OTH-9",
        reason="Other",
        domains=[domain],
    )
    page = login_client(auditor).get("/audit/", {"matter": "CASE-42"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Acme v. Example" in text
    assert "Other matter" not in text
    page = login_client(auditor).get("/audit/", {"matter": "acme"})
    assert "1 event" in page.content.decode()


# --- Views ------------------------------------------------------------------------------------


def test_hold_list_and_detail_for_viewers(hold, auditor, mail_admin):
    for user in (auditor, mail_admin):
        client = login_client(user)
        page = client.get("/policies/holds/")
        assert page.status_code == 200
        assert "Acme v. Example" in page.content.decode()
        detail = client.get(hold.get_absolute_url())
        assert detail.status_code == 200
        assert "pending" in detail.content.decode()
        assert "Release hold" not in detail.content.decode()


def test_hold_detail_partial_for_htmx(hold, compliance_officer, htmx_headers):
    page = login_client(compliance_officer).get(hold.get_absolute_url(), headers=htmx_headers)
    text = page.content.decode()
    assert 'id="custodians"' in text
    assert "<html" not in text
    assert 'hx-trigger="every 3s"' in text


def test_hold_pages_need_login(hold, client):
    for url in ("/policies/holds/", hold.get_absolute_url(), "/policies/holds/new/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/login/")


@pytest.mark.parametrize("persona", ["domain_admin", "norole"])
def test_domain_admins_cannot_see_hold_pages(request, persona, hold):
    client = login_client(request.getfixturevalue(persona))
    assert client.get("/policies/holds/").status_code == 403
    assert client.get(hold.get_absolute_url()).status_code == 403


@pytest.mark.parametrize("persona", ["mail_admin", "domain_admin", "auditor"])
def test_only_compliance_officers_may_post_hold_changes(request, persona, hold):
    client = login_client(request.getfixturevalue(persona))
    custodian = hold.custodians.get()
    assert client.get("/policies/holds/new/").status_code == 403
    assert client.post("/policies/holds/new/", {}).status_code == 403
    assert client.post(f"/policies/holds/{hold.pk}/release/", {"reason": "x"}).status_code == 403
    url = f"/policies/holds/custodians/{custodian.pk}/remove/"
    assert client.post(url, {"reason": "x"}).status_code == 403
    url = f"/policies/holds/{hold.pk}/custodians/add/"
    assert client.post(url, {"domain": "", "reason": "x"}).status_code == 403
    hold.refresh_from_db()
    assert hold.released_at is None


def test_unknown_hold_is_404(compliance_officer):
    client = login_client(compliance_officer)
    assert client.get("/policies/holds/999999/").status_code == 404
    assert client.post("/policies/holds/999999/release/", {"reason": "x"}).status_code == 404


def test_place_hold_through_the_page(compliance_officer, mailbox, domain):
    client = login_client(compliance_officer)
    assert client.get("/policies/holds/new/").status_code == 200
    response = client.post(
        "/policies/holds/new/",
        {
            "matter_name": "Page matter",
            "matter_reference": "PG-1",
            "reason": "Placed from the page",
            "mailboxes": "ALICE@example.test\n",
            "starts_on": "2026-01-05",
        },
    )
    hold = LegalHold.objects.get()
    assert response.status_code == 302
    assert response.url == hold.get_absolute_url()
    assert hold.placed_by == compliance_officer
    assert [c.name for c in hold.custodians.all()] == ["alice@example.test"]


def test_place_page_names_unknown_addresses(compliance_officer, mailbox):
    response = login_client(compliance_officer).post(
        "/policies/holds/new/",
        {"matter_name": "M", "matter_reference": "R", "reason": "r", "mailboxes": "ghost@x.test"},
    )
    assert response.status_code == 200
    assert "No mailbox ghost@x.test. Check the spelling: one address a line." in (
        response.content.decode()
    )
    assert not LegalHold.objects.exists()


def test_release_through_the_page_needs_a_reason(hold, compliance_officer):
    client = login_client(compliance_officer)
    response = client.post(f"/policies/holds/{hold.pk}/release/", {"reason": ""})
    assert response.status_code == 200
    assert message("release_reason_required") in response.content.decode()
    hold.refresh_from_db()
    assert hold.released_at is None
    response = client.post(f"/policies/holds/{hold.pk}/release/", {"reason": "Settled"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.release_reason == "Settled"


def test_remove_custodian_through_the_page(hold, compliance_officer):
    custodian = hold.custodians.get()
    client = login_client(compliance_officer)
    response = client.post(f"/policies/holds/custodians/{custodian.pk}/remove/", {"reason": "Gone"})
    assert response.status_code == 302
    custodian.refresh_from_db()
    assert custodian.remove_reason == "Gone"


def test_add_custodian_through_the_page(hold, compliance_officer, other_domain):
    response = login_client(compliance_officer).post(
        f"/policies/holds/{hold.pk}/custodians/add/",
        {"mailbox": "", "domain": other_domain.pk, "reason": "Whole subsidiary"},
    )
    assert response.status_code == 302
    assert hold.custodians.filter(domain=other_domain).exists()


def test_report_csv(hold, auditor, mailbox):
    HoldEnforcement.objects.update(preserved_messages=7)
    response = login_client(auditor).get(f"/policies/holds/{hold.pk}/report.csv")
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("matter,reference,custodian")
    assert lines[1].startswith("Acme v. Example,CASE-42,alice@example.test,mailbox,")
    assert ",alice@example.test,pending,7," in lines[1]


def test_mailbox_page_shows_badge_and_history_to_its_admins(hold, mailbox, domain_admin):
    page = login_client(domain_admin).get(mailbox.get_absolute_url())
    text = page.content.decode()
    assert page.status_code == 200
    assert "on hold: Acme v. Example" in text
    assert 'id="hold-history"' in text


def test_mailbox_page_of_never_held_mailbox_has_no_hold_panel(domain, domain_admin):
    plain = MailboxFactory(domain=domain, local_part="plain")
    page = login_client(domain_admin).get(plain.get_absolute_url())
    assert 'id="hold-history"' not in page.content.decode()


def test_mailbox_header_carries_the_hold_badge_until_release(
    hold, mailbox, mail_admin, compliance_officer
):
    from policies.holds import hold_release

    def header(client):
        text = client.get(mailbox.get_absolute_url()).content.decode()
        return text[text.index("<h1>") : text.index("</h1>")]

    client = login_client(mail_admin)
    assert "on hold: Acme v. Example" in header(client)
    hold_release(hold=hold, reason="matter settled", actor=compliance_officer)
    assert "on hold" not in header(client)


def test_mailbox_list_marks_held_mailboxes_in_one_query(
    hold, mailbox, domain, mail_admin, django_assert_max_num_queries
):
    MailboxFactory(domain=domain, local_part="free")
    client = login_client(mail_admin)
    with django_assert_max_num_queries(10):
        response = client.get("/accounts/mailboxes/")
    rows = {m.local_part: m.hold_matters for m in response.context["page_obj"].object_list}
    assert rows[mailbox.local_part] == ["Acme v. Example"]
    assert rows["free"] == []
    assert 'title="on legal hold: Acme v. Example"' in response.content.decode()
