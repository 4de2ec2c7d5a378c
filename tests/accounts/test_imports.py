# factory_boy calls are typed as returning the factory, not the model (project-wide).
from __future__ import annotations

import time

import pytest

from accounts.models import Mailbox, MailboxImport
from accounts.passwords import check_password, hash_password
from accounts.services import import_mailboxes, mailbox_import_run, mailbox_import_start
from audit.models import Action, AuditEvent
from tests.factories import AliasFactory, DomainFactory, MailboxFactory

GB = 1_000_000_000
HEADER = "address,display_name,password,quota\n"
GOOD = "a-long-mailbox-passphrase"


def test_import_creates_all_rows(mail_admin, domain):
    hashed = hash_password("old-server-passphrase")
    text = HEADER + f'Alice@Example.test,Alice,{GOOD},2 GB\nbob@example.test,Bob,"{hashed}",\n'
    result = import_mailboxes(csv_text=text, dry_run=False, actor=mail_admin)
    assert result.ok
    assert result.created == ["alice@example.test", "bob@example.test"]
    alice = Mailbox.objects.get(address="alice@example.test")
    bob = Mailbox.objects.get(address="bob@example.test")
    assert alice.quota_bytes == 2 * GB
    assert check_password(GOOD, alice.password_hash)
    assert bob.password_hash == hashed
    assert bob.quota_bytes == domain.default_quota_bytes
    assert AuditEvent.objects.filter(action=Action.MAILBOX_CREATED).count() == 2
    summary = AuditEvent.objects.get(action=Action.MAILBOXES_IMPORTED)
    assert summary.details == {"count": 2, "addresses": ["alice@example.test", "bob@example.test"]}


def test_dry_run_lists_every_bad_row_and_writes_nothing(mail_admin, domain, other_domain):
    MailboxFactory(domain=domain, local_part="taken", quota_bytes=8 * GB)
    AliasFactory(domain=domain, local_part="sales")
    text = HEADER + "\n".join(
        [
            f"no-at-sign,X,{GOOD},",  # line 2
            f"a@unknown.test,X,{GOOD},",  # 3
            f"dup@example.test,X,{GOOD},1 MB",  # 4
            f"dup@example.test,X,{GOOD},1 MB",  # 5
            f"taken@example.test,X,{GOOD},1 MB",  # 6
            "weak@example.test,X,short,1 MB",  # 7
            "nopass@example.test,X,,1 MB",  # 8
            f"big1@example.test,X,{GOOD},1.5 GB",  # 9: 1.999 GB left -> fits, 499 MB left
            f"big2@example.test,X,{GOOD},1 GB",  # 10: over what is left after line 9
            f"size@example.test,X,{GOOD},lots",  # 11
            "hash@example.test,X,{SHA512-CRYPT}$6$abc,1 MB",  # 12
            f"sales@example.test,X,{GOOD},1 MB",  # 13
            "too,few",  # 14
            f"otto@elsewhere.test,X,{GOOD},",  # 15: a domain mail_admin may edit -> fine
        ]
    )
    result = import_mailboxes(csv_text=text, dry_run=True, actor=mail_admin)
    got = [(e["line"], e["message"]) for e in result.errors]
    assert got == [
        (2, "“no-at-sign” has no @. Enter a full address, like alice@example.com."),
        (
            3,
            "There is no domain unknown.test that you can add mailboxes to. Create the domain first or check the spelling.",
        ),
        (5, "dup@example.test is also on line 4 of this file. List each address once."),
        (6, "taken@example.test already exists as a mailbox."),
        (7, "This password is too short. It must contain at least 10 characters."),
        (
            8,
            "The password is empty. Every mailbox needs one: give a password, or a {ARGON2ID} or {BLF-CRYPT} hash from the old server.",
        ),
        (
            10,
            "This mailbox needs 1.0 GB but example.test has 499.0 MB left, counting the rows above it in this file. Raise the domain quota or choose a smaller size.",
        ),
        (11, "“lots” is not a size. Write a number and a unit, like 500 MB or 2.5 GB."),
        (
            12,
            "The password looks like a “{SHA512-CRYPT}” hash, which Dovecot here does not accept. Use {ARGON2ID} or {BLF-CRYPT} hashes, or a plain password.",
        ),
        (
            13,
            "sales@example.test is already an alias. Choose another address or delete the alias first.",
        ),
        (14, "This row has 2 columns; it needs 4: address, display_name, password, quota."),
    ]
    assert result.total == 14
    assert Mailbox.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_apply_is_all_or_nothing(mail_admin, domain):
    text = (
        HEADER
        + f"ok1@example.test,,{GOOD},\nok2@example.test,,{GOOD},\nbad@nowhere.test,,{GOOD},\n"
    )
    result = import_mailboxes(csv_text=text, dry_run=False, actor=mail_admin)
    assert [e["line"] for e in result.errors] == [4]
    assert not Mailbox.objects.exists()
    assert not AuditEvent.objects.exists()


