"""Every write of the monitoring app: endpoints, maintenance windows, alert channels (audited),
and the probe pipeline: schedule, run, record, alert, roll up, purge (not audited: probe runs
are operational data, STYLE.md §10)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as KombuOperationalError

from audit.models import Action
from audit.services import audit_record, changes
from monitoring import notify, probes, rules, secrets
from monitoring.models import (
    Endpoint,
    MaintenanceWindow,
    NotificationChannel,
    ProbeResult,
    Rollup,
    State,
    StateChange,
)
from policies.models import OrgPolicy

logger = logging.getLogger(__name__)

ENDPOINT_FIELDS = (
    "name",
    "host",
    "port",
    "protocol",
    "transport",
    "expected_cert_name",
    "probe_username",
    "interval_seconds",
    "timeout_seconds",
    "latency_warn_ms",
    "latency_crit_ms",
    "cert_days_warn",
    "cert_days_crit",
    "source_address",
    "failure_threshold",
    "recovery_threshold",
    "reminder_minutes",
    "is_enabled",
)
# Fields that change what is probed: the next probe runs right away.
_PROBE_SHAPE = {"host", "port", "protocol", "transport", "expected_cert_name", "source_address"}
ROLLUP_DAYS = 366
# Results for an hour may still be stored a little after it ends (a probe running across it).
_ROLLUP_GRACE = timedelta(minutes=5)


def _snapshot(endpoint: Endpoint) -> dict[str, Any]:
    return {name: getattr(endpoint, name) for name in ENDPOINT_FIELDS}


# --- endpoints -----------------------------------------------------------------------------------


def endpoint_create(*, values: Mapping[str, Any], password: str, actor: Any) -> Endpoint:
    """Create an endpoint, due for its first probe now. `password` ("" = none) is encrypted."""
    now = timezone.now()
    with transaction.atomic():
        endpoint = Endpoint(next_run_at=now, state_since=now)
        for name in ENDPOINT_FIELDS:
            if name in values:
                setattr(endpoint, name, values[name])
        if password:
            endpoint.probe_password_encrypted = secrets.encrypt(password)
        endpoint.full_clean()
        endpoint.save()
        audit_record(
            actor=actor,
            action=Action.ENDPOINT_CREATED,
            target=endpoint,
            details={**_snapshot(endpoint), "probe_password": "set" if password else "none"},
        )
    return endpoint


def endpoint_update(
    *,
    endpoint: Endpoint,
    values: Mapping[str, Any],
    password: str,
    clear_password: bool,
    actor: Any,
) -> Endpoint:
    """Change an endpoint. A blank `password` keeps the stored one; `clear_password` drops it."""
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = _snapshot(endpoint)
        for name in ENDPOINT_FIELDS:
            if name in values:
                setattr(endpoint, name, values[name])
        diff = changes(before, _snapshot(endpoint))
        if password:
            endpoint.probe_password_encrypted = secrets.encrypt(password)
            diff["probe_password"] = {"old": "hidden", "new": "changed"}
        elif clear_password and endpoint.probe_password_encrypted:
            endpoint.probe_password_encrypted = ""
            diff["probe_password"] = {"old": "hidden", "new": "cleared"}
        if set(diff) & (_PROBE_SHAPE | {"is_enabled", "probe_password", "probe_username"}):
            endpoint.next_run_at = timezone.now()
        endpoint.full_clean()
        endpoint.save()
        if diff:
            audit_record(actor=actor, action=Action.ENDPOINT_UPDATED, target=endpoint, details=diff)
    return endpoint


def endpoint_delete(*, endpoint: Endpoint, actor: Any) -> None:
    """Delete an endpoint with its results, rollups, windows and state history."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=Action.ENDPOINT_DELETED,
            target=endpoint,
            details=_snapshot(endpoint),
        )
        Endpoint.objects.filter(pk=endpoint.pk).update(last_result=None)
        endpoint.delete()


# --- maintenance windows -----------------------------------------------------------------------


def window_create(
    *, endpoint: Endpoint, values: Mapping[str, Any], actor: Any
) -> MaintenanceWindow:
    with transaction.atomic():
        window = MaintenanceWindow(endpoint=endpoint, **values)
        window.full_clean()
        window.save()
        audit_record(
            actor=actor,
            action=Action.MAINTENANCE_WINDOW_CREATED,
            target=endpoint,
            details={"window": str(window), "reason": window.reason},
        )
    return window


