"""The audited writes to log settings and sources, and 'collect now' (STYLE.md §10)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from audit.models import Action
from audit.services import audit_record, changes
from mailadmin.lib.auth import ORG_EDITORS, has_role
from monitoring.log_services._common import _refuse
from monitoring.models import LogSettings, LogSource

# The package's logger name, as before the split into modules.
logger = logging.getLogger("monitoring.log_services")

# What Celery's Redis transport and our routing accept without surprises (no spaces, no globs).
QUEUE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
SOURCE_FIELDS = ("name", "path", "host_label", "is_enabled", "queue", "timezone_name")
SETTINGS_FIELDS = (
    "store_sender_subject",
    "burst_threshold",
    "burst_window_minutes",
    "retention_days",
)


def log_settings() -> LogSettings:
    """The one settings row; created with the defaults if missing."""
    row, _created = LogSettings.objects.get_or_create(pk=1)
    return row


def log_settings_update(*, actor: Any, values: dict[str, Any]) -> LogSettings:
    """Change the organisation's log settings (superusers and mail administrators)."""
    if not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed")
    with transaction.atomic():
        row = log_settings()
        row = LogSettings.objects.select_for_update().get(pk=row.pk)
        before = {name: getattr(row, name) for name in SETTINGS_FIELDS}
        for name in SETTINGS_FIELDS:
            setattr(row, name, values[name])
        row.full_clean()
        diff = changes(before, {name: getattr(row, name) for name in SETTINGS_FIELDS})
        if diff:
            row.save(update_fields=[*SETTINGS_FIELDS, "updated_at"])
            audit_record(actor=actor, action=Action.LOG_SETTINGS_CHANGED, target=row, details=diff)
    return row


def log_source_create(*, actor: Any, values: dict[str, Any]) -> LogSource:
    """A new log file to collect (superusers and mail administrators).

    Refuses an empty or relative path, a path another source already reads on the same host,
    a name in use, an unknown time zone and a queue name Celery could not route to.
    """
    if not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed")
    _check_source(values)
    with transaction.atomic():
        _check_unique(values, exclude_pk=None)
        source = LogSource(**{name: values[name] for name in SOURCE_FIELDS if name in values})
        source.full_clean()
        source.save()
        audit_record(
            actor=actor,
            action=Action.LOG_SOURCE_CREATED,
            target=source,
            details={name: getattr(source, name) for name in SOURCE_FIELDS},
        )
    return source


def log_source_update(*, actor: Any, source: LogSource, values: dict[str, Any]) -> LogSource:
    """Change a source; a new path starts reading the new file from its beginning.

    Same refusals as log_source_create; `values` may hold only the fields to change.
    """
    if not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed")
    _check_source(values)
    with transaction.atomic():
        source = LogSource.objects.select_for_update().get(pk=source.pk)
        before = {name: getattr(source, name) for name in SOURCE_FIELDS}
        _check_unique({**before, **values}, exclude_pk=source.pk)
        for name in SOURCE_FIELDS:
            setattr(source, name, values.get(name, before[name]))
        source.full_clean()
        diff = changes(before, {name: getattr(source, name) for name in SOURCE_FIELDS})
        if not diff:
            return source
        fields = list(SOURCE_FIELDS)
        if "path" in diff:
            source.file_device = source.file_inode = None
            source.offset_bytes, source.head_hash = 0, ""
            fields += ["file_device", "file_inode", "offset_bytes", "head_hash"]
        source.save(update_fields=fields)
        audit_record(actor=actor, action=Action.LOG_SOURCE_UPDATED, target=source, details=diff)
    return source


def log_source_set_enabled(*, actor: Any, source: LogSource, is_enabled: bool) -> LogSource:
    """Turn collection of a source on or off (audited as an update with before/after).

    Refuses a change to the state the source is already in (a second click, a stale page).
    """
    if not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed")
    with transaction.atomic():
        current = LogSource.objects.select_for_update().get(pk=source.pk)
        if current.is_enabled == is_enabled:
            raise _refuse(
                "already_enabled" if is_enabled else "already_disabled", name=current.name
            )
        return log_source_update(actor=actor, source=current, values={"is_enabled": is_enabled})


@dataclass(frozen=True)
class CollectRequest:
    """Where a source stood when "Collect now" was asked, so a page can tell when a collection
    has run since (last_collected_at moved) and what it read (the counters' growth)."""

    after_us: int
    lines_read: int
    unknown_lines: int


def log_source_collect_request(*, actor: Any, source: LogSource) -> CollectRequest:
    """ "Collect now": enqueue the source's collection on its host's queue after commit.

    Not audited (a collection changes no setting, like "probe now"). Refuses a disabled source
    and says so when the broker cannot be reached.
    """
    if not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed")
    try:
        with transaction.atomic():
            current = LogSource.objects.get(pk=source.pk)
            if not current.is_enabled:
                raise _refuse("collect_disabled", name=current.name)
            snapshot = CollectRequest(
                after_us=timestamp_us(current.last_collected_at),
                lines_read=current.lines_read,
                unknown_lines=current.unknown_lines,
            )
            source_id, queue = current.pk, current.queue
            transaction.on_commit(lambda: _enqueue_collect(source_id, queue))
    except KombuOperationalError as error:
        raise _refuse("queue_unreachable", error=error) from error
    logger.info("collection of %s requested by %s", current, getattr(actor, "username", actor))
    return snapshot


def timestamp_us(moment: datetime | None) -> int:
    """Microseconds since the epoch (0 for never): exact, and safe in a query string."""
    if moment is None:
        return 0
    delta = moment - datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _enqueue_collect(source_id: int, queue: str) -> None:
    from monitoring.tasks import collect_log_source_task

    options: dict[str, Any] = {"queue": queue} if queue else {}
    collect_log_source_task.apply_async(args=(source_id,), **options)


def _check_source(values: dict[str, Any]) -> None:
    if "path" in values and not str(values["path"]).strip():
        raise _refuse("empty_path")
    if "path" in values and not str(values["path"]).startswith("/"):
        raise _refuse("relative_path", value=values["path"])
    if "host_label" in values and not str(values["host_label"]).strip():
        raise _refuse("empty_host")
    if values.get("queue") and not QUEUE_NAME_RE.fullmatch(str(values["queue"])):
        raise _refuse("bad_queue", value=values["queue"])
    if "timezone_name" in values:
        _zone(values["timezone_name"])


def _check_unique(values: dict[str, Any], *, exclude_pk: int | None) -> None:
    """Plain refusals for what the unique constraints would otherwise reject."""
    others = LogSource.objects.exclude(pk=exclude_pk) if exclude_pk else LogSource.objects.all()
    if "name" in values and others.filter(name=values["name"]).exists():
        raise _refuse("duplicate_name", value=values["name"])
    if "path" in values and "host_label" in values:
        other = others.filter(path=values["path"], host_label=values["host_label"]).first()
        if other is not None:
            raise _refuse(
                "duplicate_path", other=other.name, path=other.path, host=other.host_label
            )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _refuse("bad_timezone", value=name) from None
