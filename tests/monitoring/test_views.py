from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from monitoring import services
from monitoring.forms import ChannelForm, EndpointForm, WindowForm
from monitoring.models import Endpoint, MaintenanceWindow, NotificationChannel, Rollup
from tests.conftest import login_client
from tests.monitoring.helpers import make_channel, make_endpoint, make_result

FORM = {
    "name": "lab imaps",
    "host": "mail.lab.test",
    "port": "993",
    "protocol": "imap",
    "transport": "implicit_tls",
    "expected_cert_name": "",
    "probe_username": "probe@lab.test",
    "probe_password": "s3cret-pw",
    "interval_seconds": "60",
    "timeout_seconds": "10",
    "latency_warn_ms": "1000",
    "latency_crit_ms": "5000",
    "cert_days_warn": "21",
    "cert_days_crit": "7",
    "source_address": "",
    "failure_threshold": "2",
    "recovery_threshold": "1",
    "reminder_minutes": "240",
    "is_enabled": "on",
}


@pytest.fixture
def endpoint(db):
    e = make_endpoint(name="lab imaps")
    result = make_result(
        endpoint=e, tls_version="TLSv1.3", cert_days_left=80, chain_ok=True, hostname_ok=True
    )
    Endpoint.objects.filter(pk=e.pk).update(last_result=result, state="ok")
    e.refresh_from_db()
    return e


# --- board --------------------------------------------------------------------------------------


