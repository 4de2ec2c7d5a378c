from __future__ import annotations

from accounts.models import Mailbox, QuotaUsage
from mailadmin.selectors import fullest_mailboxes
from tests.conftest import login_client
from tests.factories import DomainFactory, MailboxFactory


def test_fullest_mailboxes_orders_by_usage_relative_to_quota(domain):
    half = MailboxFactory(domain=domain, local_part="half", quota_bytes=1000)
    full = MailboxFactory(domain=domain, local_part="full", quota_bytes=100)
    MailboxFactory(domain=domain, local_part="unlimited", quota_bytes=0)
    MailboxFactory(domain=domain, local_part="unused", quota_bytes=100)
    QuotaUsage.objects.create(username=half.address, bytes=500, messages=5)
    QuotaUsage.objects.create(username=full.address, bytes=99, messages=1)
    QuotaUsage.objects.create(username="unlimited@example.test", bytes=10**9, messages=1)

    rows = fullest_mailboxes(Mailbox.objects.all())

    assert [m.local_part for m in rows] == ["full", "half"]
    assert [m.used_bytes for m in rows] == [99, 500]


def test_domain_admin_sees_only_their_domains_fullest(domain, domain_admin):
    mine = MailboxFactory(domain=domain, local_part="mine", quota_bytes=100)
    theirs = MailboxFactory(domain=DomainFactory(name="far.test"), local_part="x", quota_bytes=100)
    QuotaUsage.objects.create(username=mine.address, bytes=10, messages=1)
    QuotaUsage.objects.create(username=theirs.address, bytes=90, messages=1)

    response = login_client(domain_admin).get("/")

    assert response.status_code == 200
    assert [m.address for m in response.context["fullest"]] == ["mine@example.test"]
    assert response.context["mailbox_count"] == 1
