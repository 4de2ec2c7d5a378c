from __future__ import annotations

import re

import pytest
from django.db import transaction
from playwright.sync_api import expect

from audit.context import audit_context
from audit.models import Action
from audit.services import audit_record
from tests.e2e.conftest import log_in
from tests.factories import MailboxFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _record(**kwargs):
    with (
        audit_context(source=kwargs.pop("source", "web"), client_ip="192.0.2.44"),
        transaction.atomic(),
    ):
        audit_record(**kwargs)


def test_audit_page_filters_in_place(live_server, page, browser_user, screenshot, domain):
    mia = browser_user("mia", "mail_admin")
    browser_user("audrey", "auditor")
    ann = MailboxFactory(domain=domain, local_part="ann")
    _record(actor=mia, action=Action.MAILBOX_CREATED, target=ann)
    _record(
        actor=mia,
        action=Action.MAILBOX_QUOTA_CHANGED,
        target=ann,
        details={"quota_bytes": {"old": 1_000_000_000, "new": 2_000_000_000}},
    )
    _record(actor=None, action=Action.MAILBOXES_IMPORTED, details={"count": 12}, source="command")

    log_in(page, live_server.url, "audrey")
    page.get_by_role("link", name="Audit").click()
    rows = page.locator("#event-table tbody tr")
    expect(rows).to_have_count(3)
    screenshot(page, "audit-list")

    page.get_by_label("Source").fill("command")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Mailboxes imported")
    expect(page).to_have_url(re.compile(r"source=command"))

    page.get_by_label("Source").fill("")
    expect(rows).to_have_count(3)
    page.get_by_role("link", name="ann@example.test").first.click()
    expect(page.get_by_role("heading", name="History of ann@example.test")).to_be_visible()
    expect(rows).to_have_count(2)
    expect(page.locator("ul.changes").first).to_contain_text("1000000000 → 2000000000")
    screenshot(page, "audit-history")
