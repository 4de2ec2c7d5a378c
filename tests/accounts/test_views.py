# factory_boy calls are typed as returning the factory, not the model (project-wide).
from __future__ import annotations

import pytest

from accounts.models import Alias, Domain, Mailbox, QuotaUsage
from audit.models import Action, AuditEvent
from tests.conftest import login_client
from tests.factories import AliasFactory, DomainFactory, MailboxFactory

GB = 1_000_000_000
HX = {"HX-Request": "true"}


@pytest.fixture
def mailbox(domain):
    return MailboxFactory(domain=domain, local_part="alice", quota_bytes=GB)


# --- lists ---------------------------------------------------------------------------------


def test_mailbox_list_shows_usage_with_constant_queries(
    mail_admin, domain, django_assert_max_num_queries
):
    for i in range(30):
        m = MailboxFactory(domain=domain, local_part=f"user{i:02d}", quota_bytes=GB)
        QuotaUsage.objects.create(username=m.address, bytes=GB // 2, messages=3)
    client = login_client(mail_admin)
    with django_assert_max_num_queries(10):
        response = client.get("/accounts/mailboxes/?per_page=100")
    assert response.status_code == 200
    assert b"user29@example.test" in response.content
    assert b'value="50"' in response.content  # the usage meter at 50 %
    with django_assert_max_num_queries(10):
        client.get("/accounts/mailboxes/?per_page=10")


def test_mailbox_list_search_filter_and_partial(mail_admin, domain, other_domain):
    MailboxFactory(domain=domain, local_part="alice")
    MailboxFactory(domain=domain, local_part="bob", is_active=False)
    MailboxFactory(domain=other_domain, local_part="alina")
    client = login_client(mail_admin)
    response = client.get("/accounts/mailboxes/?q=ali", headers=HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="mailbox-table"' in body
    assert "alice@example.test" in body
    assert "alina@elsewhere.test" in body
    assert "bob@" not in body
    body = client.get(f"/accounts/mailboxes/?domain={other_domain.pk}").content.decode()
    assert "alina@" in body
    assert "alice@" not in body
    body = client.get("/accounts/mailboxes/?status=suspended").content.decode()
    assert "bob@example.test" in body
    assert "alice@" not in body
    assert response.headers["Vary"].count("HX-Request") == 1


def test_mailbox_list_sorts_only_by_whitelisted_columns(mail_admin, domain):
    MailboxFactory(domain=domain, local_part="aaa", quota_bytes=3 * GB)
    MailboxFactory(domain=domain, local_part="zzz", quota_bytes=GB)
    client = login_client(mail_admin)
    body = client.get("/accounts/mailboxes/?sort=-quota").content.decode()
    assert body.index("aaa@") < body.index("zzz@")
    body = client.get("/accounts/mailboxes/?sort=quota").content.decode()
    assert body.index("zzz@") < body.index("aaa@")
    assert client.get("/accounts/mailboxes/?sort=password_hash").status_code == 200


def test_domain_admin_sees_only_own_domains(domain_admin, domain, other_domain):
    MailboxFactory(domain=domain, local_part="mine")
    theirs = MailboxFactory(domain=other_domain, local_part="theirs")
    client = login_client(domain_admin)
    body = client.get("/accounts/mailboxes/").content.decode()
    assert "mine@example.test" in body
    assert "theirs@" not in body
    assert client.get(f"/accounts/mailboxes/{theirs.pk}/").status_code == 404
    assert "elsewhere.test" not in client.get("/accounts/domains/").content.decode()


def test_lists_need_login_and_role(client, norole):
    for url in ("/accounts/mailboxes/", "/accounts/domains/", "/accounts/aliases/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
        assert login_client(norole).get(url).status_code == 403


def test_domain_and_alias_lists(auditor, domain):
    AliasFactory(domain=domain, local_part="sales", destinations=["x@y.org"])
    DomainFactory(name="xn--bcher-kva.example")
    client = login_client(auditor)
    assert "bücher.example" in client.get("/accounts/domains/").content.decode()
    partial = client.get("/accounts/domains/?q=bücher", headers=HX).content.decode()
    assert "bücher.example" in partial
    assert "example.test" not in partial.replace("bücher.example", "")
    assert "sales@example.test" in client.get("/accounts/aliases/?q=y.org").content.decode()


# --- detail pages --------------------------------------------------------------------------


def test_mailbox_detail_shows_everything(auditor, mailbox, domain):
    QuotaUsage.objects.create(username=mailbox.address, bytes=250_000_000, messages=42)
    AliasFactory(domain=domain, local_part="team", destinations=[mailbox.address])
    body = login_client(auditor).get(f"/accounts/mailboxes/{mailbox.pk}/").content.decode()
    assert "250 MB of 1 GB" in body
    assert "42 of no limit" in body
    assert "team@example.test" in body
    assert 'id="mailbox-policy"' in body
    assert "Set password" not in body  # auditors read only


def test_domain_detail_shows_capacity(mail_admin, domain, domain_admin):
    MailboxFactory(domain=domain, quota_bytes=2 * GB)
    body = login_client(mail_admin).get(f"/accounts/domains/{domain.pk}/").content.decode()
    assert "2 GB of 10 GB (8 GB left)" in body
    assert "dora" in body


def test_detail_pages_404_for_outsider(outsider, mailbox, domain):
    alias = AliasFactory(domain=domain)
    client = login_client(outsider)
    assert client.get(f"/accounts/mailboxes/{mailbox.pk}/").status_code == 404
    assert client.get(f"/accounts/domains/{domain.pk}/").status_code == 404
    assert client.get(f"/accounts/aliases/{alias.pk}/").status_code == 404


# --- forms and actions ---------------------------------------------------------------------


def test_mailbox_create_happy_path(domain_admin, domain):
    client = login_client(domain_admin)
    assert client.get("/accounts/mailboxes/new/").status_code == 200
    data = {
        "domain": domain.pk,
        "local_part": "Carol",
        "display_name": "Carol C",
        "quota": "2.5 GB",
        "quota_messages": "",
        "password": "a-long-mailbox-passphrase",
        "password_confirm": "a-long-mailbox-passphrase",
    }
    response = client.post("/accounts/mailboxes/new/", data, follow=True)
    mailbox = Mailbox.objects.get(address="carol@example.test")
    assert mailbox.quota_bytes == 2_500_000_000
    assert response.redirect_chain[-1][0] == f"/accounts/mailboxes/{mailbox.pk}/"
    assert "Mailbox carol@example.test created." in response.content.decode()


def test_mailbox_create_htmx_shows_errors_inline(domain_admin, domain):
    Mailbox.objects.all().delete()
    MailboxFactory(domain=domain, quota_bytes=9 * GB)
    client = login_client(domain_admin)
    data = {
        "domain": domain.pk,
        "local_part": "dave",
        "quota": "2.5 GB",
        "password": "a-long-mailbox-passphrase",
        "password_confirm": "a-long-mailbox-passphrase",
    }
    response = client.post("/accounts/mailboxes/new/", data, headers=HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="account-form"' in body
    assert "This mailbox needs 2.5 GB but the domain has 1.0 GB left." in body
    assert not Mailbox.objects.filter(local_part="dave").exists()


def test_mailbox_create_success_over_htmx_redirects_client(mail_admin, domain):
    data = {
        "domain": domain.pk,
        "local_part": "erin",
        "quota": "1 GB",
        "password": "a-long-mailbox-passphrase",
        "password_confirm": "a-long-mailbox-passphrase",
    }
    response = login_client(mail_admin).post("/accounts/mailboxes/new/", data, headers=HX)
    mailbox = Mailbox.objects.get(address="erin@example.test")
    assert response["HX-Redirect"] == f"/accounts/mailboxes/{mailbox.pk}/"


def test_domain_admin_cannot_create_in_foreign_domain(domain_admin, other_domain):
    data = {
        "domain": other_domain.pk,
        "local_part": "x",
        "password": "a-long-mailbox-passphrase",
        "password_confirm": "a-long-mailbox-passphrase",
    }
    response = login_client(domain_admin).post("/accounts/mailboxes/new/", data)
    assert "Choose one of your domains from the list." in response.content.decode()
    assert not Mailbox.objects.exists()


@pytest.mark.parametrize("persona", ["compliance_officer", "auditor"])
def test_readers_cannot_edit(request, persona, mailbox):
    client = login_client(request.getfixturevalue(persona))
    for url in (
        "/accounts/mailboxes/new/",
        f"/accounts/mailboxes/{mailbox.pk}/edit/",
        f"/accounts/mailboxes/{mailbox.pk}/quota/",
        f"/accounts/mailboxes/{mailbox.pk}/password/",
        f"/accounts/mailboxes/{mailbox.pk}/delete/",
        "/accounts/aliases/new/",
        "/accounts/domains/new/",
        "/accounts/mailboxes/import/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/accounts/mailboxes/{mailbox.pk}/suspend/").status_code == 403
    mailbox.refresh_from_db()
    assert mailbox.is_active


def test_outsider_gets_404_on_edits(outsider, mailbox):
    client = login_client(outsider)
    assert client.get(f"/accounts/mailboxes/{mailbox.pk}/quota/").status_code == 404
    assert client.post(f"/accounts/mailboxes/{mailbox.pk}/suspend/").status_code == 404
    assert client.post(f"/accounts/mailboxes/{mailbox.pk}/delete/").status_code == 404
    assert Mailbox.objects.filter(pk=mailbox.pk, is_active=True).exists()


def test_edit_views_need_login(client, mailbox):
    response = client.get(f"/accounts/mailboxes/{mailbox.pk}/quota/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_set_quota_form(domain_admin, mailbox):
    client = login_client(domain_admin)
    assert 'value="1 GB"' in client.get(f"/accounts/mailboxes/{mailbox.pk}/quota/").content.decode()
    response = client.post(
        f"/accounts/mailboxes/{mailbox.pk}/quota/",
        {"quota": "-1 GB", "quota_messages": "0"},
        headers=HX,
    )
    assert "A size cannot be negative. Use 0 for no limit." in response.content.decode()
    response = client.post(
        f"/accounts/mailboxes/{mailbox.pk}/quota/",
        {"quota": "lots", "quota_messages": "x"},
        headers=HX,
    )
    body = response.content.decode()
    assert "“lots” is not a size. Write a number and a unit, like 500 MB or 2.5 GB." in body
    assert "Enter a whole number, like 5000 (0 for no limit)." in body
    mailbox.refresh_from_db()
    assert mailbox.quota_bytes == GB
    client.post(
        f"/accounts/mailboxes/{mailbox.pk}/quota/", {"quota": "500 MB", "quota_messages": "100"}
    )
    mailbox.refresh_from_db()
    assert (mailbox.quota_bytes, mailbox.quota_messages) == (500_000_000, 100)


def test_set_password_form_checks_confirmation(mail_admin, mailbox):
    old = mailbox.password_hash
    client = login_client(mail_admin)
    response = client.post(
        f"/accounts/mailboxes/{mailbox.pk}/password/",
        {"password": "a-long-mailbox-passphrase", "password_confirm": "different-passphrase"},
        headers=HX,
    )
    assert "The two passwords differ. Type the same password twice." in response.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.password_hash == old
    response = client.post(
        f"/accounts/mailboxes/{mailbox.pk}/password/",
        {"password": "a-long-mailbox-passphrase", "password_confirm": "a-long-mailbox-passphrase"},
    )
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.password_hash != old


def test_suspend_confirms_then_posts(domain_admin, mailbox):
    client = login_client(domain_admin)
    page = client.get(f"/accounts/mailboxes/{mailbox.pk}/suspend/").content.decode()
    assert "Suspend alice@example.test?" in page
    mailbox.refresh_from_db()
    assert mailbox.is_active  # GET changes nothing
    response = client.post(f"/accounts/mailboxes/{mailbox.pk}/suspend/", follow=True)
    assert "is suspended" in response.content.decode()
    mailbox.refresh_from_db()
    assert not mailbox.is_active
    assert client.get(f"/accounts/mailboxes/{mailbox.pk}/reactivate/").status_code == 405
    client.post(f"/accounts/mailboxes/{mailbox.pk}/reactivate/")
    mailbox.refresh_from_db()
    assert mailbox.is_active


def test_delete_refusal_is_shown(mail_admin, mailbox, domain):
    AliasFactory(domain=domain, local_part="info", destinations=[mailbox.address])
    response = login_client(mail_admin).post(
        f"/accounts/mailboxes/{mailbox.pk}/delete/", follow=True
    )
    assert "is the only destination of the alias info@example.test" in response.content.decode()
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()


def test_domain_create_and_roles(mail_admin, domain_admin):
    client = login_client(mail_admin)
    response = client.post(
        "/accounts/domains/new/",
        {
            "name": "Bücher.example",
            "is_active": "on",
            "default_quota": "500 MB",
            "default_quota_messages": "0",
            "quota": "5 GB",
            "max_mailboxes": "10",
        },
    )
    domain = Domain.objects.get(name="xn--bcher-kva.example")
    assert response["Location"] == f"/accounts/domains/{domain.pk}/"
    assert (domain.quota_bytes, domain.default_quota_bytes) == (5 * GB, 500_000_000)
    assert login_client(domain_admin).get("/accounts/domains/new/").status_code == 403


def test_domain_create_form_errors(mail_admin):
    response = login_client(mail_admin).post(
        "/accounts/domains/new/",
        {
            "name": "-bad.com",
            "default_quota": "1 GB",
            "default_quota_messages": "-5",
            "quota": "0",
            "max_mailboxes": "0",
        },
        headers=HX,
    )
    body = response.content.decode()
    assert "The part “-bad” starts with a hyphen." in body
    assert "This cannot be negative. Use 0 for no limit." in body
    assert not Domain.objects.exists()


def test_domain_delete_and_administrators(superadmin, other_domain, outsider, domain):
    client = login_client(superadmin)
    response = client.post(
        f"/accounts/domains/{domain.pk}/administrators/", {"administrators": [outsider.pk]}
    )
    assert response.status_code == 302
    assert list(domain.administrators.all()) == [outsider]
    MailboxFactory(domain=other_domain)
    response = client.post(f"/accounts/domains/{other_domain.pk}/delete/", follow=True)
    assert "elsewhere.test still has 1 mailbox and 0 aliases." in response.content.decode()
    client.post(f"/accounts/domains/{domain.pk}/delete/")
    assert not Domain.objects.filter(pk=domain.pk).exists()


def test_alias_create_edit_delete(domain_admin, mailbox, domain):
    client = login_client(domain_admin)
    response = client.post(
        "/accounts/aliases/new/",
        {
            "domain": domain.pk,
            "local_part": "team",
            "destinations": "alice@example.test\nout@x.org",
            "is_active": "on",
        },
    )
    alias = Alias.objects.get(address="team@example.test")
    assert response["Location"] == f"/accounts/aliases/{alias.pk}/"
    response = client.post(
        f"/accounts/aliases/{alias.pk}/edit/", {"destinations": "team@example.test"}, headers=HX
    )
    assert "go round in a loop: team@example.test → team@example.test" in response.content.decode()
    alias.refresh_from_db()
    assert alias.destinations == ["alice@example.test", "out@x.org"]
    client.post(f"/accounts/aliases/{alias.pk}/delete/")
    assert not Alias.objects.exists()
    assert AuditEvent.objects.filter(action=Action.ALIAS_DELETED).count() == 1


def test_export_streams_visible_mailboxes(domain_admin, mailbox, other_domain):
    MailboxFactory(domain=other_domain, local_part="hidden")
    QuotaUsage.objects.create(username=mailbox.address, bytes=123, messages=4)
    response = login_client(domain_admin).get("/accounts/mailboxes/export.csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    lines = text.strip().splitlines()
    assert lines[0].startswith("address,display_name,domain,status,quota_bytes")
    assert lines[1].startswith(f"alice@example.test,Alice,example.test,active,{GB},0,123,4,")
    assert "hidden" not in text
