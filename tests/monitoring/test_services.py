from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from audit.models import Action, AuditEvent
from monitoring import secrets, services
from monitoring.models import Endpoint, ProbeResult, Rollup, StateChange
from monitoring.probes import ProbeOutcome, Status
from tests.monitoring.helpers import make_channel, make_endpoint, make_result
from tests.monitoring.servers import WebhookServer

VALUES = {
    "name": "imaps",
    "host": "mail.lab.test",
    "port": 993,
    "protocol": "imap",
    "transport": "implicit_tls",
    "probe_username": "probe@lab.test",
    "interval_seconds": 60,
    "timeout_seconds": 10,
}


def outcome(status, *, at=None, summary=None):
    return ProbeOutcome(
        status=Status(status),
        summary=summary or f"{status} result",
        started_at=at or timezone.now(),
        phases_ms={"connect": 1.0, "tls": 2.0},
        total_ms=3.0,
    )


# --- endpoints and secrets ------------------------------------------------------------------------


def test_endpoint_create_encrypts_the_password_and_audits_without_it(superadmin):
    endpoint = services.endpoint_create(values=VALUES, password="s3cret-pw", actor=superadmin)
    endpoint.refresh_from_db()
    assert endpoint.probe_password_encrypted
    assert "s3cret-pw" not in endpoint.probe_password_encrypted
    assert secrets.decrypt(endpoint.probe_password_encrypted) == "s3cret-pw"
    assert endpoint.state == "unknown"
    assert endpoint.next_run_at <= timezone.now()
    event = AuditEvent.objects.get(action=Action.ENDPOINT_CREATED)
    assert event.target_repr == "imaps"
    assert event.details["probe_password"] == "set"
    assert "s3cret-pw" not in str(event.details)


def test_endpoint_update_blank_password_keeps_the_stored_one(superadmin):
    endpoint = services.endpoint_create(values=VALUES, password="first-pw", actor=superadmin)
    token = endpoint.probe_password_encrypted
    services.endpoint_update(
        endpoint=endpoint,
        values={**VALUES, "port": 10993},
        password="",
        clear_password=False,
        actor=superadmin,
    )
    endpoint.refresh_from_db()
    assert endpoint.port == 10993
    assert endpoint.probe_password_encrypted == token
    event = AuditEvent.objects.get(action=Action.ENDPOINT_UPDATED)
    assert event.details == {"port": {"old": 993, "new": 10993}}


def test_endpoint_update_new_password_and_clear(superadmin):
    endpoint = services.endpoint_create(values=VALUES, password="first-pw", actor=superadmin)
    services.endpoint_update(
        endpoint=endpoint,
        values=VALUES,
        password="second-pw",
        clear_password=False,
        actor=superadmin,
    )
    endpoint.refresh_from_db()
    assert secrets.decrypt(endpoint.probe_password_encrypted) == "second-pw"
    services.endpoint_update(
        endpoint=endpoint, values=VALUES, password="", clear_password=True, actor=superadmin
    )
    endpoint.refresh_from_db()
    assert endpoint.probe_password_encrypted == ""
    details = [
        e.details["probe_password"]
        for e in AuditEvent.objects.filter(action=Action.ENDPOINT_UPDATED).order_by("id")
    ]
    assert details == [{"old": "hidden", "new": "changed"}, {"old": "hidden", "new": "cleared"}]


def test_endpoint_delete_removes_history_and_audits(superadmin):
    endpoint = make_endpoint()
    result = make_result(endpoint=endpoint)
    Endpoint.objects.filter(pk=endpoint.pk).update(last_result=result)
    endpoint.refresh_from_db()
    services.endpoint_delete(endpoint=endpoint, actor=superadmin)
    assert not Endpoint.objects.exists()
    assert not ProbeResult.objects.exists()
    assert AuditEvent.objects.get(action=Action.ENDPOINT_DELETED).target_repr == endpoint.name


@override_settings(MAILADMIN_PROBE_SECRET_KEY="")
def test_secret_key_derived_from_secret_key_when_unset():
    from cryptography.fernet import Fernet

    token = secrets.encrypt("pw")
    from django.conf import settings

    assert Fernet(secrets.derive_key(settings.SECRET_KEY)).decrypt(token.encode()) == b"pw"


def test_secret_from_env_key_and_rotation():
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(MAILADMIN_PROBE_SECRET_KEY=old):
        token = secrets.encrypt("pw")
    with override_settings(MAILADMIN_PROBE_SECRET_KEY=f"{new},{old}"):
        assert secrets.decrypt(token) == "pw"
    with override_settings(MAILADMIN_PROBE_SECRET_KEY=new), pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt(token)


def test_unreadable_secret_skips_login_with_a_warning(db):
    endpoint = make_endpoint(probe_username="probe@lab.test", probe_password_encrypted="garbage")
    spec = services.build_spec(endpoint)
    assert spec.username == ""
    assert spec.password == ""
    assert spec.login_skipped_reason.startswith("The stored probe password cannot be decrypted")


