from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

import monitoring.tasks  # noqa: F401 - registers the shared tasks before celery's test apps
from monitoring.models import Endpoint, ProbeResult
from tests.monitoring.helpers import make_endpoint
from tests.monitoring.servers import Behaviour, LocalServer, make_ca, make_leaf, server_context


def test_tasks_have_stable_names_and_acks_late():
    from mailadmin.celery import app

    tasks = app.tasks
    assert {
        "monitoring.run_due_probes",
        "monitoring.run_probe",
        "monitoring.rollup_and_purge",
    } <= set(tasks)
    run_probe = tasks["monitoring.run_probe"]
    assert run_probe.acks_late is True
    assert run_probe.soft_time_limit is not None
    assert run_probe.time_limit is not None
    assert run_probe.soft_time_limit > 120  # above the largest endpoint timeout
    assert run_probe.time_limit > run_probe.soft_time_limit


def test_beat_ticks_every_30_seconds():
    entries = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert entries["monitoring.run_due_probes"] == 30.0
    assert "monitoring.rollup_and_purge" in entries


@pytest.fixture(scope="session")
def celery_includes():
    return ["monitoring.tasks"]


@pytest.mark.django_db(transaction=True)
def test_tick_fans_out_probes_on_a_real_worker(celery_app, celery_worker, tmp_path):
    ca = make_ca(tmp_path)
    cert = make_leaf(ca, tmp_path, ["mail.lab.test"])
    with LocalServer(Behaviour(implicit_tls=server_context(*cert))) as server:
        endpoint = make_endpoint(
            port=server.port,
            next_run_at=timezone.now() - timedelta(seconds=1),
            failure_threshold=1,
        )
        with override_settings(MAILADMIN_PROBE_CA_FILE=str(ca.path)):
            celery_app.send_task("monitoring.run_due_probes")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not ProbeResult.objects.exists():
                time.sleep(0.1)
    result = ProbeResult.objects.get(endpoint=endpoint)
    assert result.outcome == "ok", result.summary
    endpoint.refresh_from_db()
    assert endpoint.state == "ok"
    assert endpoint.next_run_at > timezone.now()
    assert Endpoint.objects.due(timezone.now()).count() == 0
