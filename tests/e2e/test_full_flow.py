"""The whole service in one run (issue 7, item 5): a real browser, the real login with two
factors, a real Celery worker, the real Dovecot fixture.

A mail administrator creates a domain and a mailbox and grants it a POP3 exception; a compliance
officer places a legal hold on the mailbox and watches it go from pending to in force (the
enforcement task runs doveadm against the fixture); the administrator's attempt to delete the
mailbox is refused naming the matter; an endpoint for the fixture's IMAPS port is probed on
demand ("Probe now", result without a reload); the audit page shows every step.
Screenshots (artifacts dir): full-flow-domain, -mailbox, -hold-pending, -hold, -delete-refused,
-health, -health-refreshed, -audit; the main ones are copied by hand to docs/screenshots/ when the pages change.

Waits are deadline-bounded (the pages poll themselves with htmx; `expect` waits up to WAIT_MS),
so the run holds on a loaded 2-core machine.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

# Imported before any worker starts: a worker only runs the tasks it knew at start-up.
import monitoring.tasks  # noqa: F401
import policies.tasks  # noqa: F401
from accounts.models import Mailbox
from audit.models import Action, AuditEvent
from monitoring.models import Endpoint, ProbeResult
from policies.models import HoldEnforcement, Pop3Exception
from tests.e2e.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.dovecot,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WAIT_MS = 30_000  # the longest any step may take on a loaded machine
PASSWORD = "a long and unusual passphrase"
MATTER = "Globex v. Initech"
REFERENCE = "CASE-2041"


@pytest.fixture
def lab_settings(settings, dovecot):
    """doveadm and the probes pointed at the Dovecot fixture, as on a worker on the mail host.
    (Settings are process-wide: the live server's and the worker's threads see them too.)"""
    settings.MAILADMIN_DOVEADM = "doveadm"
    settings.MAILADMIN_DOVECOT_CONFIG = str(dovecot.config_path)
    settings.MAILADMIN_PROBE_CA_FILE = str(dovecot.ca_path)
    return settings


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_full_flow_from_new_domain_to_hold_probe_and_audit(
    request, live_server, page, browser_user, screenshot, artifacts_dir, dovecot, lab_settings,
    celery_app,
):  # fmt: skip
    base = live_server.url
    domain_name = f"flow{int(time.time() * 1000)}.test"  # mail directories outlive the test
    address = f"carol@{domain_name}"
    browser_user("mia", "mail_admin", first_name="Mia", last_name="Admin")
    browser_user("ada", "mail_admin", first_name="Ada", last_name="Approver")
    browser_user("cora", "compliance_officer", first_name="Cora", last_name="Counsel")
    shots: list[str] = []

    def shot(name: str) -> None:
        screenshot(page, name)
        shots.append(name)

    # --- The administrator: a domain, a mailbox, a POP3 exception --------------------------
    log_in(page, base, "mia")
    page.get_by_role("link", name="Domains").first.click()
    page.get_by_role("link", name="New domain").click()
    page.get_by_label("Domain name").fill(domain_name)
    page.get_by_label("Default message limit").fill("0")
    page.get_by_label("Mailbox limit").fill("0")
    page.get_by_role("button", name="Create domain").click()
    expect(page.get_by_text(f"Domain {domain_name} created.")).to_be_visible()
    shot("full-flow-domain")

    page.goto(f"{base}/accounts/mailboxes/new/")
    page.locator("#id_domain").select_option(label=domain_name)
    page.get_by_label("Address (before the @)").fill("carol")
    page.get_by_label("Display name").fill("Carol Jones")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password_confirm").fill(PASSWORD)
    page.locator("#account-form button[type=submit]").click()
    expect(page.get_by_text(f"Mailbox {address} created.")).to_be_visible()
    mailbox_url = page.url

    expires_on = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    grant = page.locator("form[action$='/pop3/grant/']")
    grant.get_by_label("Reason").fill("Carol's legacy scanner only speaks POP3")
    grant.get_by_label("Approved by").select_option(label="Ada Approver")
    grant.get_by_label("Expires on").fill(expires_on)
    grant.get_by_role("button", name="Grant POP3 until that day").click()
    panel = page.locator("#mailbox-policy")
    expect(panel.get_by_text("POP3 exception granted.")).to_be_visible(timeout=WAIT_MS)
    expect(panel).to_contain_text(f"POP3 allowed until {expires_on} by exception approved by Ada")
    expect(panel.locator("#policy-spinner")).to_have_css("opacity", "0")  # settled
    shot("full-flow-mailbox")
    log_out(page)

    # --- The compliance officer: a legal hold, pending, then in force -------------------------
    log_in(page, base, "cora")
    page.goto(f"{base}/policies/holds/new/")
    # Labels of required fields end in "*": Django's field ids are the stable handle.
    page.locator("#id_matter_name").fill(MATTER)
    page.locator("#id_matter_reference").fill(REFERENCE)
    page.locator("#id_reason").fill("Litigation over the Initech contract")
    page.get_by_label("Custodian mailboxes").fill(address)
    page.get_by_role("button", name="Place hold").click()
    expect(page.get_by_text(f"Hold placed for {MATTER}.")).to_be_visible()
    custodians = page.locator("#custodians")
    # No worker runs yet: the enforcement task waits in Redis and the mailbox shows pending.
    expect(custodians.locator("tbody tr").first).to_contain_text("pending")
    expect(custodians).to_contain_text("waiting for the mail server")
    shot("full-flow-hold-pending")

    request.getfixturevalue("celery_worker")  # starts now and picks up the queued task
    expect(custodians).to_contain_text("in force", timeout=WAIT_MS)  # the page polls itself
    expect(custodians).not_to_contain_text("pending")
    shot("full-flow-hold")
    enforcement = HoldEnforcement.objects.get(address=address)
    assert enforcement.in_force_at is not None, enforcement.last_error
    # doveadm really ran against the fixture: the preservation folder exists.
    status = dovecot.doveadm("mailbox", "status", "-u", address, "messages", "EXPUNGED")
    assert status.stdout.strip() == "EXPUNGED messages=0"
    log_out(page)

    # --- The administrator again: deleting the held mailbox is refused -----------------------
    log_in(page, base, "mia")
    page.goto(mailbox_url)
    page.get_by_role("link", name="Delete", exact=True).click()
    page.get_by_role("button", name="Delete mailbox").click()
    refusal = page.locator(".msg-error")
    expect(refusal).to_contain_text(
        f"{address} is on legal hold for “{MATTER}” ({REFERENCE}) and cannot be deleted"
    )
    expect(page).to_have_url(mailbox_url)
    shot("full-flow-delete-refused")
    assert Mailbox.objects.filter(address=address).exists()

    # --- Health: an endpoint for the fixture's IMAPS port, probed on demand -------------------
    page.get_by_role("link", name="Health").first.click()
    page.get_by_role("link", name="Add endpoint").click()
    page.locator("#id_name").fill("lab imaps")
    page.locator("#id_host").fill("127.0.0.1")
    page.locator("#id_port").fill(str(dovecot.ports["imaps"]))
    page.locator("#id_protocol").select_option("imap")
    page.locator("#id_transport").select_option("implicit_tls")
    page.locator("#id_expected_cert_name").fill(dovecot.cert_name)
    page.locator("#id_source_address").fill("127.0.0.2")
    page.locator("#id_probe_username").fill(address)
    page.locator("#id_probe_password").fill(PASSWORD)
    page.locator("#id_latency_warn_ms").fill("5000")  # a loaded machine is not an outage
    page.locator("#id_latency_crit_ms").fill("10000")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("heading", name=re.compile(r"lab imaps"))).to_be_visible()
    endpoint = Endpoint.objects.get(name="lab imaps")

    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    page.get_by_role("button", name="Probe now").click()
    status_box = page.locator("#probe-status")
    expect(status_box).to_contain_text("Probe finished", timeout=WAIT_MS)
    assert page.evaluate("window.__sameDocument === true"), "the result came with a reload"
    result = ProbeResult.objects.get(endpoint=endpoint)
    assert result.outcome == "ok", result.summary
    assert result.login_ms is not None  # logged in as the new mailbox through the SQL view
    assert (result.chain_ok, result.hostname_ok) == (True, True)
    expect(status_box).to_contain_text(result.summary)
    expect(status_box).to_have_class(re.compile(r"alert-info"))
    shot("full-flow-health")
    status_box.get_by_role("link", name="Refresh the page").click()
    expect(page.locator(".page-head h1")).to_contain_text("OK")
    expect(page.get_by_text("✓ trusted")).to_be_visible()
    expect(page.get_by_text(f"✓ matches {dovecot.cert_name}")).to_be_visible()
    expect(page.locator("#history tbody tr")).to_have_count(1)
    shot("full-flow-health-refreshed")

    # --- The audit trail shows every step ----------------------------------------------------
    page.goto(f"{base}/audit/")
    table = page.locator("#event-table")
    steps = [
        (Action.DOMAIN_CREATED, domain_name),
        (Action.MAILBOX_CREATED, address),
        (Action.POP3_EXCEPTION_GRANTED, address),
        (Action.HOLD_PLACED, MATTER),
        (Action.HOLD_IN_FORCE, MATTER),
        (Action.ENDPOINT_CREATED, "lab imaps"),
    ]
    for action, target in steps:
        row = table.locator("tbody tr", has_text=action.value)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(str(action.label))
        expect(row).to_contain_text(target)
    shot("full-flow-audit")
    # Long values (JSON details, addresses) wrap instead of pushing the table past its panel.
    assert page.evaluate(
        "(e => e.scrollWidth <= e.clientWidth)(document.querySelector('.table-wrap'))"
    )

    recorded = list(
        AuditEvent.objects.filter(action__in=[a for a, _ in steps])
        .order_by("id")
        .values_list("action", "actor_repr")
    )
    assert recorded == [
        (Action.DOMAIN_CREATED, "mia"),
        (Action.MAILBOX_CREATED, "mia"),
        (Action.POP3_EXCEPTION_GRANTED, "mia"),
        (Action.HOLD_PLACED, "cora"),
        (Action.HOLD_IN_FORCE, recorded[4][1]),  # the system, whatever it is called
        (Action.ENDPOINT_CREATED, "mia"),
    ]
    assert not AuditEvent.objects.filter(action=Action.MAILBOX_DELETED).exists()
    exception = Pop3Exception.objects.get(mailbox__address=address)
    assert exception.approver.username == "ada"
    assert exception.revoked_at is None

    for name in shots:
        assert (artifacts_dir / f"{name}.png").stat().st_size > 0
