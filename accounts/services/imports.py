"""CSV import of mailboxes (for a migration): check every row, then create all or nothing.

Columns: address, display_name, password, quota. The password is a plain password (checked by
the same rules as the forms) or an existing Dovecot hash "{ARGON2ID}$argon2id$..." /
"{BLF-CRYPT}$2b$..." kept as is. The quota is "2 GB", "500 MB" or bytes; empty = the domain's
default. The web page runs it as a Celery task with progress on a MailboxImport row; the
`import_mailboxes` command calls import_mailboxes() directly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Alias, Domain, Mailbox, MailboxImport
from accounts.passwords import hash_password
from accounts.rules import address_to_unicode, split_address
from accounts.services._common import counted, size_text, snapshot
from accounts.services.mailboxes import (
    MAILBOX_ERRORS,
    MAILBOX_FIELDS,
    check_display_name,
    check_password,
)
from audit.models import Action
from audit.services import audit_record
from mailadmin.lib.units import SizeError, parse_size

COLUMNS = ("address", "display_name", "password", "quota")
HASH_PREFIXES = {"ARGON2ID": "$argon2id$", "BLF-CRYPT": "$2"}
MAX_ROWS = 50_000
_CHUNK = 1000

IMPORT_ERRORS = {
    "empty_file": _(
        "The file is empty. The first line must name the columns: address,display_name,password,quota."
    ),
    "bad_header": _(
        "The first line must name the columns address,display_name,password,quota; "
        "it is “%(found)s”."
    ),
    "too_many_rows": _("The file has %(count)d rows; import at most %(max)d at a time."),
    "column_count": _(
        "This row has %(count)d columns; it needs 4: address, display_name, password, quota."
    ),
    "unknown_domain": _(
        "There is no domain %(domain)s that you can add mailboxes to. Create the domain first "
        "or check the spelling."
    ),
    "duplicate_in_file": _(
        "%(address)s is also on line %(line)d of this file. List each address once."
    ),
    "password_empty": _(
        "The password is empty. Every mailbox needs one: give a password, or a {ARGON2ID} or "
        "{BLF-CRYPT} hash from the old server."
    ),
    "unknown_scheme": _(
        "The password looks like a “{%(scheme)s}” hash, which Dovecot here does not accept. "
        "Use {ARGON2ID} or {BLF-CRYPT} hashes, or a plain password."
    ),
    "quota_exceeds_domain": _(
        "This mailbox needs %(needed)s but %(domain)s has %(left)s left, counting the rows "
        "above it in this file. Raise the domain quota or choose a smaller size."
    ),
    "max_mailboxes": _(
        "%(domain)s would get more than its limit of %(max)s, counting the rows above it in "
        "this file. Raise the domain's mailbox limit or import fewer."
    ),
}


@dataclass
class ImportRow:
    line: int
    address: str = ""
    local_part: str = ""
    domain_name: str = ""
    display_name: str = ""
    password: str = ""
    password_hash: str = ""
    quota_bytes: int | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    total: int
    errors: list[dict[str, Any]]
    created: list[str]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.errors


Progress = Callable[[str, int, int], None]


def _message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _error(key: str, **params: Any) -> str:
    return str(IMPORT_ERRORS[key]) % params


def parse_rows(csv_text: str) -> tuple[list[ImportRow], list[dict[str, Any]]]:
    """Rows with everything that can be checked without the database; file-level errors."""
    reader = csv.reader(io.StringIO(csv_text.lstrip("\ufeff")))
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)
    if header is None:
        return [], [{"line": 1, "address": "", "message": _error("empty_file")}]
    if tuple(cell.strip().lower() for cell in header) != COLUMNS:
        found = ",".join(header)
        return [], [
            {"line": reader.line_num, "address": "", "message": _error("bad_header", found=found)}
        ]
    rows: list[ImportRow] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        rows.append(_parse_row(reader.line_num, cells))
    if len(rows) > MAX_ROWS:
        message = _error("too_many_rows", count=len(rows), max=MAX_ROWS)
        return [], [{"line": 1, "address": "", "message": message}]
    return rows, []


def _parse_row(line: int, cells: list[str]) -> ImportRow:
    row = ImportRow(line=line)
    if len(cells) != len(COLUMNS):
        row.address = cells[0].strip() if cells else ""
        row.errors.append(_error("column_count", count=len(cells)))
        return row
    address, display_name, password, quota = cells
    row.address = address.strip()
    try:
        row.local_part, row.domain_name = split_address(address)
        row.address = f"{row.local_part}@{row.domain_name}"
    except ValidationError as exc:
        row.errors.append(_message(exc))
    try:
        row.display_name = check_display_name(display_name)
    except ValidationError as exc:
        row.errors.append(_message(exc))
    _parse_password(row, password)
    if quota.strip():
        try:
            row.quota_bytes = parse_size(quota)
        except SizeError as exc:
            row.errors.append(str(exc))
    return row


def _parse_password(row: ImportRow, password: str) -> None:
    if not password:
        row.errors.append(_error("password_empty"))
        return
    if password.startswith("{") and "}" in password:
        scheme, _sep, digest = password[1:].partition("}")
        prefix = HASH_PREFIXES.get(scheme)
        if prefix is None or not digest.startswith(prefix) or len(password) > 255:
            row.errors.append(_error("unknown_scheme", scheme=scheme))
        else:
            row.password_hash = password
        return
    try:
        check_password(password)
        row.password = password
    except ValidationError as exc:
        row.errors.append(_message(exc))


def _existing(model: type[Mailbox] | type[Alias], addresses: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(addresses), _CHUNK):
        chunk = addresses[start : start + _CHUNK]
        found |= set(model.objects.filter(address__in=chunk).values_list("address", flat=True))
    return found


def check_rows(rows: list[ImportRow], *, actor: User, progress: Progress | None = None) -> None:
    """Add to each row what the database refuses: unknown or foreign domain, taken address,
    duplicate in the file, over the domain's mailbox limit or storage quota (earlier rows of the
    file count). A fixed number of queries, whatever the number of rows."""
    names = {row.domain_name for row in rows if row.domain_name}
    domains = {
        d.name: d
        for d in Domain.objects.editable_by(actor)
        .filter(name__in=names)
        .annotate(
            n_mailboxes=Count("mailboxes"),
            allocated=Sum("mailboxes__quota_bytes", default=0),
        )
    }
    addresses = [row.address for row in rows if row.domain_name]
    mailboxes, aliases = _existing(Mailbox, addresses), _existing(Alias, addresses)
    # Annotated above; django-stubs cannot see annotations on a plain model instance.
    count: dict[str, int] = {name: d.n_mailboxes for name, d in domains.items()}  # type: ignore[attr-defined]
    allocated: dict[str, int] = {name: d.allocated for name, d in domains.items()}  # type: ignore[attr-defined]
    seen: dict[str, int] = {}
    for index, row in enumerate(rows, start=1):
        if progress and index % 100 == 0:
            progress(MailboxImport.Status.CHECKING, index, len(rows))
        if not row.domain_name:
            continue
        # A row that did not parse is not counted against the domain's limits.
        parsed = not row.errors
        shown = address_to_unicode(row.address)
        domain = domains.get(row.domain_name)
        if domain is None:
            row.errors.append(
                _error("unknown_domain", domain=address_to_unicode(row.address).partition("@")[2])
            )
            continue
        if row.address in seen:
            row.errors.append(_error("duplicate_in_file", address=shown, line=seen[row.address]))
            continue
        seen[row.address] = row.line
        if row.address in mailboxes:
            row.errors.append(str(MAILBOX_ERRORS["mailbox_exists"]) % {"address": shown})
        elif row.address in aliases:
            row.errors.append(str(MAILBOX_ERRORS["alias_exists"]) % {"address": shown})
        if not parsed:
            continue
        if domain.max_mailboxes and count[domain.name] >= domain.max_mailboxes:
            row.errors.append(
                _error(
                    "max_mailboxes",
                    domain=domain.display_name,
                    max=counted(domain.max_mailboxes, "mailbox", "mailboxes"),
                )
            )
        _check_row_quota(row, domain, allocated)
        if not row.errors:
            count[domain.name] += 1
            allocated[domain.name] += row.quota_bytes or 0


def _check_row_quota(row: ImportRow, domain: Domain, allocated: dict[str, int]) -> None:
    if row.quota_bytes is None:
        row.quota_bytes = domain.default_quota_bytes
    if not domain.quota_bytes:
        return
    left = max(0, domain.quota_bytes - allocated[domain.name])
    if row.quota_bytes == 0:
        row.errors.append(
            str(MAILBOX_ERRORS["quota_unlimited"])
            % {
                "domain": domain.display_name,
                "quota": size_text(domain.quota_bytes),
                "left": size_text(left),
            }
        )
    elif row.quota_bytes > left:
        row.errors.append(
            _error(
                "quota_exceeds_domain",
                needed=size_text(row.quota_bytes),
                domain=domain.display_name,
                left=size_text(left),
            )
        )


def _row_errors(rows: list[ImportRow]) -> list[dict[str, Any]]:
    return [
        {"line": row.line, "address": row.address, "message": message}
        for row in rows
        for message in row.errors
    ]


def import_mailboxes(
    *,
    csv_text: str,
    dry_run: bool,
    actor: User,
    progress: Progress | None = None,
    record: MailboxImport | None = None,
) -> ImportResult:
    """Check every row; unless `dry_run` or a row failed, create them all in one transaction.

    Passwords are hashed before the transaction (argon2 is slow on purpose); inside it the
    domains are locked and the rows checked again, so a concurrent change cannot slip in.
    Each mailbox gets a MAILBOX_CREATED event plus one MAILBOXES_IMPORTED summary. When
    `record` is given, its final state is written in the same transaction as the mailboxes.
    """
    rows, file_errors = parse_rows(csv_text)
    if file_errors:
        return ImportResult(total=0, errors=file_errors, created=[], dry_run=dry_run)
    check_rows(rows, actor=actor, progress=progress)
    errors = _row_errors(rows)
    if dry_run or errors:
        return ImportResult(total=len(rows), errors=errors, created=[], dry_run=dry_run)
    for index, row in enumerate(rows, start=1):
        if not row.password_hash:
            row.password_hash = hash_password(row.password)
        if progress and index % 10 == 0:
            progress(MailboxImport.Status.APPLYING, index, len(rows))
    with transaction.atomic():
        list(
            Domain.objects.select_for_update()
            .filter(name__in={row.domain_name for row in rows})
            .order_by("pk")
        )
        for row in rows:
            row.errors.clear()
        check_rows(rows, actor=actor)
        errors = _row_errors(rows)
        if errors:
            return ImportResult(total=len(rows), errors=errors, created=[], dry_run=dry_run)
        created = _create_all(rows, actor=actor)
        if record is not None:
            record.total = len(rows)
            _finish(record, errors=[], created=len(created), keep_text=False)
    return ImportResult(total=len(rows), errors=[], created=created, dry_run=dry_run)


def _create_all(rows: list[ImportRow], *, actor: User) -> list[str]:
    domains = {d.name: d for d in Domain.objects.filter(name__in={r.domain_name for r in rows})}
    domain = next(iter(domains.values()))
    mailboxes = [
        Mailbox(
            domain=domains[row.domain_name],
            local_part=row.local_part,
            address=row.address,
            display_name=row.display_name,
            password_hash=row.password_hash,
            quota_bytes=row.quota_bytes or 0,
            quota_messages=domains[row.domain_name].default_quota_messages,
        )
        for row in rows
    ]
    Mailbox.objects.bulk_create(mailboxes, batch_size=_CHUNK)
    addresses = [m.address for m in mailboxes]
    for start in range(0, len(addresses), _CHUNK):
        for mailbox in Mailbox.objects.filter(address__in=addresses[start : start + _CHUNK]):
            audit_record(
                actor=actor,
                action=Action.MAILBOX_CREATED,
                target=mailbox,
                details={"created": snapshot(mailbox, MAILBOX_FIELDS), "source": "csv import"},
            )
    addresses = [m.address for m in mailboxes]
    audit_record(
        actor=actor,
        action=Action.MAILBOXES_IMPORTED,
        target=domain if len(domains) == 1 else None,
        target_repr=None if len(domains) == 1 else counted(len(domains), "domain", "domains"),
        details={"count": len(addresses), "addresses": addresses[:1000]},
    )
    return addresses


def _finish(
    record: MailboxImport, *, errors: list[dict[str, Any]], created: int, keep_text: bool
) -> None:
    record.status = MailboxImport.Status.FAILED if errors else MailboxImport.Status.DONE
    record.errors = errors
    record.created_count = created
    record.processed = record.total
    record.finished_at = timezone.now()
    if not keep_text:
        record.csv_text = ""
    record.save(
        update_fields=[
            "status",
            "errors",
            "total",
            "created_count",
            "processed",
            "finished_at",
            "csv_text",
        ]
    )


def mailbox_import_start(
    *, csv_text: str, actor: User, dry_run: bool, filename: str = ""
) -> MailboxImport:
    """Record an import and hand it to a worker once the row is committed."""
    from accounts.tasks import import_mailboxes_task

    with transaction.atomic():
        record = MailboxImport.objects.create(
            actor=actor, csv_text=csv_text, is_dry_run=dry_run, filename=filename[:255]
        )
        transaction.on_commit(lambda: import_mailboxes_task.delay(record.pk))
    return record


def mailbox_import_apply(*, dry_run_record: MailboxImport, actor: User) -> MailboxImport:
    """Start the real import of a file that passed its dry run; the dry run forgets the text."""
    with transaction.atomic():
        source = MailboxImport.objects.select_for_update().get(pk=dry_run_record.pk)
        record = mailbox_import_start(
            csv_text=source.csv_text, actor=actor, dry_run=False, filename=source.filename
        )
        source.csv_text = ""
        source.save(update_fields=["csv_text"])
    return record


def mailbox_import_run(*, import_id: int) -> MailboxImport:
    """Run a recorded import (the task's body). Idempotent: a finished import is left alone."""
    record = MailboxImport.objects.select_related("actor").get(pk=import_id)
    if record.is_finished:
        return record

    def progress(status: str, processed: int, total: int) -> None:
        MailboxImport.objects.filter(pk=record.pk).update(
            status=status, processed=processed, total=total
        )

    progress(MailboxImport.Status.CHECKING, 0, 0)
    result = import_mailboxes(
        csv_text=record.csv_text,
        dry_run=record.is_dry_run,
        actor=record.actor,
        progress=progress,
        record=record,
    )
    record.refresh_from_db()
    if not record.is_finished:
        record.total = result.total
        # A clean dry run keeps the text so that "Apply" can import the same file.
        keep = record.is_dry_run and result.ok
        _finish(record, errors=result.errors, created=len(result.created), keep_text=keep)
    return record
