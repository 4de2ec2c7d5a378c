"""Placeholder pages until the accounts UI lands (issue 2)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.models import Alias, Domain, Mailbox
from mailadmin.lib.auth import READERS, role_required
from mailadmin.lib.http import AuthedRequest


@require_GET
@role_required(READERS)
def domain_list(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "accounts/simple_list.html",
        {"title": "Domains", "objects": Domain.objects.visible_to(request.user)[:50]},
    )


@require_GET
@role_required(READERS)
def domain_detail(request: AuthedRequest, domain_id: int) -> HttpResponse:
    obj = get_object_or_404(Domain.objects.visible_to(request.user), pk=domain_id)
    return render(
        request,
        "accounts/simple_list.html",
        {"title": str(obj), "objects": obj.mailboxes.all()[:50]},
    )


@require_GET
@role_required(READERS)
def mailbox_list(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "accounts/simple_list.html",
        {"title": "Mailboxes", "objects": Mailbox.objects.visible_to(request.user)[:50]},
    )


@require_GET
@role_required(READERS)
def mailbox_detail(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    obj = get_object_or_404(Mailbox.objects.visible_to(request.user), pk=mailbox_id)
    return render(request, "accounts/simple_list.html", {"title": str(obj), "objects": []})


@require_GET
@role_required(READERS)
def alias_list(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "accounts/simple_list.html",
        {"title": "Aliases", "objects": Alias.objects.visible_to(request.user)[:50]},
    )


@require_GET
@role_required(READERS)
def alias_detail(request: AuthedRequest, alias_id: int) -> HttpResponse:
    obj = get_object_or_404(Alias.objects.visible_to(request.user), pk=alias_id)
    return render(request, "accounts/simple_list.html", {"title": str(obj), "objects": []})