def test_domain_admin_cannot_import_into_foreign_domain(domain_admin, domain, other_domain):
    text = HEADER + f"x@elsewhere.test,,{GOOD},\n"
    result = import_mailboxes(csv_text=text, dry_run=False, actor=domain_admin)
    assert result.errors[0]["message"].startswith("There is no domain elsewhere.test that you can")
    assert not Mailbox.objects.exists()


def test_max_mailboxes_counts_earlier_rows(mail_admin):
    DomainFactory(name="small.test", max_mailboxes=1)
    text = HEADER + f"a@small.test,,{GOOD},\nb@small.test,,{GOOD},\n"
    result = import_mailboxes(csv_text=text, dry_run=True, actor=mail_admin)
    assert result.errors == [
        {
            "line": 3,
            "address": "b@small.test",
            "message": "small.test would get more than its limit of 1 mailbox, counting the rows above it in this file. Raise the domain's mailbox limit or import fewer.",
        }
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "",
            "The file is empty. The first line must name the columns: address,display_name,password,quota.",
        ),
        (
            "email,name\n",
            "The first line must name the columns address,display_name,password,quota; it is “email,name”.",
        ),
    ],
)
def test_file_level_errors(mail_admin, text, message):
    result = import_mailboxes(csv_text=text, dry_run=True, actor=mail_admin)
    assert result.errors == [{"line": 1, "address": "", "message": message}]


def test_import_record_runs_and_forgets_the_csv(
    mail_admin, domain, django_capture_on_commit_callbacks
):
    text = HEADER + f"carol@example.test,Carol,{GOOD},1 GB\n"
    with django_capture_on_commit_callbacks() as callbacks:
        record = mailbox_import_start(
            csv_text=text, actor=mail_admin, dry_run=False, filename="x.csv"
        )
    assert len(callbacks) == 1  # the task is enqueued on commit (not run here)
    record = mailbox_import_run(import_id=record.pk)
    assert record.status == MailboxImport.Status.DONE
    assert (record.total, record.processed, record.created_count) == (1, 1, 1)
    assert record.csv_text == ""
    assert Mailbox.objects.filter(address="carol@example.test").exists()
    # idempotent: running again changes nothing
    assert mailbox_import_run(import_id=record.pk).created_count == 1
    assert Mailbox.objects.count() == 1


def test_failed_import_record_lists_errors(mail_admin, domain, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        record = mailbox_import_start(
            csv_text=HEADER + "x@example.test,,short,\n", actor=mail_admin, dry_run=True
        )
    record = mailbox_import_run(import_id=record.pk)
    assert record.status == MailboxImport.Status.FAILED
    assert record.errors[0]["line"] == 2
    assert record.csv_text == ""


@pytest.mark.django_db(transaction=True)
def test_import_task_runs_on_a_real_worker(celery_worker):
    from tests.factories import UserFactory

    actor = UserFactory(username="mia", roles=["mail_admin"])
    DomainFactory(name="example.test")
    record = mailbox_import_start(
        csv_text=HEADER + f"dana@example.test,Dana,{GOOD},1 GB\n", actor=actor, dry_run=False
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        record.refresh_from_db()
        if record.is_finished:
            break
        time.sleep(0.1)
    assert record.status == MailboxImport.Status.DONE, record.errors
    assert Mailbox.objects.filter(address="dana@example.test").exists()
