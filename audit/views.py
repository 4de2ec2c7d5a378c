from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.models import AuditEvent
from mailadmin.lib.auth import READERS, role_required
from mailadmin.lib.http import AuthedRequest


@require_GET
@role_required(READERS)
def event_list(request: AuthedRequest) -> HttpResponse:
    events = AuditEvent.objects.all()[:100]
    return render(request, "audit/event_list.html", {"events": events})