def test_board_shows_state_in_words_latency_cert_and_uptime(
    auditor, endpoint, django_assert_max_num_queries
):
    make_result(endpoint=endpoint, outcome="critical", summary="connection refused")
    Rollup.objects.create(
        endpoint=endpoint, hour=timezone.now() - timedelta(days=3), count=10, ok_count=9
    )
    client = login_client(auditor)
    client.get(reverse("monitoring:board"))  # warm the session/role caches
    with django_assert_max_num_queries(12):
        response = client.get(reverse("monitoring:board"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "lab imaps" in html
    assert "badge-ok" in html
    assert "OK</span>" in html
    assert "80 days" in html
    assert "50.00\u00a0%" in html  # 24 h: 1 of 2 raw results OK
    assert 'aria-current="page">Health' in html


def test_board_query_count_does_not_grow_with_endpoints(auditor, endpoint):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login_client(auditor)
    client.get(reverse("monitoring:board"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("monitoring:board"))
    for _ in range(5):
        make_result(endpoint=make_endpoint())
    with CaptureQueriesContext(connection) as six:
        client.get(reverse("monitoring:board"))
    assert len(six.captured_queries) == len(one.captured_queries)


def test_board_partial_for_htmx(auditor, endpoint, htmx_headers):
    response = login_client(auditor).get(reverse("monitoring:board"), headers=htmx_headers)
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="panel" id="board"')
    assert 'hx-trigger="every 30s"' in html
    assert "<html" not in html


def test_board_requires_login_and_a_role(client, norole, db):
    response = client.get(reverse("monitoring:board"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert login_client(norole).get(reverse("monitoring:board")).status_code == 403


def test_overview_shows_the_health_summary(superadmin, endpoint):
    Endpoint.objects.filter(pk=endpoint.pk).update(state="critical")
    html = login_client(superadmin).get(reverse("overview")).content.decode()
    assert "Health" in html
    assert "Critical" in html
    assert "lab imaps" in html


# --- detail -------------------------------------------------------------------------------------


def test_detail_shows_tls_chart_history_and_errors(auditor, endpoint):
    make_result(
        endpoint=endpoint,
        outcome="critical",
        summary="certificate expired",
        error="cert expired detail",
        connect_ms=2.0,
        tls_ms=3.0,
    )
    html = login_client(auditor).get(endpoint.get_absolute_url()).content.decode()
    assert "TLSv1.3" in html
    assert "<svg" in html
    assert "<rect" in html
    assert "<script" not in html.split("</head>")[1]
    assert "cert expired detail" in html
    assert "Probe now" not in html  # readers see, do not act


def test_detail_history_partial_filters_by_outcome(auditor, endpoint, htmx_headers):
    make_result(endpoint=endpoint, outcome="critical", summary="broken thing")
    response = login_client(auditor).get(
        endpoint.get_absolute_url() + "?outcome=ok", headers=htmx_headers
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="panel" id="history">')
    assert "broken thing" not in html


def test_detail_unknown_endpoint_is_404(auditor, db):
    assert (
        login_client(auditor).get(reverse("monitoring:endpoint_detail", args=[999])).status_code
        == 404
    )


# --- create / edit / delete ------------------------------------------------------------------


def test_create_endpoint(mail_admin, db):
    response = login_client(mail_admin).post(reverse("monitoring:endpoint_create"), FORM)
    endpoint = Endpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == endpoint.get_absolute_url()
    assert endpoint.probe_password_encrypted
    assert "s3cret" not in endpoint.probe_password_encrypted
    assert AuditEvent.objects.filter(action=Action.ENDPOINT_CREATED).count() == 1


def test_create_refuses_warning_above_critical_latency(mail_admin, db):
    data = {**FORM, "latency_warn_ms": "6000"}
    response = login_client(mail_admin).post(reverse("monitoring:endpoint_create"), data)
    assert response.status_code == 200
    expected = EndpointForm.error_messages["latency_order"] % {"warn": 6000, "crit": 5000}
    assert response.context["form"].errors["latency_warn_ms"] == [expected]
    assert not Endpoint.objects.exists()
    assert not AuditEvent.objects.exists()


def test_create_refuses_user_without_password(mail_admin, db):
    data = {**FORM, "probe_password": ""}
    response = login_client(mail_admin).post(reverse("monitoring:endpoint_create"), data)
    assert response.context["form"].errors["probe_password"] == [
        str(EndpointForm.error_messages["user_without_password"])
    ]
    assert not Endpoint.objects.exists()


def test_create_refuses_timeout_not_below_interval(mail_admin, db):
    data = {**FORM, "timeout_seconds": "60"}
    response = login_client(mail_admin).post(reverse("monitoring:endpoint_create"), data)
    expected = EndpointForm.error_messages["timeout_vs_interval"] % {"timeout": 60, "interval": 60}
    assert response.context["form"].errors["timeout_seconds"] == [expected]
    assert not Endpoint.objects.exists()


def test_create_refuses_cert_warn_below_crit(mail_admin, db):
    data = {**FORM, "cert_days_warn": "3"}
    response = login_client(mail_admin).post(reverse("monitoring:endpoint_create"), data)
    expected = EndpointForm.error_messages["cert_order"] % {"warn": 3, "crit": 7}
    assert response.context["form"].errors["cert_days_warn"] == [expected]
    assert not Endpoint.objects.exists()


def test_edit_never_shows_the_password_and_blank_keeps_it(mail_admin, superadmin, db):
    endpoint = services.endpoint_create(
        values={k: v for k, v in FORM.items() if k in services.ENDPOINT_FIELDS}
        | {
            "port": 993,
            "interval_seconds": 60,
            "timeout_seconds": 10,
            "latency_warn_ms": 1000,
            "latency_crit_ms": 5000,
            "cert_days_warn": 21,
            "cert_days_crit": 7,
            "failure_threshold": 2,
            "recovery_threshold": 1,
            "reminder_minutes": 240,
            "is_enabled": True,
            "source_address": None,
        },
        password="s3cret-pw",
        actor=superadmin,
    )
    token = endpoint.probe_password_encrypted
    client = login_client(mail_admin)
    page = client.get(reverse("monitoring:endpoint_edit", args=[endpoint.pk])).content.decode()
    assert "s3cret-pw" not in page
    assert token not in page
    assert "Leave blank to keep" in page
    response = client.post(
        reverse("monitoring:endpoint_edit", args=[endpoint.pk]),
        {**FORM, "probe_password": "", "port": "10993"},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.port == 10993
    assert endpoint.probe_password_encrypted == token


def test_editing_needs_an_editor_role(auditor, domain_admin, endpoint):
    for user in (auditor, domain_admin):
        client = login_client(user)
        assert (
            client.get(reverse("monitoring:endpoint_edit", args=[endpoint.pk])).status_code == 403
        )
        assert (
            client.post(reverse("monitoring:endpoint_delete", args=[endpoint.pk])).status_code
            == 403
        )
        assert (
            client.post(reverse("monitoring:endpoint_probe", args=[endpoint.pk])).status_code == 403
        )
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()


def test_anonymous_edit_redirects_to_login(client, endpoint):
    response = client.get(reverse("monitoring:endpoint_edit", args=[endpoint.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_delete_endpoint(superadmin, endpoint):
    client = login_client(superadmin)
    assert client.get(reverse("monitoring:endpoint_delete", args=[endpoint.pk])).status_code == 200
    response = client.post(reverse("monitoring:endpoint_delete", args=[endpoint.pk]))
    assert response.status_code == 302
    assert not Endpoint.objects.exists()
    assert AuditEvent.objects.filter(action=Action.ENDPOINT_DELETED).count() == 1


# --- probe now ----------------------------------------------------------------------------------


def test_probe_now_returns_a_polling_fragment_and_enqueues_on_commit(
    mail_admin, endpoint, htmx_headers, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(services, "_enqueue_probe", lambda pk, timeout: sent.append(pk))
    client = login_client(mail_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("monitoring:endpoint_probe", args=[endpoint.pk]), headers=htmx_headers
        )
    html = response.content.decode()
    assert sent == [endpoint.pk]
    assert 'hx-trigger="every 1s"' in html
    assert "spinner" in html
    assert f"after={endpoint.last_result_id}" in html


def test_probe_now_with_the_broker_down_says_so_instead_of_failing(transactional_db, monkeypatch):
    from kombu.exceptions import OperationalError

    from monitoring.tasks import run_probe_task
    from tests.factories import UserFactory

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(run_probe_task, "apply_async", broker_down)
    endpoint = make_endpoint(name="lab imaps")
    client = login_client(UserFactory(username="mia", roles=["mail_admin"]))
    url = reverse("monitoring:endpoint_probe", args=[endpoint.pk])

    response = client.post(url, follow=True)

    assert response.status_code == 200
    text = response.content.decode()
    assert "The task queue cannot be reached" in text
    assert "Connection refused" in text
    assert endpoint.results.count() == 0


def test_probe_status_fragment_stops_polling_when_a_result_arrives(auditor, endpoint, htmx_headers):
    import time

    url = reverse("monitoring:endpoint_probe_status", args=[endpoint.pk])
    query = f"?after={endpoint.last_result_id}&requested={time.time()}"
    client = login_client(auditor)
    waiting = client.get(url + query, headers=htmx_headers).content.decode()
    assert 'hx-trigger="every 1s"' in waiting
    make_result(endpoint=endpoint, summary="IMAP TLS login in 9 ms")
    done = client.get(url + query, headers=htmx_headers).content.decode()
    assert "hx-trigger" not in done
    assert "IMAP TLS login in 9 ms" in done


def test_probe_status_gives_up_when_no_worker_answers(auditor, endpoint):
    import time

    url = reverse("monitoring:endpoint_probe_status", args=[endpoint.pk])
    html = (
        login_client(auditor)
        .get(f"{url}?after={endpoint.last_result_id}&requested={time.time() - 3600}")
        .content.decode()
    )
    assert "hx-trigger" not in html
    assert "Is a Celery worker running?" in html


def test_probe_status_without_parameters_is_404(auditor, endpoint):
    url = reverse("monitoring:endpoint_probe_status", args=[endpoint.pk])
    assert login_client(auditor).get(url).status_code == 404


# --- maintenance windows ------------------------------------------------------------------------


def test_window_create_and_delete(mail_admin, endpoint):
    client = login_client(mail_admin)
    response = client.post(
        reverse("monitoring:window_create", args=[endpoint.pk]),
        {
            "kind": "weekly",
            "weekday": "6",
            "start_time": "02:00",
            "duration_minutes": "90",
            "reason": "patching",
        },
    )
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert str(window) == "Every Sunday 02:00 UTC for 90 min"
    assert AuditEvent.objects.filter(action=Action.MAINTENANCE_WINDOW_CREATED).count() == 1
    client.post(reverse("monitoring:window_delete", args=[endpoint.pk, window.pk]))
    assert not MaintenanceWindow.objects.exists()


def test_window_refuses_end_before_start_as_a_partial(mail_admin, endpoint, htmx_headers):
    response = login_client(mail_admin).post(
        reverse("monitoring:window_create", args=[endpoint.pk]),
        {
            "kind": "one_off",
            "starts_at": "2026-05-02T10:00",
            "ends_at": "2026-05-02T09:00",
            "reason": "x",
        },
        headers=htmx_headers,
    )
    html = response.content.decode()
    expected = WindowForm.error_messages["end_before_start"] % {
        "start": "2026-05-02 10:00",
        "end": "2026-05-02 09:00",
    }
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="window-form"')
    assert expected in html
    assert not MaintenanceWindow.objects.exists()


def test_window_of_another_endpoint_is_404(superadmin, endpoint):
    other = make_endpoint()
    window = services.window_create(
        endpoint=other,
        values={
            "kind": "weekly",
            "weekday": 1,
            "start_time": "01:00",
            "duration_minutes": 30,
            "reason": "x",
        },
        actor=superadmin,
    )
    response = login_client(superadmin).post(
        reverse("monitoring:window_delete", args=[endpoint.pk, window.pk])
    )
    assert response.status_code == 404
    assert MaintenanceWindow.objects.filter(pk=window.pk).exists()


# --- channels -----------------------------------------------------------------------------------


def test_channel_create_toggle_delete(mail_admin, db):
    client = login_client(mail_admin)
    client.post(
        reverse("monitoring:channel_create"),
        {"name": "ops", "kind": "email", "target": "ops@example.org", "is_enabled": "on"},
    )
    channel = NotificationChannel.objects.get()
    client.post(reverse("monitoring:channel_toggle", args=[channel.pk]))
    channel.refresh_from_db()
    assert channel.is_enabled is False
    client.post(reverse("monitoring:channel_delete", args=[channel.pk]))
    assert not NotificationChannel.objects.exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == [Action.CHANNEL_CREATED, Action.CHANNEL_UPDATED, Action.CHANNEL_DELETED]


def test_channel_refuses_a_non_http_webhook(mail_admin, db, htmx_headers):
    response = login_client(mail_admin).post(
        reverse("monitoring:channel_create"),
        {"name": "hook", "kind": "webhook", "target": "file:///etc/passwd"},
        headers=htmx_headers,
    )
    expected = ChannelForm.error_messages["bad_url"] % {"target": "file:///etc/passwd"}
    assert expected in response.content.decode()
    assert not NotificationChannel.objects.exists()


def test_channel_send_test_button(mail_admin, db, htmx_headers):
    from django.core import mail

    channel = make_channel(kind="email", target="ops@example.org")
    response = login_client(mail_admin).post(
        reverse("monitoring:channel_test", args=[channel.pk]), headers=htmx_headers
    )
    assert "✓ Sent" in response.content.decode()
    assert [m.subject for m in mail.outbox] == ["[mailadmin] Test alert"]


def test_readers_see_channels_with_webhook_secrets_masked(auditor, db):
    make_channel(kind="webhook", target="https://hooks.example.org/T0/SECRET")
    html = login_client(auditor).get(reverse("monitoring:channel_list")).content.decode()
    assert "hooks.example.org" in html
    assert "SECRET" not in html
    assert "Send test" not in html
    assert login_client(auditor).post(reverse("monitoring:channel_create"), {}).status_code == 403


# --- metrics ------------------------------------------------------------------------------------


def test_metrics_is_404_without_a_configured_token(endpoint, client):
    with override_settings(MAILADMIN_METRICS_TOKEN=""):
        assert client.get(reverse("monitoring:metrics")).status_code == 404


@override_settings(MAILADMIN_METRICS_TOKEN="tok-123")
def test_metrics_needs_the_bearer_token(endpoint, client):
    url = reverse("monitoring:metrics")
    assert client.get(url).status_code == 403
    assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 403
    response = client.get(url, headers={"Authorization": "Bearer tok-123"})
    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    labels = (
        'endpoint="lab imaps",host="127.0.0.1",port="993",protocol="imap",transport="implicit_tls"'
    )
    assert f"mailadmin_probe_success{{{labels}}} 1" in body
    assert f'mailadmin_tls_info{{{labels},version="TLSv1.3",cipher=""}} 1' in body
    assert f'mailadmin_endpoint_state{{{labels},state="ok"}} 1' in body
    assert "# TYPE mailadmin_probe_phase_duration_seconds gauge" in body
