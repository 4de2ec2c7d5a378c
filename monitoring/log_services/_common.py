"""Shared by the log services: the refusal messages (ERRORS) and how a refusal is raised."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ERRORS = {
    "not_allowed": _("Your role does not allow this."),
    "already_acknowledged": _(
        "This finding was already acknowledged by %(who)s at %(when)s; a new occurrence opens "
        "a new finding."
    ),
    "bad_timezone": _(
        "“%(value)s” is not a time zone we know. Use a name like UTC or Europe/Berlin."
    ),
    "relative_path": _("“%(value)s” is not an absolute path. Give the full path of the log file."),
    "empty_path": _("Give the full path of the log file, for example /var/log/dovecot.log."),
    "duplicate_path": _(
        "The source “%(other)s” already reads %(path)s on %(host)s. Edit that source instead, "
        "or give another path."
    ),
    "duplicate_name": _("There is already a log source named “%(value)s”. Choose another name."),
    "empty_host": _("Give the label of the mail host this file is on, for example mail1."),
    "bad_queue": _(
        "“%(value)s” is not a queue name: use letters, digits, dots, dashes, underscores and "
        "colons (for example logs.mail1), or leave it empty for the default queue."
    ),
    "already_enabled": _("The log source “%(name)s” is already enabled."),
    "already_disabled": _("The log source “%(name)s” is already disabled."),
    "collect_disabled": _(
        "The log source “%(name)s” is disabled, so it is not collected. Enable it first."
    ),
    "queue_unreachable": _(
        "The task queue cannot be reached (%(error)s), so the collection was not started. "
        "Check that the broker (CELERY_BROKER_URL) is running, then try again."
    ),
}


def _refuse(code: str, **params: Any) -> ValidationError:
    return ValidationError(ERRORS[code], code=code, params=params or None)