def window_delete(*, window: MaintenanceWindow, actor: Any) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=Action.MAINTENANCE_WINDOW_DELETED,
            target=window.endpoint,
            details={"window": str(window), "reason": window.reason},
        )
        window.delete()


def _window_specs(endpoint: Endpoint) -> list[rules.WindowSpec]:
    return [
        rules.WindowSpec(
            kind=w.kind,
            starts_at=w.starts_at,
            ends_at=w.ends_at,
            weekday=w.weekday,
            start_time=w.start_time,
            duration_minutes=w.duration_minutes,
        )
        for w in endpoint.maintenance_windows.all()
    ]


def in_maintenance(endpoint: Endpoint, now: datetime) -> bool:
    return rules.any_window_open(_window_specs(endpoint), now)


# --- alert channels ------------------------------------------------------------------------------


def channel_create(*, values: Mapping[str, Any], actor: Any) -> NotificationChannel:
    with transaction.atomic():
        channel = NotificationChannel(**values)
        channel.full_clean()
        channel.save()
        audit_record(
            actor=actor,
            action=Action.CHANNEL_CREATED,
            target=channel,
            details={"kind": channel.kind, "target": channel.target},
        )
    return channel


def channel_update(
    *, channel: NotificationChannel, values: Mapping[str, Any], actor: Any
) -> NotificationChannel:
    with transaction.atomic():
        fields = ("name", "kind", "target", "is_enabled")
        before = {f: getattr(channel, f) for f in fields}
        for name, value in values.items():
            setattr(channel, name, value)
        channel.full_clean()
        channel.save()
        diff = changes(before, {f: getattr(channel, f) for f in fields})
        if diff:
            audit_record(actor=actor, action=Action.CHANNEL_UPDATED, target=channel, details=diff)
    return channel


def channel_delete(*, channel: NotificationChannel, actor: Any) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=Action.CHANNEL_DELETED,
            target=channel,
            details={"kind": channel.kind, "target": channel.target},
        )
        channel.delete()


def channel_send_test(*, channel: NotificationChannel, actor: Any) -> str:
    """Send a test alert now; returns "" on success, else the delivery error. Writes nothing."""
    payload = {
        "kind": "test",
        "endpoint": "(test)",
        "to_state": "ok",
        "summary": f"Test alert requested by {getattr(actor, 'username', actor)}",
        "at": timezone.now().isoformat(),
    }
    return notify.deliver(channel, payload)


# --- probing -------------------------------------------------------------------------------------


def build_spec(endpoint: Endpoint) -> probes.ProbeSpec:
    """What to probe and how, from the endpoint and the organisation's TLS minimum."""
    policy, _ = OrgPolicy.objects.get_or_create(pk=1)
    password, skipped = "", ""
    if endpoint.probe_username and endpoint.probe_password_encrypted:
        try:
            password = secrets.decrypt(endpoint.probe_password_encrypted)
        except secrets.SecretUnreadable as exc:
            skipped = str(exc)
    elif endpoint.probe_username:
        skipped = "A probe account is named but has no password; the login was skipped."
    return probes.ProbeSpec(
        host=endpoint.host,
        port=endpoint.port,
        protocol=endpoint.protocol,
        transport=endpoint.transport,
        expected_name=endpoint.cert_name,
        timeout_seconds=float(endpoint.timeout_seconds),
        username=endpoint.probe_username if password else "",
        password=password,
        source_address=endpoint.source_address or None,
        min_tls_version=policy.min_tls_version,
        ca_file=settings.MAILADMIN_PROBE_CA_FILE,
        latency_warn_ms=endpoint.latency_warn_ms,
        latency_crit_ms=endpoint.latency_crit_ms,
        cert_days_warn=endpoint.cert_days_warn,
        cert_days_crit=endpoint.cert_days_crit,
        login_skipped_reason=skipped,
    )


def run_probe(*, endpoint_id: int) -> ProbeResult | None:
    """Probe one endpoint now and record the outcome; None if the endpoint no longer exists.

    The network work happens outside any transaction; only recording locks the endpoint row.
    """
    endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        return None
    outcome = probes.probe(build_spec(endpoint))
    return record_outcome(endpoint_id=endpoint_id, outcome=outcome)


