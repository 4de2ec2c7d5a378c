"""Reading a password without it ever being on the command line."""

from __future__ import annotations

import getpass
import sys

from django.core.management.base import CommandError


def read_password(*, from_stdin: bool) -> str:
    if from_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise CommandError("No password on standard input. Pipe it in, one line.")
        return value
    if not sys.stdin.isatty():
        raise CommandError("No terminal to ask for the password. Use --password-stdin.")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise CommandError("The two passwords differ. Run the command again.")
    return first