def test_build_spec_reads_the_org_tls_minimum(db):
    from policies.models import OrgPolicy

    OrgPolicy.objects.update_or_create(pk=1, defaults={"min_tls_version": "TLSv1.3"})
    endpoint = make_endpoint(expected_cert_name="")
    spec = services.build_spec(endpoint)
    assert spec.min_tls_version == "TLSv1.3"
    assert spec.expected_name == "127.0.0.1"


# --- state machine, alerts, maintenance -----------------------------------------------------------


def _record(endpoint, statuses, start=None):
    start = start or timezone.now()
    for i, status in enumerate(statuses):
        services.record_outcome(
            endpoint_id=endpoint.pk, outcome=outcome(status, at=start + timedelta(minutes=i))
        )
    endpoint.refresh_from_db()
    return endpoint


def test_flapping_endpoint_keeps_its_state_and_sends_nothing(
    db, django_capture_on_commit_callbacks
):
    make_channel()
    endpoint = make_endpoint(failure_threshold=2)
    with django_capture_on_commit_callbacks(execute=True):
        _record(endpoint, ["ok", "critical", "ok", "critical", "ok", "critical", "ok"])
    assert endpoint.state == "ok"
    assert list(StateChange.objects.values_list("from_state", "to_state")) == [("unknown", "ok")]
    assert mail.outbox == []
    assert ProbeResult.objects.filter(endpoint=endpoint).count() == 7


def test_state_change_after_n_failures_alerts_email_and_webhook(
    db, django_capture_on_commit_callbacks
):
    make_channel(kind="email", target="ops@example.org")
    with WebhookServer() as hook:
        make_channel(kind="webhook", target=hook.url)
        endpoint = make_endpoint(failure_threshold=2, recovery_threshold=1)
        with django_capture_on_commit_callbacks(execute=True):
            _record(endpoint, ["ok", "critical"])
            assert mail.outbox == []
            _record(endpoint, ["critical"])
        assert endpoint.state == "critical"
        assert endpoint.consecutive_failures == 2
        assert [m.subject for m in mail.outbox] == [f"[mailadmin] {endpoint.name} is CRITICAL"]
        assert len(hook.posts) == 1
        post = hook.posts[0]
        assert post["content_type"] == "application/json"
        assert post["json"]["kind"] == "state_change"
        assert post["json"]["from_state"] == "ok"
        assert post["json"]["to_state"] == "critical"
        assert post["json"]["endpoint"] == endpoint.name
        with django_capture_on_commit_callbacks(execute=True):
            _record(endpoint, ["ok"])
        assert endpoint.state == "ok"
        assert hook.posts[-1]["json"]["to_state"] == "ok"
    changes = list(StateChange.objects.order_by("at").values_list("from_state", "to_state"))
    assert changes == [("unknown", "ok"), ("ok", "critical"), ("critical", "ok")]


def test_maintenance_window_silences_alerts_but_keeps_the_state_change(
    db, django_capture_on_commit_callbacks, superadmin
):
    make_channel()
    endpoint = make_endpoint(failure_threshold=1)
    now = timezone.now()
    services.window_create(
        endpoint=endpoint,
        values={
            "kind": "one_off",
            "starts_at": now - timedelta(minutes=5),
            "ends_at": now + timedelta(hours=1),
            "reason": "upgrade",
        },
        actor=superadmin,
    )
    with django_capture_on_commit_callbacks(execute=True):
        _record(endpoint, ["critical"], start=now)
    assert endpoint.state == "critical"
    change = StateChange.objects.get(to_state="critical")
    assert change.silenced_reason == "maintenance window"
    assert mail.outbox == []
    # After the window, the next failing result sends the alert that was held back.
    with django_capture_on_commit_callbacks(execute=True):
        _record(endpoint, ["critical"], start=now + timedelta(hours=2))
    assert [m.subject for m in mail.outbox] == [f"[mailadmin] {endpoint.name} is CRITICAL"]


def test_weekly_maintenance_window_silences(db, django_capture_on_commit_callbacks, superadmin):
    make_channel()
    endpoint = make_endpoint(failure_threshold=1)
    at = datetime(2026, 3, 4, 3, 30, tzinfo=UTC)  # Wednesday 03:30
    services.window_create(
        endpoint=endpoint,
        values={
            "kind": "weekly",
            "weekday": 2,
            "start_time": time(3, 0),
            "duration_minutes": 60,
            "reason": "backups",
        },
        actor=superadmin,
    )
    with django_capture_on_commit_callbacks(execute=True):
        _record(endpoint, ["critical"], start=at)
    assert StateChange.objects.get(to_state="critical").silenced_reason == "maintenance window"
    assert mail.outbox == []


def test_reminder_while_still_failing(db, django_capture_on_commit_callbacks):
    make_channel()
    endpoint = make_endpoint(failure_threshold=1, reminder_minutes=60)
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        _record(endpoint, ["critical"], start=start)
        _record(endpoint, ["critical"], start=start + timedelta(minutes=30))
        _record(endpoint, ["critical"], start=start + timedelta(minutes=61))
        _record(endpoint, ["critical"], start=start + timedelta(minutes=90))
    assert [m.subject for m in mail.outbox] == [
        f"[mailadmin] {endpoint.name} is CRITICAL",
        f"[mailadmin] {endpoint.name} is still CRITICAL",
    ]