def _result_from(endpoint: Endpoint, outcome: probes.ProbeOutcome) -> ProbeResult:
    tls, phases = outcome.tls, outcome.phases_ms
    return ProbeResult(
        endpoint=endpoint,
        started_at=outcome.started_at,
        outcome=outcome.status.value,
        summary=outcome.summary[:300],
        details=outcome.details,
        total_ms=outcome.total_ms,
        **{f"{phase}_ms": phases.get(phase) for phase in probes.PHASES},
        tls_version=tls.version,
        cipher=tls.cipher[:100],
        cert_subject=tls.subject[:500],
        cert_issuer=tls.issuer[:500],
        cert_sans=tls.sans,
        cert_not_after=tls.not_after,
        cert_days_left=tls.days_left,
        chain_ok=tls.chain_ok,
        hostname_ok=tls.hostname_ok,
        error=outcome.error or tls.chain_error,
    )


def _alert_payload(
    endpoint: Endpoint, kind: str, result: ProbeResult, **extra: Any
) -> dict[str, Any]:
    return {
        "kind": kind,
        "endpoint": endpoint.name,
        "endpoint_id": endpoint.pk,
        "host": f"{endpoint.host}:{endpoint.port}",
        "to_state": endpoint.state,
        "state_since": endpoint.state_since.isoformat(),
        "summary": result.summary,
        "at": result.started_at.isoformat(),
        "path": reverse("monitoring:endpoint_detail", args=[endpoint.pk]),
        **extra,
    }


def record_outcome(*, endpoint_id: int, outcome: probes.ProbeOutcome) -> ProbeResult | None:
    """Store a result, move the state machine (N failures / M recoveries), keep every state
    change, and alert every enabled channel after commit unless a maintenance window is open."""
    alerts: list[dict[str, Any]] = []
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:
            return None
        result = _result_from(endpoint, outcome)
        result.save()
        now = outcome.started_at
        step = rules.next_state(
            state=endpoint.state,
            failures=endpoint.consecutive_failures,
            successes=endpoint.consecutive_successes,
            outcome=result.outcome,
            failure_threshold=endpoint.failure_threshold,
            recovery_threshold=endpoint.recovery_threshold,
        )
        quiet = in_maintenance(endpoint, now)
        if step.changed:
            previous = endpoint.state
            endpoint.state, endpoint.state_since = step.state, now
            silenced = ""
            if not rules.should_alert(previous, step.state):
                silenced = "no alert for this transition"
            elif quiet:
                silenced = "maintenance window"
            StateChange.objects.create(
                endpoint=endpoint,
                from_state=previous,
                to_state=step.state,
                at=now,
                summary=result.summary,
                silenced_reason=silenced,
            )
            if not silenced:
                alerts.append(_alert_payload(endpoint, "state_change", result, from_state=previous))
                endpoint.last_alert_at = now
        elif not quiet:
            due = rules.alert_due(
                state=endpoint.state,
                state_since=endpoint.state_since,
                last_alert_at=endpoint.last_alert_at,
                reminder_minutes=endpoint.reminder_minutes,
                now=now,
            )
            if due:
                alerts.append(_alert_payload(endpoint, due, result))
                endpoint.last_alert_at = now
        endpoint.consecutive_failures = step.failures
        endpoint.consecutive_successes = step.successes
        endpoint.last_result = result
        endpoint.save(
            update_fields=[
                "state",
                "state_since",
                "consecutive_failures",
                "consecutive_successes",
                "last_alert_at",
                "last_result",
            ]
        )
        transaction.on_commit(lambda: [notify.broadcast(p) for p in alerts])
    return result


def _enqueue_probe(endpoint_id: int, timeout_seconds: int) -> None:
    from monitoring.tasks import run_probe_task

    # A server that accepts and never answers is cut by the probe's own deadline; these limits
    # are the backstop so that nothing can hold a worker much longer.
    run_probe_task.apply_async(
        args=(endpoint_id,),
        soft_time_limit=timeout_seconds + 15,
        time_limit=timeout_seconds + 30,
    )


def _enqueue_all(jobs: list[tuple[int, int]]) -> None:
    for endpoint_id, timeout_seconds in jobs:
        _enqueue_probe(endpoint_id, timeout_seconds)


