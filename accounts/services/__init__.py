"""Every write to domains, mailboxes and aliases: keyword-only, `actor` required, audited in the
same transaction, refusals as ValidationError with a code (messages in each module's *_ERRORS)."""

from __future__ import annotations

from accounts.services.aliases import ALIAS_ERRORS, alias_create, alias_delete, alias_update
from accounts.services.domains import (
    DOMAIN_ERRORS,
    domain_create,
    domain_delete,
    domain_set_administrators,
    domain_update,
)
from accounts.services.imports import (
    IMPORT_ERRORS,
    ImportResult,
    import_mailboxes,
    mailbox_import_apply,
    mailbox_import_run,
    mailbox_import_start,
)
from accounts.services.mailboxes import (
    MAILBOX_ERRORS,
    mailbox_create,
    mailbox_delete,
    mailbox_reactivate,
    mailbox_set_password,
    mailbox_set_quota,
    mailbox_suspend,
    mailbox_update,
)

__all__ = [
    "ALIAS_ERRORS",
    "DOMAIN_ERRORS",
    "IMPORT_ERRORS",
    "MAILBOX_ERRORS",
    "ImportResult",
    "alias_create",
    "alias_delete",
    "alias_update",
    "domain_create",
    "domain_delete",
    "domain_set_administrators",
    "domain_update",
    "import_mailboxes",
    "mailbox_create",
    "mailbox_delete",
    "mailbox_import_apply",
    "mailbox_import_run",
    "mailbox_import_start",
    "mailbox_reactivate",
    "mailbox_set_password",
    "mailbox_set_quota",
    "mailbox_suspend",
    "mailbox_update",
]