def test_failing_webhook_does_not_lose_the_result(db, django_capture_on_commit_callbacks):
    with WebhookServer(status=500) as hook:
        make_channel(kind="webhook", target=hook.url)
        endpoint = make_endpoint(failure_threshold=1)
        with django_capture_on_commit_callbacks(execute=True):
            _record(endpoint, ["critical"])
        assert len(hook.posts) == 1
    assert endpoint.state == "critical"
    assert ProbeResult.objects.filter(endpoint=endpoint).count() == 1


def test_channel_send_test_reports_delivery(db, superadmin):
    with WebhookServer() as hook:
        ok = make_channel(kind="webhook", target=hook.url)
        assert services.channel_send_test(channel=ok, actor=superadmin) == ""
        assert hook.posts[0]["json"]["kind"] == "test"
    with WebhookServer(status=404) as hook:
        bad = make_channel(kind="webhook", target=hook.url)
        assert (
            services.channel_send_test(channel=bad, actor=superadmin)
            == "the webhook answered HTTP 404"
        )


def test_record_outcome_for_a_deleted_endpoint_returns_none(db):
    assert services.record_outcome(endpoint_id=999999, outcome=outcome("ok")) is None


# --- scheduling -------------------------------------------------------------------------------


def test_run_due_probes_claims_due_enabled_endpoints_and_bumps_next_run(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    now = timezone.now()
    due = make_endpoint(next_run_at=now - timedelta(seconds=5), interval_seconds=60)
    make_endpoint(next_run_at=now + timedelta(seconds=30))
    make_endpoint(next_run_at=now - timedelta(seconds=5), is_enabled=False)
    sent = []
    monkeypatch.setattr(services, "_enqueue_probe", lambda pk, timeout: sent.append((pk, timeout)))
    with django_capture_on_commit_callbacks(execute=True):
        claimed = services.run_due_probes(now=now)
    assert claimed == [due.pk]
    assert sent == [(due.pk, due.timeout_seconds)]
    due.refresh_from_db()
    assert due.next_run_at == now + timedelta(seconds=60)
    assert services.run_due_probes(now=now) == []


@pytest.mark.django_db(transaction=True)
def test_run_due_probes_skips_rows_locked_by_another_tick(monkeypatch):
    import threading

    from django.db import connection, transaction

    now = timezone.now()
    endpoint = make_endpoint(next_run_at=now - timedelta(seconds=5))
    monkeypatch.setattr(services, "_enqueue_probe", lambda pk, timeout: None)
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        with transaction.atomic():
            list(Endpoint.objects.select_for_update().filter(pk=endpoint.pk))
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    try:
        assert locked.wait(10)
        assert services.run_due_probes(now=now) == []
    finally:
        release.set()
        thread.join()
    assert services.run_due_probes(now=now) == [endpoint.pk]


def test_probe_request_enqueues_after_commit_and_returns_the_last_result_id(
    db, django_capture_on_commit_callbacks, monkeypatch, superadmin
):
    endpoint = make_endpoint()
    result = make_result(endpoint=endpoint)
    sent = []
    monkeypatch.setattr(services, "_enqueue_probe", lambda pk, timeout: sent.append(pk))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        after = services.probe_request(endpoint=endpoint, actor=superadmin)
    assert after == result.pk
    assert sent == []
    callbacks[0]()
    assert sent == [endpoint.pk]


# --- rollups and retention ------------------------------------------------------------------


def test_rollup_and_purge(db):
    now = datetime(2026, 3, 4, 12, 10, tzinfo=UTC)
    endpoint = make_endpoint()
    old_hour = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    for i, (outcome_, ms) in enumerate([("ok", 10), ("ok", 20), ("critical", None), ("ok", 30)]):
        make_result(
            endpoint=endpoint,
            started_at=old_hour + timedelta(minutes=i),
            outcome=outcome_,
            total_ms=ms,
        )
    recent = make_result(endpoint=endpoint, started_at=now - timedelta(minutes=20))
    current = make_result(endpoint=endpoint, started_at=now - timedelta(minutes=2))
    Rollup.objects.create(endpoint=endpoint, hour=now - timedelta(days=400), count=1, ok_count=1)
    with override_settings(MAILADMIN_PROBE_RESULT_DAYS=30):
        counts = services.rollup_and_purge(now=now)
    assert counts == {"rolled_up": 2, "results_deleted": 4, "rollups_deleted": 1}
    rollup = Rollup.objects.get(hour=old_hour)
    assert (rollup.count, rollup.ok_count, rollup.p50_ms, rollup.p95_ms) == (4, 3, 20, 30)
    assert Rollup.objects.get(hour=datetime(2026, 3, 4, 11, 0, tzinfo=UTC)).count == 1
    assert set(ProbeResult.objects.values_list("pk", flat=True)) == {recent.pk, current.pk}
    # idempotent: nothing more to roll up
    assert services.rollup_and_purge(now=now)["rolled_up"] == 0
