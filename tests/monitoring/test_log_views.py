"""Log pages through the client: search, CSV, scoping, acknowledge, mailbox panel, readiness."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import QuotaUsage
from audit.models import Action, AuditEvent
from monitoring.log_forms import ConnectionFilterForm
from monitoring.models import Finding
from tests.conftest import login_client
from tests.factories import (
    ConnectionEventFactory,
    FindingFactory,
    MailboxEventFactory,
    MailboxFactory,
)

pytestmark = pytest.mark.django_db

CONNECTIONS = reverse("monitoring:log_connections")


@pytest.fixture
def events(domain, other_domain):
    now = timezone.now()
    ConnectionEventFactory(username="ann@example.test", protocol="imap", occurred_at=now)
    ConnectionEventFactory(
        username="ann@example.test",
        protocol="pop3",
        outcome="policy_refused",
        reason="POP3 access is not enabled for this account.",
        occurred_at=now - timedelta(minutes=5),
    )
    ConnectionEventFactory(
        username="eve@elsewhere.test", client_ip="203.0.113.8", is_tls=False, outcome="auth_failed"
    )
    MailboxEventFactory(username="ann@example.test", action="expunge", folder="INBOX", uid=9)
    MailboxEventFactory(username="eve@elsewhere.test", action="save", folder="Sent")


def test_connection_search_filters_and_shows_rows(events, auditor, django_assert_max_num_queries):
    client = login_client(auditor)
    with django_assert_max_num_queries(8):
        page = client.get(CONNECTIONS, {"username": "ANN@example.test", "protocol": "pop3"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "1 connection event" in text
    assert "POP3 access is not enabled for this account." in text
    assert "eve@elsewhere.test" not in text
    by_tls = client.get(CONNECTIONS, {"tls": "no"}).content.decode()
    assert "203.0.113.8" in by_tls
    assert "ann@example.test" not in by_tls


def test_connection_search_htmx_renders_the_table_only(events, auditor, htmx_headers):
    page = login_client(auditor).get(
        CONNECTIONS, {"client_ip": "203.0.113.8"}, headers=htmx_headers
    )
    text = page.content.decode()
    assert text.lstrip().startswith('<section id="connection-table">')
    assert "eve@elsewhere.test" in text
    assert "<html" not in text


def test_connection_search_reports_bad_filters_with_the_exact_message(events, auditor):
    page = login_client(auditor).get(
        CONNECTIONS, {"since": "2024-05-02 10:00", "until": "2024-05-01 10:00", "client_ip": "x"}
    )
    text = page.content.decode()
    assert "Fix the filters to see connections." in text
    assert "“x” is not an IP address, like 192.0.2.7." in text
    message = ConnectionFilterForm.error_messages["range_reversed"] % {
        "since": "2024-05-02 10:00",
        "until": "2024-05-01 10:00",
    }
    assert message in text


def test_domain_admin_sees_only_their_domains_users(events, domain_admin):
    text = login_client(domain_admin).get(CONNECTIONS).content.decode()
    assert "ann@example.test" in text
    assert "eve@elsewhere.test" not in text
    mailbox_events = reverse("monitoring:log_mailbox_events")
    text = login_client(domain_admin).get(mailbox_events).content.decode()
    assert "INBOX" in text
    assert "Sent" not in text


def test_csv_export_streams_the_filtered_rows(events, auditor):
    response = login_client(auditor).get(
        reverse("monitoring:log_connection_export"), {"username": "ann@example.test"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("time_utc,host,protocol,user,outcome")
    assert len(lines) == 3
    assert all(",ann@example.test," in line for line in lines[1:])


def test_csv_export_is_for_exporters_only(domain_admin, norole, client):
    url = reverse("monitoring:log_connection_export")
    assert login_client(domain_admin).get(url).status_code == 403
    assert login_client(norole).get(url).status_code == 403
    assert client.get(url).status_code == 302


def test_pages_need_login_and_a_role(client, norole):
    for name in ("log_connections", "log_mailbox_events", "log_findings"):
        url = reverse(f"monitoring:{name}")
        assert client.get(url)["Location"].startswith(reverse("login"))
        assert login_client(norole).get(url).status_code == 403


def test_mailbox_events_search_by_action(events, auditor):
    url = reverse("monitoring:log_mailbox_events")
    text = login_client(auditor).get(url, {"action": "expunge"}).content.decode()
    assert "1 mailbox event" in text
    assert "INBOX" in text
    assert "Sent" not in text


def test_mailbox_page_panel_and_full_page(domain, events, mail_admin, outsider):
    mailbox = MailboxFactory(domain=domain, local_part="ann", address="ann@example.test")
    FindingFactory(subject="ann@example.test", kind="pop3_without_exception", severity="warning")
    detail = login_client(mail_admin).get(mailbox.get_absolute_url()).content.decode()
    assert "Logins and mailbox activity" in detail
    assert "Last IMAP login" in detail
    assert "POP3 attempt without an exception" in detail
    assert "Refused by policy" in detail
    full = reverse("monitoring:log_mailbox", args=[mailbox.pk])
    page = login_client(mail_admin).get(full)
    assert page.status_code == 200
    assert "Logs of ann@example.test" in page.content.decode()
    assert login_client(outsider).get(full).status_code == 404


def test_acknowledge_from_the_findings_page(mail_admin, auditor):
    finding = FindingFactory()
    url = reverse("monitoring:log_finding_acknowledge")
    assert login_client(auditor).post(url, {"finding": finding.pk}).status_code == 403
    response = login_client(mail_admin).post(url, {"finding": finding.pk, "note": "known"})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.acknowledge_note == "known"
    assert AuditEvent.objects.filter(action=Action.FINDING_ACKNOWLEDGED).count() == 1
    page = login_client(mail_admin).get(reverse("monitoring:log_findings"), {"show": "all"})
    assert "Acknowledged by mia" in page.content.decode()


def test_outsider_cannot_acknowledge_another_domains_finding(outsider):
    finding = FindingFactory(subject="ann@example.test")
    url = reverse("monitoring:log_finding_acknowledge")
    assert login_client(outsider).post(url, {"finding": finding.pk}).status_code == 404
    assert Finding.objects.get().acknowledged_at is None


def test_overview_shows_the_findings_summary(superadmin):
    FindingFactory(summary="IMAP login attempted without TLS")
    text = login_client(superadmin).get(reverse("overview")).content.decode()
    assert "Log findings" in text
    assert "Login attempt without TLS: 1" in text


def test_readiness_report_and_csv(domain, mail_admin, domain_admin, outsider):
    old = timezone.now() - timedelta(days=200)
    MailboxFactory(domain=domain, local_part="ann", address="ann@example.test")
    idle = MailboxFactory(domain=domain, local_part="idle", address="idle@example.test")
    type(idle).objects.filter(pk=idle.pk).update(created_at=old)
    QuotaUsage.objects.create(username="ann@example.test", bytes=5_000_000, messages=42)
    ConnectionEventFactory(username="ann@example.test", protocol="pop3")
    ConnectionEventFactory(username="idle@example.test", protocol="imap", occurred_at=old)
    url = reverse("monitoring:log_readiness", args=[domain.pk])
    text = login_client(domain_admin).get(url).content.decode()
    assert "Migration readiness: example.test" in text
    assert "uses POP3" in text
    assert "unused" in text
    assert login_client(outsider).get(url).status_code == 404
    export = reverse("monitoring:log_readiness_export", args=[domain.pk])
    assert login_client(domain_admin).get(export).status_code == 403
    lines = b"".join(login_client(mail_admin).get(export).streaming_content).decode().splitlines()
    assert lines[0].startswith("address,active,used_bytes")
    ann_row = next(line for line in lines if line.startswith("ann@"))
    idle_row = next(line for line in lines if line.startswith("idle@"))
    assert ann_row.startswith("ann@example.test,yes,5000000,42,")
    assert ann_row.endswith(",yes,no")
    assert idle_row.endswith(",no,yes")
