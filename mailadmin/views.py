from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mailadmin.lib.auth import READERS, role_required
from mailadmin.lib.http import AuthedRequest
from mailadmin.selectors import overview_context


@require_GET
@role_required(READERS)
def overview(request: AuthedRequest) -> HttpResponse:
    return render(request, "mailadmin/overview.html", overview_context(request.user))
