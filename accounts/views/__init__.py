"""The accounts pages (one module per object kind); urls.py refers to them through here."""

from __future__ import annotations

from accounts.views.aliases import alias_create, alias_delete, alias_detail, alias_edit, alias_list
from accounts.views.domains import (
    domain_create,
    domain_delete,
    domain_detail,
    domain_edit,
    domain_list,
    domain_set_administrators,
)
from accounts.views.imports import mailbox_import, mailbox_import_apply, mailbox_import_detail
from accounts.views.mailboxes import (
    mailbox_create,
    mailbox_delete,
    mailbox_detail,
    mailbox_edit,
    mailbox_export,
    mailbox_list,
    mailbox_reactivate,
    mailbox_set_password,
    mailbox_set_quota,
    mailbox_suspend,
)

__all__ = [
    "alias_create",
    "alias_delete",
    "alias_detail",
    "alias_edit",
    "alias_list",
    "domain_create",
    "domain_delete",
    "domain_detail",
    "domain_edit",
    "domain_list",
    "domain_set_administrators",
    "mailbox_create",
    "mailbox_delete",
    "mailbox_detail",
    "mailbox_edit",
    "mailbox_export",
    "mailbox_import",
    "mailbox_import_apply",
    "mailbox_import_detail",
    "mailbox_list",
    "mailbox_reactivate",
    "mailbox_set_password",
    "mailbox_set_quota",
    "mailbox_suspend",
]
