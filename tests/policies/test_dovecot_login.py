"""The Dovecot contract against a real Dovecot: logins, protocol rules, TLS, networks, quota.

Clients bind to 127.0.0.2 so Dovecot treats them as remote (the `%{secured}` trap, DESIGN.md).
Each test uses its own domain: Dovecot's mail directories outlive the per-test database flush.
"""

from __future__ import annotations

import imaplib
import itertools
import poplib
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Domain, QuotaUsage
from accounts.services import (
    domain_update,
    mailbox_create,
    mailbox_set_password,
    mailbox_set_quota,
    mailbox_suspend,
)
from mailadmin.lib.units import format_size
from policies.dovecot import (
    REASON_IMAP_OFF,
    REASON_NOT_TLS,
    REASON_POP3_OFF,
    REASON_SUSPENDED,
)
from policies.models import Pop3Exception
from policies.services import (
    domain_policy_set,
    mailbox_networks_set,
    pop3_exception_grant,
    pop3_exception_revoke,
)
from tests.conftest import login_client
from tests.factories import DomainFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Tr0ub4dor&3-horse"
_domain_numbers = itertools.count()


@pytest.fixture
def lab_domain():
    return DomainFactory(name=f"lab{next(_domain_numbers)}-{int(time.time())}.test")


@pytest.fixture
def mailbox(lab_domain, superadmin):
    return mailbox_create(
        domain=lab_domain, local_part="alice", password=PASSWORD, actor=superadmin
    )


# IMAP shows a passdb reason after [CONTACTADMIN]; POP3 after -ERR [AUTH].


def imap_login(dovecot, address, password, *, source="127.0.0.2"):
    client = dovecot.imaps(source=source)
    try:
        return client.login(address, password)
    finally:
        client.shutdown()


def imap_refusal(dovecot, address, password, **kwargs) -> str:
    with pytest.raises(imaplib.IMAP4.error) as refused:
        imap_login(dovecot, address, password, **kwargs)
    return str(refused.value)


def pop3_login(dovecot, address, password):
    client = dovecot.pop3s()
    try:
        client.user(address)
        reply = client.pass_(password)
        client.quit()
        return reply
    finally:
        client.close()


def pop3_refusal(dovecot, address, password) -> str:
    with pytest.raises(poplib.error_proto) as refused:
        pop3_login(dovecot, address, password)
    return str(refused.value.args[0].decode())


def grant_pop3(mailbox, superadmin, mail_admin, *, hours=2):
    return pop3_exception_grant(
        actor=superadmin,
        mailbox=mailbox,
        reason="scanner in the print room",
        approver=mail_admin,
        expires_at=timezone.now() + timedelta(hours=hours),
    )


def test_imaps_login_with_service_password_and_wrong_password_refused(dovecot, mailbox):
    assert imap_login(dovecot, mailbox.address, PASSWORD)[0] == "OK"
    assert "AUTHENTICATIONFAILED" in imap_refusal(dovecot, mailbox.address, "wrong-password")


def test_password_change_applies_at_next_login(dovecot, mailbox, superadmin):
    mailbox_set_password(mailbox=mailbox, password="N3w-and-l0nger-pass", actor=superadmin)
    assert "AUTHENTICATIONFAILED" in imap_refusal(dovecot, mailbox.address, PASSWORD)
    assert imap_login(dovecot, mailbox.address, "N3w-and-l0nger-pass")[0] == "OK"


def test_pop3s_refused_without_exception_and_client_sees_reason(dovecot, mailbox):
    refusal = pop3_refusal(dovecot, mailbox.address, PASSWORD)
    assert refusal == f"-ERR [AUTH] {REASON_POP3_OFF}"
    line = dovecot.wait_for_line(f"user=<{mailbox.address}>", "pop3-login")
    assert f"reason=<{REASON_POP3_OFF}>" in line


def test_pop3s_allowed_during_exception_refused_after_revocation(
    dovecot, mailbox, superadmin, mail_admin
):
    exception = grant_pop3(mailbox, superadmin, mail_admin)
    assert pop3_login(dovecot, mailbox.address, PASSWORD).startswith(b"+OK")
    pop3_exception_revoke(actor=superadmin, exception=exception, reason="scanner replaced")
    assert pop3_refusal(dovecot, mailbox.address, PASSWORD) == f"-ERR [AUTH] {REASON_POP3_OFF}"


def test_pop3s_refused_after_expiry_with_no_job(dovecot, mailbox, superadmin, mail_admin):
    exception = grant_pop3(mailbox, superadmin, mail_admin)
    assert pop3_login(dovecot, mailbox.address, PASSWORD).startswith(b"+OK")
    now = timezone.now()
    Pop3Exception.objects.filter(pk=exception.pk).update(
        starts_at=now - timedelta(hours=3), expires_at=now - timedelta(seconds=1)
    )
    assert pop3_refusal(dovecot, mailbox.address, PASSWORD) == f"-ERR [AUTH] {REASON_POP3_OFF}"


def test_imap_starttls_port_refuses_login_before_starttls_and_accepts_after(dovecot, mailbox):
    client = dovecot.imap(source="127.0.0.2")
    try:
        assert "LOGINDISABLED" in client.capabilities
        with pytest.raises(imaplib.IMAP4.error, match=r"PRIVACYREQUIRED|Plaintext"):
            client.login(mailbox.address, PASSWORD)
        client.starttls(ssl_context=dovecot.ssl_context())
        assert client.login(mailbox.address, PASSWORD)[0] == "OK"
    finally:
        client.shutdown()


