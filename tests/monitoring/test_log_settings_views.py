"""The log settings page: the settings form, log sources (create, edit, enable/disable) and
"collect now" with its progress fragment; roles, refusals with their exact messages, audit."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import Action, AuditEvent
from mailadmin.lib.units import format_size
from monitoring import log_services
from monitoring.log_forms import LogSettingsForm
from monitoring.log_services import ERRORS
from monitoring.log_views import COLLECT_WAIT_SECONDS
from monitoring.models import LogSettings, LogSource
from tests.conftest import login_client
from tests.factories import LogSourceFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("monitoring:log_settings")
CREATE = reverse("monitoring:log_source_create")
SETTINGS_FORM = {
    "store_sender_subject": "on",
    "burst_threshold": "5",
    "burst_window_minutes": "3",
    "retention_days": "60",
}
SOURCE_FORM = {
    "name": "mail2 dovecot",
    "host_label": "mail2",
    "path": "/var/log/dovecot.log",
    "queue": "logs.mail2",
    "timezone_name": "Europe/Berlin",
    "is_enabled": "on",
}


def _url(name, source):
    return reverse(f"monitoring:{name}", args=[source.pk])


def _snapshot():
    """Everything the page can change: settings, sources and the audit trail."""
    settings_row = log_services.log_settings()
    return (
        [getattr(settings_row, f) for f in log_services.SETTINGS_FIELDS],
        list(LogSource.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def source():
    return LogSourceFactory(
        name="mail1 dovecot",
        host_label="mail1",
        path="/var/log/dovecot.log",
        queue="logs.mail1",
        offset_bytes=2048,
        lines_read=40,
        unknown_lines=2,
        unknown_samples=["dovecot: weird line one", "dovecot: weird line two"],
        last_collected_at=timezone.now() - timedelta(minutes=1),
        last_error="/var/log/dovecot.log does not exist",
    )


# --- the page -----------------------------------------------------------------------------------


def test_every_reader_sees_the_settings_and_the_sources_without_edit_controls(
    source, auditor, django_assert_max_num_queries
):
    LogSourceFactory.create_batch(5)
    log_services.log_settings()
    client = login_client(auditor)
    # session, user, two-factor device, roles, settings row, sources
    with django_assert_max_num_queries(6):
        page = client.get(PAGE)
    text = page.content.decode()
    assert page.status_code == 200
    assert "A privacy choice." in text
    assert "mail1 dovecot" in text
    assert "mail1:/var/log/dovecot.log" in text
    assert "logs.mail1" in text
    assert f'title="2048 bytes">{format_size(2048)}<' in text
    assert "40 lines" in text
    assert "2 unknown" in text
    assert "dovecot: weird line two" in text
    assert "/var/log/dovecot.log does not exist" in text
    assert "Save settings" not in text
    assert "Collect now" not in text
    assert CREATE not in text


def test_query_count_does_not_grow_with_the_sources(
    mail_admin, django_assert_max_num_queries, django_assert_num_queries
):
    client = login_client(mail_admin)
    LogSourceFactory()
    client.get(PAGE)  # the settings row is created on the first visit
    with django_assert_max_num_queries(6) as few:
        client.get(PAGE)
    LogSourceFactory.create_batch(20)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(PAGE)


def test_editors_see_the_form_with_help_texts_and_the_source_actions(source, mail_admin):
    text = login_client(mail_admin).get(PAGE).content.decode()
    assert "Save settings" in text
    for field in LogSettingsForm.base_fields.values():
        assert escape(str(field.help_text)) in text
    assert "Collect now" in text
    assert _url("log_source_edit", source) in text
    assert _url("log_source_disable", source) in text
    assert CREATE in text


def test_the_logs_tabs_link_to_the_settings_page(auditor):
    text = login_client(auditor).get(reverse("monitoring:log_findings")).content.decode()
    assert f'href="{PAGE}"' in text


def test_htmx_get_renders_the_sources_table_only(source, auditor, htmx_headers):
    text = login_client(auditor).get(PAGE, headers=htmx_headers).content.decode()
    assert text.lstrip().startswith('<div id="source-table"')
    assert "mail1 dovecot" in text
    assert "<html" not in text
    assert "Save settings" not in text


def test_anonymous_is_sent_to_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


def test_norole_cannot_read(norole):
    assert login_client(norole).get(PAGE).status_code == 403


# --- saving the settings ------------------------------------------------------------------------


def test_saving_the_settings_is_audited_with_before_and_after(mail_admin):
    response = login_client(mail_admin).post(PAGE, SETTINGS_FORM, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Log settings saved." in response.content.decode()
    row = LogSettings.objects.get(pk=1)
    assert (row.store_sender_subject, row.burst_threshold) == (True, 5)
    assert (row.burst_window_minutes, row.retention_days) == (3, 60)
    event = AuditEvent.objects.get(action=Action.LOG_SETTINGS_CHANGED)
    assert event.actor_repr == "mia"
    assert event.details == {
        "burst_threshold": {"old": 10, "new": 5},
        "burst_window_minutes": {"old": 10, "new": 3},
        "retention_days": {"old": 180, "new": 60},
        "store_sender_subject": {"old": False, "new": True},
    }


def test_saving_unchanged_settings_writes_no_audit_event(superadmin):
    values = {"burst_threshold": "10", "burst_window_minutes": "10", "retention_days": "180"}
    response = login_client(superadmin).post(PAGE, values)
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=Action.LOG_SETTINGS_CHANGED).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("burst_threshold", "1", "Enter at least 2."),
        ("burst_threshold", "ten", "Enter a whole number, like 10."),
        ("burst_window_minutes", "0", "Enter at least 1."),
        ("burst_window_minutes", "1441", "Enter at most 1440."),
        ("retention_days", "0", "Enter at least 1."),
        ("retention_days", "", "Enter a whole number."),
        ("retention_days", "99999999999999999999", "Enter at most 3650."),
    ],
)
def test_bad_settings_are_refused_with_a_message_and_nothing_changes(
    mail_admin, field, value, message
):
    client = login_client(mail_admin)
    before = _snapshot()
    response = client.post(PAGE, {**SETTINGS_FORM, field: value})
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    assert _snapshot() == before


@pytest.mark.parametrize("persona", ["auditor", "domain_admin", "compliance_officer", "norole"])
def test_only_org_editors_save_the_settings(request, persona):
    client = login_client(request.getfixturevalue(persona))
    before = _snapshot()
    assert client.post(PAGE, SETTINGS_FORM).status_code == 403
    assert _snapshot() == before


def test_the_service_refuses_a_reader(auditor):
    with pytest.raises(log_services.ValidationError) as refused:
        log_services.log_settings_update(
            actor=auditor,
            values={
                "store_sender_subject": True,
                "burst_threshold": 5,
                "burst_window_minutes": 3,
                "retention_days": 60,
            },
        )
    assert refused.value.messages == [str(ERRORS["not_allowed"])]


# --- creating and editing sources ---------------------------------------------------------------


def test_create_a_source(mail_admin):
    client = login_client(mail_admin)
    assert client.get(CREATE).status_code == 200
    response = client.post(CREATE, SOURCE_FORM, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Log source mail2 dovecot added." in response.content.decode()
    source = LogSource.objects.get()
    assert (source.host_label, source.path, source.queue) == (
        "mail2",
        "/var/log/dovecot.log",
        "logs.mail2",
    )
    assert (source.timezone_name, source.is_enabled) == ("Europe/Berlin", True)
    event = AuditEvent.objects.get(action=Action.LOG_SOURCE_CREATED)
    assert event.target_id == str(source.pk)
    assert event.details["path"] == "/var/log/dovecot.log"


def test_a_new_source_may_start_disabled_and_with_the_default_queue(mail_admin):
    values = {**SOURCE_FORM, "queue": ""}
    del values["is_enabled"]
    login_client(mail_admin).post(CREATE, values)
    source = LogSource.objects.get()
    assert (source.is_enabled, source.queue) == (False, "")


def test_the_same_path_on_another_host_is_another_source(source, mail_admin):
    values = {**SOURCE_FORM, "host_label": "mail2", "path": source.path}
    assert login_client(mail_admin).post(CREATE, values).status_code == 302
    assert LogSource.objects.filter(path=source.path).count() == 2


def _refusals():
    return [
        ("path", "", ERRORS["empty_path"]),
        ("path", "   ", ERRORS["empty_path"]),
        ("path", "dovecot.log", ERRORS["relative_path"] % {"value": "dovecot.log"}),
        ("host_label", "", ERRORS["empty_host"]),
        ("queue", "logs mail2", ERRORS["bad_queue"] % {"value": "logs mail2"}),
        ("queue", "*", ERRORS["bad_queue"] % {"value": "*"}),
        ("timezone_name", "Mars/Base", ERRORS["bad_timezone"] % {"value": "Mars/Base"}),
        ("name", "", "Give the source a name, for example mail1 dovecot."),
        ("timezone_name", "", "Give the time zone of the log, for example UTC."),
    ]


@pytest.mark.parametrize(("field", "value", "message"), _refusals())
def test_create_refuses_bad_input_with_the_exact_message(source, mail_admin, field, value, message):
    before = _snapshot()
    response = login_client(mail_admin).post(CREATE, {**SOURCE_FORM, field: value})
    assert response.status_code == 200
    form = response.context["form"]
    assert message in [*form.non_field_errors(), *form.errors.get(field, [])]
    assert escape(str(message)) in response.content.decode()
    assert _snapshot() == before


def test_create_refuses_a_path_already_read_on_the_same_host(source, mail_admin):
    before = _snapshot()
    values = {**SOURCE_FORM, "host_label": "mail1", "path": "/var/log/dovecot.log"}
    response = login_client(mail_admin).post(CREATE, values)
    message = ERRORS["duplicate_path"] % {
        "other": "mail1 dovecot",
        "path": "/var/log/dovecot.log",
        "host": "mail1",
    }
    assert response.context["form"].non_field_errors() == [message]
    assert _snapshot() == before


def test_create_refuses_a_name_in_use(source, mail_admin):
    before = _snapshot()
    response = login_client(mail_admin).post(CREATE, {**SOURCE_FORM, "name": "mail1 dovecot"})
    assert response.context["form"].non_field_errors() == [
        ERRORS["duplicate_name"] % {"value": "mail1 dovecot"}
    ]
    assert _snapshot() == before


def test_edit_a_source_resets_the_checkpoint_when_the_path_changes(source, mail_admin):
    client = login_client(mail_admin)
    url = _url("log_source_edit", source)
    form = client.get(url).content.decode()
    assert 'value="/var/log/dovecot.log"' in form
    assert 'name="is_enabled"' not in form  # disabling has its own confirmed action
    values = {**SOURCE_FORM, "name": "mail1 dovecot", "host_label": "mail1"}
    values["path"] = "/var/log/dovecot/imap.log"
    response = client.post(url, values, follow=True)
    assert "Log source mail1 dovecot saved." in response.content.decode()
    source.refresh_from_db()
    assert source.path == "/var/log/dovecot/imap.log"
    assert (source.offset_bytes, source.file_inode, source.head_hash) == (0, None, "")
    assert source.is_enabled is True
    event = AuditEvent.objects.get(action=Action.LOG_SOURCE_UPDATED)
    assert event.details["path"] == {
        "old": "/var/log/dovecot.log",
        "new": "/var/log/dovecot/imap.log",
    }
    assert event.details["queue"] == {"old": "logs.mail1", "new": "logs.mail2"}


def test_edit_refuses_the_path_of_another_source_on_that_host(source, mail_admin):
    other = LogSourceFactory(name="other", host_label="mail1", path="/var/log/other.log")
    before = _snapshot()
    values = {**SOURCE_FORM, "name": "other", "host_label": "mail1", "path": source.path}
    response = login_client(mail_admin).post(_url("log_source_edit", other), values)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        ERRORS["duplicate_path"] % {"other": source.name, "path": source.path, "host": "mail1"}
    ]
    assert _snapshot() == before


@pytest.mark.parametrize(("field", "value", "message"), _refusals())
def test_edit_refuses_bad_input_with_the_exact_message(source, mail_admin, field, value, message):
    before = _snapshot()
    response = login_client(mail_admin).post(
        _url("log_source_edit", source), {**SOURCE_FORM, field: value}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert message in [*form.non_field_errors(), *form.errors.get(field, [])]
    assert _snapshot() == before


def test_a_source_that_does_not_exist_is_404(mail_admin):
    client = login_client(mail_admin)
    for name in ("log_source_edit", "log_source_disable"):
        assert client.get(reverse(f"monitoring:{name}", args=[999999])).status_code == 404
    for name in ("log_source_enable", "log_source_collect"):
        assert client.post(reverse(f"monitoring:{name}", args=[999999])).status_code == 404


# --- enable and disable -------------------------------------------------------------------------


def test_disabling_asks_for_confirmation_then_is_audited(source, mail_admin):
    client = login_client(mail_admin)
    url = _url("log_source_disable", source)
    confirm = client.get(url)
    assert "This stops reading" in confirm.content.decode()
    source.refresh_from_db()
    assert source.is_enabled is True
    response = client.post(url, follow=True)
    assert "Log source mail1 dovecot disabled." in response.content.decode()
    source.refresh_from_db()
    assert source.is_enabled is False
    assert source.offset_bytes == 2048  # the checkpoint stays for a later enable
    event = AuditEvent.objects.get(action=Action.LOG_SOURCE_UPDATED)
    assert event.details == {"is_enabled": {"old": True, "new": False}}


def test_disabling_twice_says_so_and_changes_nothing(source, mail_admin):
    client = login_client(mail_admin)
    client.post(_url("log_source_disable", source))
    before = _snapshot()
    response = client.post(_url("log_source_disable", source), follow=True)
    assert escape(ERRORS["already_disabled"] % {"name": "mail1 dovecot"}) in (
        response.content.decode()
    )
    assert _snapshot() == before


def test_enabling_is_post_only_and_audited(source, mail_admin):
    source.is_enabled = False
    source.save()
    client = login_client(mail_admin)
    url = _url("log_source_enable", source)
    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    assert "Log source mail1 dovecot enabled" in response.content.decode()
    source.refresh_from_db()
    assert source.is_enabled is True
    event = AuditEvent.objects.get(action=Action.LOG_SOURCE_UPDATED)
    assert event.details == {"is_enabled": {"old": False, "new": True}}
    before = _snapshot()
    with pytest.raises(log_services.ValidationError) as refused:
        log_services.log_source_set_enabled(actor=mail_admin, source=source, is_enabled=True)
    assert refused.value.messages == [ERRORS["already_enabled"] % {"name": "mail1 dovecot"}]
    assert _snapshot() == before


def test_a_disabled_source_offers_enable_instead_of_disable_and_collect(source, mail_admin):
    source.is_enabled = False
    source.save()
    text = login_client(mail_admin).get(PAGE).content.decode()
    assert _url("log_source_enable", source) in text
    assert _url("log_source_disable", source) not in text
    assert _url("log_source_collect", source) not in text


@pytest.mark.parametrize(
    "persona", ["auditor", "domain_admin", "compliance_officer", "outsider", "norole"]
)
def test_only_org_editors_change_sources(request, source, persona):
    client = login_client(request.getfixturevalue(persona))
    before = _snapshot()
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, SOURCE_FORM).status_code == 403
    assert client.get(_url("log_source_edit", source)).status_code == 403
    assert client.post(_url("log_source_edit", source), SOURCE_FORM).status_code == 403
    assert client.get(_url("log_source_disable", source)).status_code == 403
    assert client.post(_url("log_source_disable", source)).status_code == 403
    assert client.post(_url("log_source_enable", source)).status_code == 403
    assert client.post(_url("log_source_collect", source)).status_code == 403
    assert _snapshot() == before


def test_anonymous_changes_are_sent_to_login(source, client):
    for url in (CREATE, _url("log_source_edit", source), _url("log_source_disable", source)):
        response = client.post(url, SOURCE_FORM)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{reverse('login')}?next=")
    assert LogSource.objects.get().is_enabled is True


# --- collect now --------------------------------------------------------------------------------


@pytest.fixture
def enqueued(monkeypatch):
    sent = []
    monkeypatch.setattr(
        log_services.sources, "_enqueue_collect", lambda pk, queue: sent.append((pk, queue))
    )
    return sent


def test_collect_now_enqueues_on_commit_on_the_hosts_queue_and_polls(
    source, mail_admin, htmx_headers, enqueued, django_capture_on_commit_callbacks
):
    client = login_client(mail_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("log_source_collect", source), headers=htmx_headers)
    html = response.content.decode()
    assert enqueued == [(source.pk, "logs.mail1")]
    assert html.lstrip().startswith('<div id="collect-status"')
    assert 'hx-trigger="every 2s"' in html
    after = log_services.timestamp_us(source.last_collected_at)
    assert f"after={after}&amp;lines=40&amp;unknown=2&amp;requested=" in html
    assert not AuditEvent.objects.exists()  # like "probe now": operational, not audit


def test_collect_now_without_htmx_redirects_with_a_note(source, mail_admin, enqueued):
    response = login_client(mail_admin).post(_url("log_source_collect", source), follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Collection of mail1 dovecot requested" in response.content.decode()


def test_collect_now_refuses_a_disabled_source(source, mail_admin, htmx_headers, enqueued):
    source.is_enabled = False
    source.save()
    client = login_client(mail_admin)
    response = client.post(_url("log_source_collect", source), headers=htmx_headers)
    assert response["HX-Redirect"] == PAGE
    text = client.get(PAGE).content.decode()
    assert escape(ERRORS["collect_disabled"] % {"name": "mail1 dovecot"}) in text
    assert enqueued == []


def test_collect_now_with_the_broker_down_says_so(transactional_db, monkeypatch):
    from kombu.exceptions import OperationalError

    from monitoring.tasks import collect_log_source_task
    from tests.factories import UserFactory

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(collect_log_source_task, "apply_async", broker_down)
    source = LogSourceFactory(name="lab")
    client = login_client(UserFactory(username="mia", roles=["mail_admin"]))
    response = client.post(_url("log_source_collect", source), follow=True)
    text = response.content.decode()
    assert "The task queue cannot be reached" in text
    assert "Connection refused" in text


def _status_url(source, *, after, lines, unknown, requested):
    query = f"after={after}&lines={lines}&unknown={unknown}&requested={requested}"
    return f"{_url('log_source_collect_status', source)}?{query}"


def test_the_status_fragment_reports_what_the_collection_read(source, auditor, htmx_headers):
    url = _status_url(
        source,
        after=log_services.timestamp_us(source.last_collected_at),
        lines=40,
        unknown=2,
        requested=time.time(),
    )
    client = login_client(auditor)
    waiting = client.get(url, headers=htmx_headers)
    assert 'hx-trigger="every 2s"' in waiting.content.decode()
    assert "HX-Trigger" not in waiting
    LogSource.objects.filter(pk=source.pk).update(
        last_collected_at=timezone.now(), lines_read=52, unknown_lines=3, last_error=""
    )
    done = client.get(url, headers=htmx_headers)
    html = done.content.decode()
    assert "hx-trigger" not in html
    assert "12 new lines, 1 not understood." in html
    assert json.loads(done["HX-Trigger"]) == {"log-sources-changed": {}}


def test_the_status_fragment_shows_the_collectors_error(source, auditor):
    LogSource.objects.filter(pk=source.pk).update(last_collected_at=timezone.now())
    url = _status_url(source, after=1, lines=40, unknown=2, requested=time.time())
    html = login_client(auditor).get(url).content.decode()
    assert "0 new lines." in html
    assert "/var/log/dovecot.log does not exist" in html
    assert "alert-warn" in html


def test_the_status_fragment_gives_up_when_no_worker_collects(source, auditor):
    after = log_services.timestamp_us(source.last_collected_at)
    requested = time.time() - COLLECT_WAIT_SECONDS - 1
    url = _status_url(source, after=after, lines=40, unknown=2, requested=requested)
    html = login_client(auditor).get(url).content.decode()
    assert "hx-trigger" not in html
    assert "Is a Celery worker running on the queue" in html
    assert "logs.mail1" in html


@pytest.mark.parametrize("query", ["", "?after=x&lines=0&unknown=0&requested=0", "?after=0"])
def test_the_status_fragment_without_a_request_is_404(source, auditor, query):
    url = _url("log_source_collect_status", source) + query
    assert login_client(auditor).get(url).status_code == 404


def test_timestamp_us_is_exact():
    moment = timezone.now().replace(microsecond=123456)
    assert log_services.timestamp_us(moment) % 1_000_000 == 123456
    assert log_services.timestamp_us(moment) // 1_000_000 == int(moment.timestamp())
    assert log_services.timestamp_us(None) == 0


# --- through a real worker ----------------------------------------------------------------------

LINE = (
    "2026-01-05 10:00:00 imap-login: Info: Login: user=<ann@example.test>, method=PLAIN, "
    "rip=192.0.2.7, lip=192.0.2.1, mpid=30706, TLS, session=<6FOt3SdhwN1/AAAB>\n"
)


@pytest.fixture(scope="session")
def celery_includes():
    return ["monitoring.tasks"]


@pytest.mark.django_db(transaction=True)
def test_collect_now_runs_on_a_real_worker_and_the_fragment_reports_it(
    celery_app, celery_worker, tmp_path, htmx_headers
):
    from monitoring.models import ConnectionEvent
    from tests.factories import UserFactory

    log = tmp_path / "dovecot.log"
    log.write_text(LINE + "something Dovecot never wrote\n")
    source = LogSourceFactory(name="lab", path=str(log), host_label="lab-mail")
    client = login_client(UserFactory(username="mia", roles=["mail_admin"]))
    fragment = client.post(_url("log_source_collect", source), headers=htmx_headers)
    poll = fragment.content.decode().split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and 'hx-trigger="every 2s"' in (
        html := client.get(poll, headers=htmx_headers).content.decode()
    ):
        time.sleep(0.2)
    assert "lab</strong> collected at" in html
    assert "2 new lines, 1 not understood." in html
    event = ConnectionEvent.objects.get(source=source)
    assert (event.username, event.outcome, event.host) == ("ann@example.test", "login", "lab-mail")
