"""XSS: payloads stored in every free-text field come back escaped on every page that shows them.

The objects are created through the services (as a user would create them), then every GET
route of the project is requested as a superuser (who sees everything) and, for the pages
showing a user's own settings, as that user. A raw payload in any HTML response fails.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.services.mailboxes import mailbox_create
from monitoring import services as monitoring_services
from policies.services import pop3_exception_grant
from tests.conftest import login_client
from tests.factories import AliasFactory
from tests.test_access import KWARGS, QUERIES, ROUTES, Side

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
# What must never reach a page unescaped (the payloads' active parts).
RAW = ("<script>alert(1)", "<img src=x onerror")
ESCAPED = ("&lt;script&gt;alert(1)&lt;/script&gt;", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")

pytestmark = pytest.mark.django_db


@pytest.fixture
def payload_world(superadmin, domain, domain_admin, settings):
    """Every kind of object with free text, made through the services, text = payloads."""
    now = timezone.now()
    mailbox = mailbox_create(
        domain=domain,
        local_part="ann",
        password="A-long-enough-passw0rd!",
        actor=superadmin,
        display_name=f"{SCRIPT} {ATTRIBUTE}",
    )
    exception = pop3_exception_grant(
        actor=superadmin,
        mailbox=mailbox,
        reason=f"Legacy client {SCRIPT} {ATTRIBUTE}",
        approver=superadmin,
        expires_at=now + timedelta(days=10),
    )
    endpoint = monitoring_services.endpoint_create(
        values={
            "name": f"{SCRIPT}{ATTRIBUTE}"[:100],
            "host": "127.0.0.1",
            "port": 993,
            "protocol": "imap",
            "transport": "implicit_tls",
            "expected_cert_name": "mail.lab.test",
            "probe_username": f"{ATTRIBUTE}",
        },
        password="",
        actor=superadmin,
    )
    window = monitoring_services.window_create(
        endpoint=endpoint,
        values={
            "kind": "one_off",
            "starts_at": now,
            "ends_at": now + timedelta(hours=1),
            "reason": f"Upgrade {SCRIPT} {ATTRIBUTE}",
        },
        actor=superadmin,
    )
    channel = monitoring_services.channel_create(
        values={"name": f"{SCRIPT}{ATTRIBUTE}"[:100], "kind": "email", "target": "ops@lab.test"},
        actor=superadmin,
    )
    # An attacker controls the username typed on the login page: it reaches the security page
    # (failed logins) and the audit trail (the lockout event).
    attacker = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attacker.post(reverse("login"), {"username": SCRIPT + ATTRIBUTE, "password": "x"})

    side = Side(domain, domain_admin, {})
    for name, kwarg in KWARGS.items():
        side.objects[name] = kwarg.make(side)
    side.objects |= {
        "mailbox_id": mailbox,
        "exception_id": exception,
        "endpoint_id": endpoint,
        "window_id": window,
        "channel_id": channel,
        "alias_id": AliasFactory(domain=domain),
    }
    return side


def _html_pages(client, side):
    for route in ROUTES:
        if route.name is None or any(name not in side.objects for name in route.kwargs):
            continue
        url = reverse(route.name, kwargs={n: side.objects[n].pk for n in route.kwargs})
        if route.name in QUERIES:
            url += "?" + QUERIES[route.name]
        response = client.get(url)
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            yield route.name, response.content.decode()


def test_every_page_escapes_the_payloads(payload_world, superadmin):
    client = login_client(superadmin)
    shown_escaped = set()

    for name, body in _html_pages(client, payload_world):
        for raw in RAW:
            assert raw not in body, f"{name} shows {raw!r} unescaped"
        if any(escaped in body for escaped in ESCAPED):
            shown_escaped.add(name)

    # The payloads did reach the pages that show these fields (so the check above means something).
    assert {
        "accounts:mailbox_detail",
        "accounts:mailbox_list",
        "policies:pop3_exception_list",
        "monitoring:board",
        "monitoring:endpoint_detail",
        "audit:event_list",
        "security:index",
    } <= shown_escaped


def test_htmx_partials_escape_the_payloads(payload_world, superadmin):
    client = login_client(superadmin)
    headers = {"HX-Request": "true"}
    urls = [
        reverse("accounts:mailbox_list") + "?q=ann",
        reverse("audit:event_list") + "?q=ann",
        reverse("policies:pop3_exception_list"),
    ]

    for url in urls:
        body = client.get(url, headers=headers).content.decode()
        for raw in RAW:
            assert raw not in body, f"{url} (htmx) shows {raw!r} unescaped"


def test_lockout_page_escapes_the_typed_username(db, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("login"), {"username": SCRIPT, "password": "x"})

    body = response.content.decode()
    assert response.status_code == 429
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