def run_due_probes(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Claim due endpoints (skipping rows another tick holds), push their next run one interval
    on, and enqueue one probe task each after commit. Returns the claimed ids."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Endpoint.objects.due(now)
            .select_for_update(skip_locked=True)
            .order_by("next_run_at")
            .only("id", "interval_seconds", "timeout_seconds", "next_run_at")[:limit]
        )
        for endpoint in due:
            endpoint.next_run_at = rules.next_run(now, endpoint.interval_seconds)
        Endpoint.objects.bulk_update(due, ["next_run_at"])
        jobs = [(e.pk, e.timeout_seconds) for e in due]
        transaction.on_commit(lambda: _enqueue_all(jobs))
    return [pk for pk, _ in jobs]


def probe_request(*, endpoint: Endpoint, actor: Any) -> int:
    """ "Probe now": enqueue a probe after commit. Returns the id of the newest result before
    the request (0 if none), so that a page can wait for a newer one."""
    try:
        with transaction.atomic():
            last = endpoint.results.order_by("-id").values_list("id", flat=True).first() or 0
            endpoint_id, timeout = endpoint.pk, endpoint.timeout_seconds
            transaction.on_commit(lambda: _enqueue_probe(endpoint_id, timeout))
    except KombuOperationalError as error:
        raise ValidationError(
            _(
                "The task queue cannot be reached (%(error)s), so the probe was not started. "
                "Check that the broker (CELERY_BROKER_URL) is running, then try again."
            ),
            code="queue_unreachable",
            params={"error": error},
        ) from error
    logger.info("probe of %s requested by %s", endpoint, getattr(actor, "username", actor))
    return last


# --- rollups and retention -----------------------------------------------------------------------


def _rollup_start(until: datetime) -> datetime | None:
    latest: datetime | None = Rollup.objects.aggregate(h=Max("hour"))["h"]
    if latest is not None:
        return latest + timedelta(hours=1)
    first: datetime | None = ProbeResult.objects.filter(started_at__lt=until).aggregate(
        t=Min("started_at")
    )["t"]
    return rules.hour_floor(first) if first is not None else None


def rollup_hours(*, now: datetime | None = None) -> int:
    """Roll up every complete hour after the newest rollup; returns the rows written."""
    now = now or timezone.now()
    until = rules.hour_floor(now - _ROLLUP_GRACE)
    start = _rollup_start(until)
    if start is None or start >= until:
        return 0
    groups: dict[tuple[int, datetime], list[tuple[bool, float | None]]] = defaultdict(list)
    rows = (
        ProbeResult.objects.filter(started_at__gte=start, started_at__lt=until)
        .order_by()
        .values_list("endpoint_id", "started_at", "outcome", "total_ms")
    )
    for endpoint_id, started_at, outcome, total_ms in rows.iterator(chunk_size=5000):
        groups[(endpoint_id, rules.hour_floor(started_at))].append((outcome == State.OK, total_ms))
    rollups = []
    for (endpoint_id, hour), items in groups.items():
        latencies = [ms for ok, ms in items if ok and ms is not None]
        rollups.append(
            Rollup(
                endpoint_id=endpoint_id,
                hour=hour,
                count=len(items),
                ok_count=sum(1 for ok, _ in items if ok),
                p50_ms=rules.percentile(latencies, 0.5),
                p95_ms=rules.percentile(latencies, 0.95),
            )
        )
    Rollup.objects.bulk_create(rollups, ignore_conflicts=True, batch_size=1000)
    return len(rollups)


def rollup_and_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Roll up complete hours, then delete raw results older than MAILADMIN_PROBE_RESULT_DAYS
    (never ones not yet rolled up) and rollups older than a year."""
    now = now or timezone.now()
    written = rollup_hours(now=now)
    keep_from = now - timedelta(days=settings.MAILADMIN_PROBE_RESULT_DAYS)
    rolled_until = Rollup.objects.aggregate(h=Max("hour"))["h"]
    if rolled_until is not None:
        keep_from = min(keep_from, rolled_until + timedelta(hours=1))
    else:
        keep_from = min(keep_from, rules.hour_floor(now - _ROLLUP_GRACE))
    with transaction.atomic():
        results, _ = ProbeResult.objects.filter(started_at__lt=keep_from).delete()
    rollups, _ = Rollup.objects.filter(hour__lt=now - timedelta(days=ROLLUP_DAYS)).delete()
    return {"rolled_up": written, "results_deleted": results, "rollups_deleted": rollups}
