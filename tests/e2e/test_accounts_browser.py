"""The first thing an administrator does: a domain, a mailbox in it, and finding it again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Mailbox
from audit.models import Action, AuditEvent
from tests.e2e.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_create_a_domain_and_a_mailbox_then_find_it(live_server, page, browser_user, screenshot):
    browser_user("mia", "mail_admin")
    log_in(page, live_server.url, "mia")

    page.get_by_role("link", name="Domains").first.click()
    page.get_by_role("link", name="New domain").click()
    page.get_by_label("Domain name").fill("shop.test")
    # These two start empty and are required (reported to the lead: they could default to 0).
    page.get_by_label("Default message limit").fill("0")
    page.get_by_label("Mailbox limit").fill("0")
    screenshot(page, "domain-create")
    page.get_by_role("button", name="Create domain").click()
    expect(page.get_by_text("Domain shop.test created.")).to_be_visible()

    page.goto(f"{live_server.url}/accounts/mailboxes/new/")
    # Labels of required fields end in "*": Django's field ids are the stable handle.
    page.locator("#id_domain").select_option(label="shop.test")
    page.get_by_label("Address (before the @)").fill("carol")
    page.get_by_label("Display name").fill("Carol Jones")
    page.locator("#id_password").fill("a long and unusual passphrase")
    page.locator("#id_password_confirm").fill("a long and unusual passphrase")
    screenshot(page, "mailbox-create")
    page.locator("#account-form button[type=submit]").click()
    expect(page.get_by_text("Mailbox carol@shop.test created.")).to_be_visible()
    screenshot(page, "mailbox-detail")

    page.get_by_role("link", name="Mailboxes").first.click()
    page.get_by_placeholder("Address or name").fill("carol")
    expect(page).to_have_url(re.compile(r"q=carol"))
    rows = page.locator("#mailbox-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("carol@shop.test")
    expect(rows.first).to_contain_text("Carol Jones")
    screenshot(page, "mailbox-list")

    page.get_by_placeholder("Address or name").fill("nobody-by-that-name")
    expect(page.locator("#mailbox-table")).not_to_contain_text("carol@shop.test")

    mailbox = Mailbox.objects.get(address="carol@shop.test")
    assert mailbox.password_hash.startswith("{")
    assert list(
        AuditEvent.objects.filter(source="web", client_ip="127.0.0.1")
        .order_by("id")
        .values_list("action", "actor_repr", "target_repr")
    ) == [
        (Action.DOMAIN_CREATED, "mia", "shop.test"),
        (Action.MAILBOX_CREATED, "mia", "carol@shop.test"),
    ]
