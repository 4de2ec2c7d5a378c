"""Shared by the account commands: the audit actor from --actor, refusals as CommandError."""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Domain, Mailbox
from accounts.rules import normalize_address, normalize_domain_name
from audit.context import audit_context

T = TypeVar("T")


class AccountCommand(BaseCommand):
    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--actor", required=True, help="Username recorded in the audit trail (a real user)."
        )

    def actor(self, options: dict[str, Any]) -> User:
        try:
            return User.objects.get(username=options["actor"], is_active=True)
        except User.DoesNotExist:
            raise CommandError(
                f"There is no active user “{options['actor']}”. The audit trail needs a real "
                "user: pass --actor with an existing username."
            ) from None

    def run(self, call: Callable[[], T]) -> T:
        """Run a service call; a refusal becomes a CommandError with its message."""
        with audit_context(source="command"):
            try:
                return call()
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None


def find_domain(name: str) -> Domain:
    try:
        ascii_name = normalize_domain_name(name)
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from None
    try:
        return Domain.objects.get(name=ascii_name)
    except Domain.DoesNotExist:
        raise CommandError(
            f"There is no domain {name}. Create it with create_domain first."
        ) from None


def find_mailbox(address: str) -> Mailbox:
    try:
        ascii_address = normalize_address(address)
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from None
    try:
        return Mailbox.objects.select_related("domain").get(address=ascii_address)
    except Mailbox.DoesNotExist:
        raise CommandError(f"There is no mailbox {address}. Check the spelling.") from None
