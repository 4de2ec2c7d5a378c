"""Shared lookups for the policy commands: users and mailboxes by name, refusals as CommandError."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.models import Mailbox
from accounts.rules import normalize_address


def user_named(username: str, role: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise CommandError(f"No user named “{username}” (given as {role}).") from None


def mailbox_at(address: str) -> Mailbox:
    try:
        ascii_address = normalize_address(address)
    except ValidationError as error:
        raise CommandError(" ".join(error.messages)) from None
    mailbox = Mailbox.objects.select_related("domain").filter(address=ascii_address).first()
    if mailbox is None:
        raise CommandError(f"No mailbox {address}.")
    return mailbox


def day_start(text: str, option: str) -> datetime:
    """'2027-01-31' -> 2027-01-31 00:00 UTC."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option} “{text}” is not a date; write YYYY-MM-DD.") from None
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def refusal(error: ValidationError) -> CommandError:
    return CommandError(" ".join(error.messages))
