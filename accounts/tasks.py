"""Celery adapters for accounts: ids in, the service does the work."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="accounts.import_mailboxes")
def import_mailboxes_task(import_id: int) -> None:
    """Run the recorded CSV import `import_id` (idempotent: a finished one is skipped)."""
    from accounts.services import mailbox_import_run

    mailbox_import_run(import_id=import_id)
