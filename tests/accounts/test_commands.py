# factory_boy calls are typed as returning the factory, not the model (project-wide).
from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from accounts.models import Domain, Mailbox
from accounts.passwords import check_password
from audit.models import Action, AuditEvent
from tests.factories import MailboxFactory

GOOD = "a-long-mailbox-passphrase"


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def stdin(monkeypatch):
    def feed(text: str) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO(text))

    return feed


def test_create_domain_and_mailbox(mail_admin, stdin):
    assert "Created domain bücher.example" in run(
        "create_domain", "Bücher.example", "--quota", "5 GB", "--actor", "mia"
    )
    stdin(GOOD + "\n")
    out = run(
        "create_mailbox",
        "anna@bücher.example",
        "--quota",
        "1 GB",
        "--password-stdin",
        "--actor",
        "mia",
    )
    assert out.strip() == "Created mailbox anna@bücher.example."
    mailbox = Mailbox.objects.get(address="anna@xn--bcher-kva.example")
    assert check_password(GOOD, mailbox.password_hash)
    event = AuditEvent.objects.get(action=Action.MAILBOX_CREATED)
    assert (event.actor_repr, event.source) == ("mia", "command")


def test_unknown_actor_is_refused(db):
    with pytest.raises(CommandError, match="There is no active user “ghost”"):
        run("create_domain", "a.test", "--actor", "ghost")
    assert not Domain.objects.exists()


def test_refusals_become_command_errors(mail_admin, domain, stdin):
    with pytest.raises(CommandError) as exc:
        run("create_domain", "example.test", "--actor", "mia")
    assert str(exc.value) == "The domain example.test already exists."
    stdin("short\n")
    with pytest.raises(CommandError) as exc:
        run("create_mailbox", "bob@example.test", "--password-stdin", "--actor", "mia")
    assert str(exc.value) == "This password is too short. It must contain at least 10 characters."
    with pytest.raises(CommandError) as exc:
        run("create_mailbox", "bob@nowhere.test", "--password-stdin", "--actor", "mia")
    assert str(exc.value) == "There is no domain nowhere.test. Create it with create_domain first."
    assert not Mailbox.objects.exists()


def test_set_password_quota_and_suspend(mail_admin, domain, stdin):
    mailbox = MailboxFactory(domain=domain, local_part="alice", quota_bytes=10**9)
    stdin("another-long-passphrase\n")
    run("set_password", "alice@example.test", "--password-stdin", "--actor", "mia")
    mailbox.refresh_from_db()
    assert check_password("another-long-passphrase", mailbox.password_hash)
    assert (
        run("set_quota", "alice@example.test", "2 GB", "--actor", "mia").strip()
        == "Quota of alice@example.test: 2 GB."
    )
    with pytest.raises(CommandError) as exc:
        run("set_quota", "alice@example.test", "20 GB", "--actor", "mia")
    assert str(exc.value) == (
        "This mailbox needs 20.0 GB but the domain has 10.0 GB left. Raise the domain quota or choose a smaller size."
    )
    with pytest.raises(CommandError) as exc:
        run("set_quota", "alice@example.test", "-3", "--actor", "mia")
    assert str(exc.value) == "A size cannot be negative. Use 0 for no limit."
    mailbox.refresh_from_db()
    assert mailbox.quota_bytes == 2 * 10**9
    run("suspend_mailbox", "alice@example.test", "--actor", "mia")
    with pytest.raises(CommandError) as exc:
        run("suspend_mailbox", "alice@example.test", "--actor", "mia")
    assert str(exc.value) == "alice@example.test is already suspended."
    run("suspend_mailbox", "alice@example.test", "--reactivate", "--actor", "mia")
    mailbox.refresh_from_db()
    assert mailbox.is_active
    with pytest.raises(CommandError) as exc:
        run("set_password", "nobody@example.test", "--password-stdin", "--actor", "mia")
    assert str(exc.value) == "There is no mailbox nobody@example.test. Check the spelling."


def test_import_command(mail_admin, domain, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(f"address,display_name,password,quota\nx@example.test,X,{GOOD},1 GB\n")
    assert "All 1 row(s) are fine" in run(
        "import_mailboxes", str(good), "--dry-run", "--actor", "mia"
    )
    assert not Mailbox.objects.exists()
    assert "Imported 1 mailbox(es)." in run("import_mailboxes", str(good), "--actor", "mia")
    with pytest.raises(CommandError) as exc:
        run("import_mailboxes", str(good), "--actor", "mia")
    assert str(exc.value) == "1 problem(s) in 1 row(s); nothing was imported."
    assert Mailbox.objects.count() == 1


def test_demo_data_is_idempotent(db, settings, tmp_path, monkeypatch):
    monkeypatch.delenv("MAILADMIN_ADMIN_PASSWORD", raising=False)
    settings.VAR_DIR = tmp_path
    first = run("demo_data")
    counts = (Domain.objects.count(), Mailbox.objects.count(), AuditEvent.objects.count())
    second = run("demo_data")
    assert (Domain.objects.count(), Mailbox.objects.count(), AuditEvent.objects.count()) == counts
    assert first.splitlines()[0] == second.splitlines()[0]  # same admin password
    assert Domain.objects.filter(name="xn--bcher-kva.example").exists()
    assert counts[1] == 40
    assert (tmp_path / "admin-password.txt").read_text().strip() in first


def test_demo_data_makes_two_factor_optional_once_and_never_undoes_a_later_choice(
    db, settings, tmp_path, monkeypatch
):
    from security.selectors import security_policy
    from security.services import security_policy_update

    monkeypatch.delenv("MAILADMIN_ADMIN_PASSWORD", raising=False)
    settings.VAR_DIR = tmp_path
    assert security_policy().required_by_role["superuser"] is True
    run("demo_data")
    assert not any(security_policy().required_by_role.values())
    assert AuditEvent.objects.filter(action="security.policy_changed").count() == 1

    admin = User.objects.get(username="admin")
    security_policy_update(actor=admin, required={"superuser": True})
    run("demo_data")
    assert security_policy().required_by_role["superuser"] is True
