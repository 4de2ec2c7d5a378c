"""The few doveadm commands legal holds need, run by a Celery worker on the mail host.

`settings.MAILADMIN_DOVEADM` is the executable, `settings.MAILADMIN_DOVECOT_CONFIG` the config
passed with -c (empty: doveadm's default). A failure raises DoveadmError with doveadm's own
words; the web process never calls this module (DESIGN.md, "Talking to the mail hosts").
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from django.conf import settings

TIMEOUT_SECONDS = 30
# sysexits codes doveadm uses: EX_TEMPFAIL 75, EX_NOUSER 67, EX_DATAERR 65, 68 = not found.
EXIT_NOT_FOUND = 68


class DoveadmError(Exception):
    """doveadm failed, could not be started or timed out."""


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def command(*args: str) -> list[str]:
    """The argv for `doveadm [-c CONFIG] ARGS`."""
    argv = [settings.MAILADMIN_DOVEADM]
    if settings.MAILADMIN_DOVECOT_CONFIG:
        argv += ["-c", settings.MAILADMIN_DOVECOT_CONFIG]
    return [*argv, *args]


def run(*args: str, ok_codes: tuple[int, ...] = (0,)) -> Result:
    """Run doveadm; raise DoveadmError unless the exit code is one of `ok_codes`."""
    argv = command(*args)
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DoveadmError(f"doveadm {' '.join(args)}: {error}") from error
    result = Result(done.returncode, done.stdout, done.stderr.strip())
    if result.returncode not in ok_codes:
        detail = result.stderr or result.stdout.strip() or "no output"
        raise DoveadmError(f"doveadm {' '.join(args)} failed (exit {result.returncode}): {detail}")
    return result


def mailbox_create(user: str, mailbox: str) -> bool:
    """Create `mailbox` for `user`; False when it already existed (not an error)."""
    try:
        run("mailbox", "create", "-u", user, mailbox)
    except DoveadmError as error:
        if "already exists" in str(error):
            return False
        raise
    return True


def kick(user: str) -> None:
    """End every session of `user` (none open is fine)."""
    run("kick", user, ok_codes=(0, EXIT_NOT_FOUND))


def user_fields(user: str) -> dict[str, str]:
    """What the userdb returns for `user`, as field -> value.

    `doveadm user -u USER` prints "userdb: USER" then "  field : value" lines; the tab
    formatter prints "field<TAB>value". Both are read.
    """
    out = run("user", "-u", user).stdout
    fields: dict[str, str] = {}
    for line in out.splitlines():
        if "\t" in line:
            name, _, value = line.partition("\t")
        elif line.startswith("  ") and ":" in line:
            name, _, value = line.partition(":")
        else:
            continue
        name, value = name.strip(), value.strip()
        if name and name != "field":
            fields[name] = value
    return fields


def mailbox_messages(user: str, mailbox: str) -> int | None:
    """The number of messages in `mailbox`, or None when it does not exist.

    `doveadm mailbox status` opens the folder directly, so it works on a folder the owner's ACL
    hides from `doveadm mailbox list` (the preservation folder is such a folder).
    """
    result = run("mailbox", "status", "-u", user, "messages", mailbox, ok_codes=(0, EXIT_NOT_FOUND))
    if result.returncode == EXIT_NOT_FOUND:
        return None
    for token in result.stdout.split():
        if token.startswith("messages="):
            return int(token.removeprefix("messages="))
    raise DoveadmError(f"doveadm mailbox status: no message count in {result.stdout!r}")
