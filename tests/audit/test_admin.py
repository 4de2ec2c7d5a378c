from __future__ import annotations

from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from audit.models import AuditEvent
from tests.conftest import login_client


def test_admin_registers_the_trail_read_only(superadmin):
    model_admin = site._registry[AuditEvent]
    request = RequestFactory().get("/")
    request.user = superadmin

    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False
    assert model_admin.has_view_permission(request) is True
    assert model_admin.get_actions(request) == {}


def test_admin_refuses_add_change_and_delete_even_for_superusers(superadmin, record_event):
    event = record_event(target_repr="kept")
    client = login_client(superadmin)

    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_add"), {}).status_code == 403
    change_url = reverse("admin:audit_auditevent_change", args=[event.pk])
    page = client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(change_url, {"target_repr": "edited"}).status_code == 403
    delete_url = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403

    event.refresh_from_db()
    assert event.target_repr == "kept"
    assert AuditEvent.objects.count() == 1