def test_pop3_starttls_port_refuses_user_before_stls_and_accepts_after(
    dovecot, mailbox, superadmin, mail_admin
):
    grant_pop3(mailbox, superadmin, mail_admin)
    client = dovecot.pop3(source="127.0.0.2")
    try:
        with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
            client.user(mailbox.address)
        client.stls(context=dovecot.ssl_context())
        client.user(mailbox.address)
        assert client.pass_(PASSWORD).startswith(b"+OK")
        client.quit()
    finally:
        client.close()


def test_local_client_without_tls_is_refused_by_the_sql_rule(dovecot, mailbox):
    # 127.0.0.1 -> 127.0.0.1 counts as "secured" for Dovecot itself: only the SQL rule refuses.
    client = dovecot.imap(source="127.0.0.1")
    try:
        assert "LOGINDISABLED" not in client.capabilities
        with pytest.raises(imaplib.IMAP4.error) as refused:
            client.login(mailbox.address, PASSWORD)
    finally:
        client.shutdown()
    assert f"[CONTACTADMIN] {REASON_NOT_TLS}" in str(refused.value)


def test_suspended_mailbox_is_refused(dovecot, mailbox, superadmin):
    mailbox_suspend(mailbox=mailbox, actor=superadmin)
    assert f"[CONTACTADMIN] {REASON_SUSPENDED}" in imap_refusal(dovecot, mailbox.address, PASSWORD)
    assert pop3_refusal(dovecot, mailbox.address, PASSWORD) == f"-ERR [AUTH] {REASON_SUSPENDED}"


def test_suspended_domain_refuses_its_mailboxes(dovecot, mailbox, superadmin):
    domain = Domain.objects.get(pk=mailbox.domain_id)
    domain_update(
        domain=domain,
        actor=superadmin,
        is_active=False,
        default_quota_bytes=domain.default_quota_bytes,
        default_quota_messages=domain.default_quota_messages,
        quota_bytes=domain.quota_bytes,
        max_mailboxes=domain.max_mailboxes,
    )
    assert f"[CONTACTADMIN] {REASON_SUSPENDED}" in imap_refusal(dovecot, mailbox.address, PASSWORD)


def test_login_outside_allowed_networks_is_refused(dovecot, mailbox, superadmin):
    mailbox_networks_set(actor=superadmin, mailbox=mailbox, networks=["10.0.0.0/8"])
    assert "AUTHENTICATIONFAILED" in imap_refusal(dovecot, mailbox.address, PASSWORD)
    log = dovecot.wait_for_log("allow_nets check failed")
    assert "allow_nets check failed: IP 127.0.0.2 not in allowed networks" in log
    mailbox_networks_set(actor=superadmin, mailbox=mailbox, networks=["127.0.0.2/32"])
    assert imap_login(dovecot, mailbox.address, PASSWORD)[0] == "OK"


def test_imap_off_for_a_domain_refuses_its_mailboxes(dovecot, mailbox, superadmin):
    domain_policy_set(actor=superadmin, domain=mailbox.domain, imap_enabled=False)
    assert f"[CONTACTADMIN] {REASON_IMAP_OFF}" in imap_refusal(dovecot, mailbox.address, PASSWORD)


def test_storage_quota_is_enforced_and_usage_reaches_the_dashboard(dovecot, mailbox, superadmin):
    mailbox_set_quota(mailbox=mailbox, quota_bytes=6_000, quota_messages=0, actor=superadmin)
    message = b"Subject: quota test\r\nFrom: a@example.org\r\n\r\n" + b"x" * 4_000 + b"\r\n"
    client = dovecot.imaps()
    try:
        client.login(mailbox.address, PASSWORD)
        assert client.append("INBOX", None, None, message)[0] == "OK"
        status, detail = client.append("INBOX", None, None, message)
    finally:
        client.logout()
    assert status == "NO"
    assert b"[OVERQUOTA]" in detail[0]

    deadline = time.monotonic() + 5
    usage = None
    while usage is None and time.monotonic() < deadline:
        usage = QuotaUsage.objects.filter(username=mailbox.address, messages=1).first()
        time.sleep(0.05)
    assert usage is not None, dovecot.log_text()[-2000:]
    assert 4_000 < usage.bytes < 6_000
    page = login_client(superadmin).get(mailbox.get_absolute_url())
    assert page.status_code == 200
    assert f"{format_size(usage.bytes)} of {format_size(6_000)}" in page.content.decode()


def test_quota_warning_runs_the_script_at_80_percent(dovecot, mailbox, superadmin):
    mailbox_set_quota(mailbox=mailbox, quota_bytes=10_000, quota_messages=0, actor=superadmin)
    message = b"Subject: warning test\r\n\r\n" + b"y" * 8_500 + b"\r\n"
    client = dovecot.imaps()
    try:
        client.login(mailbox.address, PASSWORD)
        assert client.append("INBOX", None, None, message)[0] == "OK"
    finally:
        client.logout()
    needle = f"user=<{mailbox.address}> reached 80% of the storage quota"
    log = dovecot.wait_for_log(needle)
    assert f"quota-warning: Info: {needle}" in log
