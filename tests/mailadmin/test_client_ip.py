"""Who made a request, for the audit trail and the login lockout, behind a reverse proxy or not."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from mailadmin.lib.http import client_ip


def request(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.MAILADMIN_TRUSTED_PROXIES = []
    assert client_ip(request("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # the proxy appends the address it saw; what the client wrote on the left is ignored
        ("10.0.0.2", "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        # two trusted hops
        ("10.0.0.2", "203.0.113.9, 10.0.0.3", "203.0.113.9"),
        # a request not from a trusted proxy keeps its own address whatever the header says
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),
        # a malformed hop: nothing beyond the proxy is believed
        ("10.0.0.2", "203.0.113.9, not-an-ip", "10.0.0.2"),
        # no header: the proxy's own address
        ("10.0.0.2", None, "10.0.0.2"),
        ("2001:db8::1", "2001:db8:ffff::5", "2001:db8:ffff::5"),
    ],
)
def test_behind_trusted_proxies_the_nearest_untrusted_hop_counts(
    settings, remote, forwarded, expected
):
    settings.MAILADMIN_TRUSTED_PROXIES = ["10.0.0.0/24", "2001:db8::1"]
    assert client_ip(request(remote, forwarded)) == expected


def test_audit_records_the_forwarded_address(settings, mail_admin, domain):
    from accounts.models import Mailbox
    from audit.models import AuditEvent
    from tests.conftest import login_client
    from tests.factories import MailboxFactory

    mailbox = MailboxFactory(domain=domain, local_part="eve")
    settings.MAILADMIN_TRUSTED_PROXIES = ["127.0.0.1"]
    response = login_client(mail_admin).post(
        reverse("accounts:mailbox_suspend", args=[mailbox.pk]),
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert response.status_code == 302
    assert Mailbox.objects.get(pk=mailbox.pk).is_active is False
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None
    assert event.action == "accounts.mailbox_suspended"
    assert event.client_ip == "203.0.113.9"


def test_lockout_counts_the_forwarded_address(db, settings, client):
    from axes.models import AccessAttempt

    settings.MAILADMIN_TRUSTED_PROXIES = ["127.0.0.1"]
    client.post(
        reverse("login"),
        {"username": "nobody-here", "password": "wrong"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    attempt = AccessAttempt.objects.get(username="nobody-here")
    assert attempt.ip_address == "203.0.113.9"
