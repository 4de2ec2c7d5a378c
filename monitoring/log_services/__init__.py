"""Log collection writes: read a source into events + checkpoint in one transaction, update
findings, notify, purge; and the audited writes (sources, settings, acknowledging findings).

Collected events are operational data, not audit (like probe results, STYLE.md §10).
One module per concern (sources, collection, findings, purge); every public name is re-exported
here, so `from monitoring.log_services import ...` keeps working. Patch a function where it is
looked up (its submodule), not here.
"""

from __future__ import annotations

# Re-exported for callers that reach them through this package (log_services.ValidationError,
# log_services.log_selectors).
from django.core.exceptions import ValidationError

from monitoring import log_selectors
from monitoring.log_services._common import ERRORS
from monitoring.log_services.collection import (
    MAX_BATCHES,
    CollectStats,
    bulk_insert,
    collect_due_sources,
    collect_source,
)
from monitoring.log_services.findings import (
    finding_acknowledge,
    findings_message,
    findings_notify,
)
from monitoring.log_services.purge import log_events_purge
from monitoring.log_services.sources import (
    QUEUE_NAME_RE,
    SETTINGS_FIELDS,
    SOURCE_FIELDS,
    CollectRequest,
    log_settings,
    log_settings_update,
    log_source_collect_request,
    log_source_create,
    log_source_set_enabled,
    log_source_update,
    timestamp_us,
)

__all__ = [
    "ERRORS",
    "MAX_BATCHES",
    "QUEUE_NAME_RE",
    "SETTINGS_FIELDS",
    "SOURCE_FIELDS",
    "CollectRequest",
    "CollectStats",
    "ValidationError",
    "bulk_insert",
    "collect_due_sources",
    "collect_source",
    "finding_acknowledge",
    "findings_message",
    "findings_notify",
    "log_events_purge",
    "log_selectors",
    "log_settings",
    "log_settings_update",
    "log_source_collect_request",
    "log_source_create",
    "log_source_set_enabled",
    "log_source_update",
    "timestamp_us",
]
