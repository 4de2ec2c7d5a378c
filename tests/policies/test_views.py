from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Domain
from audit.models import Action, AuditEvent
from policies import services
from policies.models import DomainPolicy, MailboxPolicy, OrgPolicy, Pop3Exception
from policies.selectors import org_policy
from tests.conftest import login_client
from tests.factories import DomainFactory, MailboxFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def mailbox(domain):
    return MailboxFactory(domain=domain, local_part="alice")


@pytest.fixture
def approver(db):
    return UserFactory(username="ada", first_name="Ada", last_name="Approver", roles=["mail_admin"])


def grant(mailbox, actor, approver, *, hours, reason="Legacy scanner needs POP3"):
    return services.pop3_exception_grant(
        actor=actor,
        mailbox=mailbox,
        reason=reason,
        approver=approver,
        expires_at=timezone.now() + timedelta(hours=hours),
    )


def count_queries(call):
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx)


# --- index ------------------------------------------------------------------------------------


def test_index_needs_login(client):
    response = client.get(reverse("policies:index"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_index_refuses_user_without_role(norole):
    assert login_client(norole).get(reverse("policies:index")).status_code == 403


def test_index_shows_org_form_to_mail_admin(mail_admin, domain, other_domain):
    org_policy()
    response = login_client(mail_admin).get(reverse("policies:index"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "TLS is always required." in text
    assert reverse("policies:org_policy_update") in text
    assert "example.test" in text
    assert "elsewhere.test" in text
    assert 'aria-current="page">Policy</a>' in text


def test_index_is_read_only_for_auditor(auditor, domain):
    org_policy()
    response = login_client(auditor).get(reverse("policies:index"))
    text = response.content.decode()
    assert response.status_code == 200
    assert reverse("policies:org_policy_update") not in text
    assert reverse("policies:domain_policy_set", args=[domain.pk]) not in text
    assert "Longest POP3 exception" in text


def test_index_shows_domain_admin_only_their_domains(domain_admin, domain, other_domain):
    org_policy()
    response = login_client(domain_admin).get(reverse("policies:index"))
    text = response.content.decode()
    assert reverse("policies:domain_policy_set", args=[domain.pk]) in text
    assert "elsewhere.test" not in text
    assert reverse("policies:org_policy_update") not in text


def test_index_query_count_does_not_grow_with_domains(mail_admin, django_assert_max_num_queries):
    org_policy()
    client = login_client(mail_admin)
    for i in range(3):
        DomainFactory(name=f"few{i}.test")
    few = count_queries(lambda: client.get(reverse("policies:index")))
    for i in range(12):
        DomainFactory(name=f"many{i}.test")
        services.domain_policy_set(
            actor=mail_admin, domain=Domain.objects.get(name=f"many{i}.test"), imap_enabled=False
        )
    many = count_queries(lambda: client.get(reverse("policies:index")))
    assert many == few
    with django_assert_max_num_queries(12):
        client.get(reverse("policies:index"))


# --- organisation defaults --------------------------------------------------------------------


ORG_POST = {"imap_enabled": "off", "min_tls_version": "TLSv1.3", "pop3_max_exception_days": "30"}


def test_org_update_full_page_redirects_and_saves(mail_admin):
    org_policy()
    response = login_client(mail_admin).post(reverse("policies:org_policy_update"), ORG_POST)
    assert response.status_code == 302
    assert response["Location"] == reverse("policies:index")
    policy = OrgPolicy.objects.get(pk=1)
    assert (policy.imap_enabled, policy.min_tls_version, policy.pop3_max_exception_days) == (
        False,
        "TLSv1.3",
        30,
    )
    assert (
        AuditEvent.objects.filter(action=Action.ORG_POLICY_CHANGED, actor=mail_admin).count() == 1
    )


def test_org_update_htmx_returns_the_form_partial(superadmin):
    org_policy()
    response = login_client(superadmin).post(
        reverse("policies:org_policy_update"), ORG_POST, headers=HX
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in text
    assert 'id="org-form"' in text
    assert "Organisation policy saved." in text
    assert OrgPolicy.objects.get(pk=1).min_tls_version == "TLSv1.3"


def test_org_update_invalid_shows_error_and_changes_nothing(mail_admin):
    org_policy()
    data = {**ORG_POST, "pop3_max_exception_days": "400"}
    response = login_client(mail_admin).post(
        reverse("policies:org_policy_update"), data, headers=HX
    )
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 366." in response.content.decode()
    assert OrgPolicy.objects.get(pk=1).pop3_max_exception_days == 90
    assert not AuditEvent.objects.filter(action=Action.ORG_POLICY_CHANGED).exists()


def test_org_update_invalid_without_js_renders_the_page(mail_admin):
    org_policy()
    data = {**ORG_POST, "min_tls_version": "TLSv1.0"}
    response = login_client(mail_admin).post(reverse("policies:org_policy_update"), data)
    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert "Select a valid choice." in response.content.decode()
    assert OrgPolicy.objects.get(pk=1).min_tls_version == "TLSv1.2"


@pytest.mark.parametrize("persona", ["domain_admin", "compliance_officer", "auditor", "norole"])
def test_org_update_refuses_other_roles(request, persona):
    org_policy()
    client = login_client(request.getfixturevalue(persona))
    assert client.post(reverse("policies:org_policy_update"), ORG_POST).status_code == 403
    assert OrgPolicy.objects.get(pk=1).imap_enabled is True


def test_org_update_anonymous_goes_to_login(client):
    response = client.post(reverse("policies:org_policy_update"), ORG_POST)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_org_update_is_post_only(mail_admin):
    assert login_client(mail_admin).get(reverse("policies:org_policy_update")).status_code == 405


# --- domain IMAP ------------------------------------------------------------------------------


def test_domain_set_htmx_returns_the_row(domain_admin, domain):
    url = reverse("policies:domain_policy_set", args=[domain.pk])
    response = login_client(domain_admin).post(url, {f"d{domain.pk}-imap": "off"}, headers=HX)
    text = response.content.decode()
    assert response.status_code == 200
    assert text.strip().startswith(f'<tr id="domain-row-{domain.pk}">')
    assert "Saved" in text
    assert DomainPolicy.objects.get(domain=domain).imap_enabled is False
    assert AuditEvent.objects.filter(action=Action.DOMAIN_POLICY_CHANGED).count() == 1


def test_domain_set_full_page_redirects(mail_admin, domain):
    url = reverse("policies:domain_policy_set", args=[domain.pk])
    response = login_client(mail_admin).post(url, {f"d{domain.pk}-imap": "on"})
    assert response.status_code == 302
    assert DomainPolicy.objects.get(domain=domain).imap_enabled is True


def test_domain_set_bad_choice_changes_nothing(mail_admin, domain):
    url = reverse("policies:domain_policy_set", args=[domain.pk])
    response = login_client(mail_admin).post(url, {f"d{domain.pk}-imap": "maybe"}, headers=HX)
    assert response.status_code == 200
    assert "Select a valid choice. maybe is not one of the available choices." in (
        response.content.decode()
    )
    assert not DomainPolicy.objects.exists()


def test_domain_set_outsider_gets_404(outsider, domain):
    url = reverse("policies:domain_policy_set", args=[domain.pk])
    assert login_client(outsider).post(url, {f"d{domain.pk}-imap": "off"}).status_code == 404
    assert not DomainPolicy.objects.exists()


@pytest.mark.parametrize("persona", ["compliance_officer", "auditor"])
def test_domain_set_refuses_readers(request, persona, domain):
    url = reverse("policies:domain_policy_set", args=[domain.pk])
    client = login_client(request.getfixturevalue(persona))
    assert client.post(url, {f"d{domain.pk}-imap": "off"}).status_code == 403
    assert not DomainPolicy.objects.exists()


# --- active POP3 exceptions -------------------------------------------------------------------


def test_exception_list_sorted_by_expiry_with_time_left(auditor, mail_admin, domain, approver):
    late = MailboxFactory(domain=domain, local_part="late")
    soon = MailboxFactory(domain=domain, local_part="soon")
    grant(late, mail_admin, approver, hours=24 * 20 + 1)
    grant(soon, mail_admin, approver, hours=24 * 5 + 1, reason="Old phone mail client")
    response = login_client(auditor).get(reverse("policies:pop3_exception_list"))
    text = response.content.decode()
    assert response.status_code == 200
    assert text.index("soon@example.test") < text.index("late@example.test")
    assert "expires in 5 days" in text
    assert "expires in 20 days" in text
    assert "Old phone mail client" in text
    assert "Ada Approver" in text


def test_exception_list_hides_revoked_and_filters_by_domain(
    mail_admin, domain, other_domain, approver
):
    here = MailboxFactory(domain=domain, local_part="here")
    there = MailboxFactory(domain=other_domain, local_part="there")
    gone = MailboxFactory(domain=domain, local_part="gone")
    grant(here, mail_admin, approver, hours=48)
    grant(there, mail_admin, approver, hours=48)
    revoked = grant(gone, mail_admin, approver, hours=48)
    services.pop3_exception_revoke(actor=mail_admin, exception=revoked, reason="Not needed now")
    client = login_client(mail_admin)
    text = client.get(reverse("policies:pop3_exception_list")).content.decode()
    assert "here@example.test" in text
    assert "there@elsewhere.test" in text
    assert "gone@example.test" not in text
    url = reverse("policies:pop3_exception_list") + f"?domain={other_domain.pk}"
    response = client.get(url, headers=HX)
    partial = response.content.decode()
    assert "<html" not in partial
    assert 'id="pop3-table"' in partial
    assert "there@elsewhere.test" in partial
    assert "here@example.test" not in partial


def test_exception_list_outsider_sees_only_their_domain(outsider, mail_admin, domain, approver):
    grant(MailboxFactory(domain=domain, local_part="here"), mail_admin, approver, hours=48)
    client = login_client(outsider)
    assert (
        "here@example.test"
        not in client.get(reverse("policies:pop3_exception_list")).content.decode()
    )
    url = reverse("policies:pop3_exception_list") + f"?domain={mail_admin.pk + 99999}"
    text = client.get(url).content.decode()
    assert "Select a valid choice." in text


def test_exception_list_query_count_is_constant(mail_admin, domain, approver):
    client = login_client(mail_admin)
    grant(MailboxFactory(domain=domain), mail_admin, approver, hours=48)
    one = count_queries(lambda: client.get(reverse("policies:pop3_exception_list")))
    for _ in range(8):
        grant(MailboxFactory(domain=domain), mail_admin, approver, hours=48)
    nine = count_queries(lambda: client.get(reverse("policies:pop3_exception_list")))
    assert nine == one


def test_exception_list_needs_a_role(client, norole):
    assert client.get(reverse("policies:pop3_exception_list")).status_code == 302
    assert login_client(norole).get(reverse("policies:pop3_exception_list")).status_code == 403


# --- the mailbox panel ------------------------------------------------------------------------


def test_mailbox_page_shows_effective_rights_with_reasons(auditor, mailbox):
    org_policy()
    response = login_client(auditor).get(reverse("policies:mailbox_policy", args=[mailbox.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "IMAP on: organisation default" in text
    assert "POP3 off: no active exception" in text
    assert "TLS 1.2 or newer required on every connection (cannot be turned off)" in text
    # read only
    assert reverse("policies:pop3_exception_grant", args=[mailbox.pk]) not in text


def test_mailbox_page_outsider_404_anonymous_login_norole_403(client, outsider, norole, mailbox):
    url = reverse("policies:mailbox_policy", args=[mailbox.pk])
    assert login_client(outsider).get(url).status_code == 404
    assert client.get(url).status_code == 302
    assert login_client(norole).get(url).status_code == 403


def render_tag(user, mailbox):
    request = RequestFactory().get("/accounts/mailboxes/1/")
    request.user = user
    template = Template("{% load policies_tags %}{% mailbox_policy_panel mailbox %}")
    return template.render(Context({"request": request, "mailbox": mailbox}))


def test_inclusion_tag_renders_the_panel_for_editors(mail_admin, mailbox, approver):
    grant(mailbox, mail_admin, approver, hours=48)
    html = render_tag(mail_admin, mailbox)
    assert 'id="mailbox-policy"' in html
    assert "POP3 allowed until" in html
    assert reverse("policies:pop3_exception_grant", args=[mailbox.pk]) in html
    assert 'name="next" value="/accounts/mailboxes/1/"' in html
    assert "Ada Approver" in html


def test_inclusion_tag_query_count_does_not_grow_with_history(mail_admin, mailbox, approver):
    org_policy()
    first = grant(mailbox, mail_admin, approver, hours=48)
    services.pop3_exception_revoke(actor=mail_admin, exception=first, reason="Replaced soon")
    one = count_queries(lambda: render_tag(mail_admin, mailbox))
    for _ in range(6):
        exception = grant(mailbox, mail_admin, UserFactory(roles=["mail_admin"]), hours=48)
        services.pop3_exception_revoke(actor=mail_admin, exception=exception, reason="Rotation")
    grant(mailbox, mail_admin, approver, hours=48)
    many = count_queries(lambda: render_tag(mail_admin, mailbox))
    assert many == one
    assert many <= 10


def test_mailbox_imap_htmx_returns_the_panel(domain_admin, mailbox):
    url = reverse("policies:mailbox_policy_set", args=[mailbox.pk])
    response = login_client(domain_admin).post(url, {"imap": "off", "next": "/x/"}, headers=HX)
    text = response.content.decode()
    assert response.status_code == 200
    assert text.strip().startswith('<section class="panel" id="mailbox-policy"')
    assert "IMAP setting saved." in text
    assert "IMAP off: mailbox alice@example.test turns it off" in text
    assert MailboxPolicy.objects.get(mailbox=mailbox).imap_enabled is False
    assert AuditEvent.objects.filter(action=Action.MAILBOX_POLICY_CHANGED).count() == 1


def test_mailbox_imap_full_page_redirects_back_to_next(mail_admin, mailbox):
    url = reverse("policies:mailbox_policy_set", args=[mailbox.pk])
    back = mailbox.get_absolute_url()
    response = login_client(mail_admin).post(url, {"imap": "on", "next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    assert MailboxPolicy.objects.get(mailbox=mailbox).imap_enabled is True


def test_mailbox_imap_ignores_foreign_next(mail_admin, mailbox):
    url = reverse("policies:mailbox_policy_set", args=[mailbox.pk])
    response = login_client(mail_admin).post(url, {"imap": "on", "next": "https://evil.test/"})
    assert response["Location"] == reverse("policies:mailbox_policy", args=[mailbox.pk])


def test_mailbox_edits_outsider_404_readers_403(outsider, compliance_officer, auditor, mailbox):
    url = reverse("policies:mailbox_policy_set", args=[mailbox.pk])
    assert login_client(outsider).post(url, {"imap": "off"}).status_code == 404
    assert login_client(compliance_officer).post(url, {"imap": "off"}).status_code == 403
    assert login_client(auditor).post(url, {"imap": "off"}).status_code == 403
    assert not MailboxPolicy.objects.exists()


def test_networks_bad_entry_shows_message_and_changes_nothing(mail_admin, mailbox):
    url = reverse("policies:mailbox_networks_set", args=[mailbox.pk])
    response = login_client(mail_admin).post(url, {"networks": "10.0.0.5/8\nlan"}, headers=HX)
    text = response.content.decode()
    assert response.status_code == 200
    assert "10.0.0.5/8 has host bits set; did you mean 10.0.0.0/8?" in text
    assert "“lan” is not an IPv4 or IPv6 network." in text
    assert not MailboxPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.MAILBOX_NETWORKS_CHANGED).exists()


def test_networks_saved_normalised(mail_admin, mailbox):
    url = reverse("policies:mailbox_networks_set", args=[mailbox.pk])
    response = login_client(mail_admin).post(
        url, {"networks": "2001:DB8::/32, 10.0.0.0/8"}, headers=HX
    )
    assert "Only from 2001:db8::/32, 10.0.0.0/8" in response.content.decode()
    assert MailboxPolicy.objects.get(mailbox=mailbox).allowed_networks == "2001:db8::/32,10.0.0.0/8"


def grant_post(approver, days=10, reason="Legacy scanner needs POP3"):
    day = timezone.now().astimezone(UTC).date() + timedelta(days=days)
    return {"reason": reason, "approver": approver.pk, "expires_on": day.isoformat()}


def test_grant_full_page_redirects_and_creates(domain_admin, mailbox, approver):
    url = reverse("policies:pop3_exception_grant", args=[mailbox.pk])
    data = {**grant_post(approver), "next": mailbox.get_absolute_url()}
    response = login_client(domain_admin).post(url, data)
    assert response.status_code == 302
    assert response["Location"] == mailbox.get_absolute_url()
    exception = Pop3Exception.objects.get(mailbox=mailbox)
    expected_day = timezone.now().astimezone(UTC).date() + timedelta(days=10)
    assert exception.expires_at == datetime.combine(expected_day, datetime.min.time(), tzinfo=UTC)
    assert exception.granted_by == domain_admin
    assert AuditEvent.objects.filter(action=Action.POP3_EXCEPTION_GRANTED).count() == 1


def test_grant_htmx_too_long_shows_the_limit_and_creates_nothing(mail_admin, mailbox, approver):
    org_policy()
    url = reverse("policies:pop3_exception_grant", args=[mailbox.pk])
    response = login_client(mail_admin).post(url, grant_post(approver, days=100), headers=HX)
    text = response.content.decode()
    latest = (timezone.now() + timedelta(days=90)).astimezone(UTC).date()
    assert response.status_code == 200
    assert (
        f"POP3 exceptions may last at most 90 days; choose an expiry on or before {latest}." in text
    )
    assert 'id="field-expires_on"' in text
    assert not Pop3Exception.objects.exists()


def test_grant_htmx_missing_fields_show_messages(mail_admin, mailbox):
    url = reverse("policies:pop3_exception_grant", args=[mailbox.pk])
    response = login_client(mail_admin).post(url, {"reason": "", "expires_on": ""}, headers=HX)
    text = response.content.decode()
    assert "Give a reason for the POP3 exception: who needs POP3 and why." in text
    assert "Choose who approved the exception: a superuser or a mail administrator." in text
    assert "Choose when the exception expires; POP3 exceptions always expire." in text
    assert not Pop3Exception.objects.exists()


def test_grant_approver_select_offers_only_superusers_and_mail_admins(
    mail_admin, superadmin, domain_admin, mailbox, approver
):
    response = login_client(mail_admin).get(reverse("policies:mailbox_policy", args=[mailbox.pk]))
    text = response.content.decode()
    assert f'<option value="{approver.pk}">Ada Approver</option>' in text
    assert f'<option value="{superadmin.pk}">root</option>' in text
    assert f'<option value="{domain_admin.pk}">' not in text


def test_grant_outsider_404_readers_403(outsider, auditor, mailbox, approver):
    url = reverse("policies:pop3_exception_grant", args=[mailbox.pk])
    assert login_client(outsider).post(url, grant_post(approver)).status_code == 404
    assert login_client(auditor).post(url, grant_post(approver)).status_code == 403
    assert not Pop3Exception.objects.exists()


def test_revoke_needs_confirmation(mail_admin, mailbox, approver):
    exception = grant(mailbox, mail_admin, approver, hours=48)
    url = reverse("policies:pop3_exception_revoke", args=[exception.pk])
    response = login_client(mail_admin).post(url, {"reason": "No longer needed"}, headers=HX)
    text = response.content.decode()
    assert response.status_code == 200
    assert "Tick the box to confirm that POP3 should stop." in text
    assert "<details open>" in text
    exception.refresh_from_db()
    assert exception.revoked_at is None


def test_revoke_htmx_revokes_and_shows_history(domain_admin, mail_admin, mailbox, approver):
    exception = grant(mailbox, mail_admin, approver, hours=48)
    url = reverse("policies:pop3_exception_revoke", args=[exception.pk])
    data = {"reason": "No longer needed", "confirm": "on"}
    response = login_client(domain_admin).post(url, data, headers=HX)
    text = response.content.decode()
    assert "POP3 exception revoked." in text
    assert "No longer needed" in text
    assert "POP3 off: no active exception" in text
    exception.refresh_from_db()
    assert exception.revoked_by == domain_admin
    assert AuditEvent.objects.filter(action=Action.POP3_EXCEPTION_REVOKED).count() == 1


def test_revoke_outsider_404_readers_403(
    outsider, compliance_officer, mail_admin, mailbox, approver
):
    exception = grant(mailbox, mail_admin, approver, hours=48)
    url = reverse("policies:pop3_exception_revoke", args=[exception.pk])
    data = {"reason": "No longer needed", "confirm": "on"}
    assert login_client(outsider).post(url, data).status_code == 404
    assert login_client(compliance_officer).post(url, data).status_code == 403
    exception.refresh_from_db()
    assert exception.revoked_at is None
