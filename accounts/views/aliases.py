"""Alias pages: list, detail, create, edit, delete."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts import selectors, services
from accounts.forms import AliasCreateForm, AliasUpdateForm, ListSearchForm, attach_refusal
from accounts.models import Alias
from accounts.views._helpers import (
    CONFIRM_TEMPLATE,
    finished,
    form_page,
    paginate,
    querystring_base,
    refused,
)
from mailadmin.lib.auth import ACCOUNT_EDITORS, READERS, role_required
from mailadmin.lib.http import AuthedRequest, render_page_or_partial


@require_GET
@role_required(READERS)
@vary_on_headers("HX-Request")
def alias_list(request: AuthedRequest) -> HttpResponse:
    form = ListSearchForm(request.GET)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    page = paginate(request, selectors.alias_list(request.user, q=q), 50)
    context = {"form": form, "page_obj": page, "querystring_base": querystring_base(request)}
    return render_page_or_partial(request, "accounts/alias_list.html", context, partial="table")


@require_GET
@role_required(READERS)
def alias_detail(request: AuthedRequest, alias_id: int) -> HttpResponse:
    alias = get_object_or_404(
        Alias.objects.visible_to(request.user).select_related("domain"), pk=alias_id
    )
    context = {
        "alias": alias,
        "can_edit": Alias.objects.editable_by(request.user).filter(pk=alias.pk).exists(),
        "pointing_here": selectors.aliases_pointing_to(alias.address),
        "events": selectors.recent_events(alias),
    }
    return render(request, "accounts/alias_detail.html", context)


@require_http_methods(["GET", "POST"])
@role_required(ACCOUNT_EDITORS)
@vary_on_headers("HX-Request")
def alias_create(request: AuthedRequest) -> HttpResponse:
    form = AliasCreateForm(
        request.POST or None, user=request.user, initial={"domain": request.GET.get("domain")}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            alias = services.alias_create(
                domain=data["domain"],
                local_part=data["local_part"],
                destinations=data["destinations"],
                is_active=data["is_active"],
                actor=request.user,
            )
        except ValidationError as exc:
            attach_refusal(form, exc)
        else:
            return finished(request, f"Alias {alias} created.", alias.get_absolute_url())
    context = {
        "form": form,
        "title": "New alias",
        "submit": "Create alias",
        "cancel_url": reverse("accounts:alias_list"),
    }
    return form_page(request, context)


@require_http_methods(["GET", "POST"])
@role_required(ACCOUNT_EDITORS)
@vary_on_headers("HX-Request")
def alias_edit(request: AuthedRequest, alias_id: int) -> HttpResponse:
    alias = get_object_or_404(Alias.objects.editable_by(request.user), pk=alias_id)
    initial = AliasUpdateForm.initial_for(alias.display_destinations, alias.is_active)
    form = AliasUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.alias_update(
                alias=alias,
                destinations=form.cleaned_data["destinations"],
                is_active=form.cleaned_data["is_active"],
                actor=request.user,
            )
        except ValidationError as exc:
            attach_refusal(form, exc)
        else:
            return finished(request, f"Alias {alias} saved.", alias.get_absolute_url())
    context = {
        "form": form,
        "title": f"Edit {alias}",
        "submit": "Save",
        "cancel_url": alias.get_absolute_url(),
        "object": alias,
    }
    return form_page(request, context)


@require_http_methods(["GET", "POST"])
@role_required(ACCOUNT_EDITORS)
def alias_delete(request: AuthedRequest, alias_id: int) -> HttpResponse:
    alias = get_object_or_404(Alias.objects.editable_by(request.user), pk=alias_id)
    if request.method == "POST":
        try:
            services.alias_delete(alias=alias, actor=request.user)
        except ValidationError as exc:
            return refused(request, exc, alias.get_absolute_url())
        return finished(request, f"Alias {alias} deleted.", reverse("accounts:alias_list"))
    context = {
        "title": f"Delete {alias}?",
        "object": alias,
        "danger": True,
        "explanation": "Mail sent to this address will bounce from now on.",
        "submit": "Delete alias",
        "cancel_url": alias.get_absolute_url(),
    }
    return render(request, CONFIRM_TEMPLATE, context)
