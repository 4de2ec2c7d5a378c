"""Domain pages. Mail administrators and superusers create, change and delete domains and
choose their administrators; everyone with a role reads (domain administrators: their own)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts import selectors, services
from accounts.forms import (
    DomainAdministratorsForm,
    DomainCreateForm,
    DomainSettingsForm,
    ListSearchForm,
    attach_refusal,
)
from accounts.models import Domain
from accounts.views._helpers import (
    CONFIRM_TEMPLATE,
    finished,
    form_page,
    paginate,
    querystring_base,
    refused,
)
from mailadmin.lib.auth import ACCOUNT_EDITORS, ORG_EDITORS, READERS, has_role, role_required
from mailadmin.lib.http import AuthedRequest, render_page_or_partial


@require_GET
@role_required(READERS)
@vary_on_headers("HX-Request")
def domain_list(request: AuthedRequest) -> HttpResponse:
    form = ListSearchForm(request.GET)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    page = paginate(request, selectors.domain_list(request.user, q=q), 50)
    context = {"form": form, "page_obj": page, "querystring_base": querystring_base(request)}
    return render_page_or_partial(request, "accounts/domain_list.html", context, partial="table")


@require_GET
@role_required(READERS)
def domain_detail(request: AuthedRequest, domain_id: int) -> HttpResponse:
    domain = get_object_or_404(Domain.objects.visible_to(request.user), pk=domain_id)
    mailboxes = list(domain.mailboxes.order_by("address")[:50])
    selectors.attach_usage(mailboxes)
    context = {
        "domain": domain,
        "figures": selectors.domain_figures(domain),
        "mailboxes": mailboxes,
        "administrators": domain.administrators.order_by("username"),
        "can_edit": has_role(request.user, ACCOUNT_EDITORS)
        and Domain.objects.editable_by(request.user).filter(pk=domain.pk).exists(),
        "can_manage": has_role(request.user, ORG_EDITORS),
        "events": selectors.recent_events(domain),
    }
    return render(request, "accounts/domain_detail.html", context)


@require_http_methods(["GET", "POST"])
@role_required(ORG_EDITORS)
@vary_on_headers("HX-Request")
def domain_create(request: AuthedRequest) -> HttpResponse:
    form = DomainCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain = services.domain_create(
                name=form.cleaned_data["name"], actor=request.user, **form.service_kwargs()
            )
        except ValidationError as exc:
            attach_refusal(form, exc)
        else:
            return finished(request, f"Domain {domain} created.", domain.get_absolute_url())
    context = {
        "form": form,
        "title": "New domain",
        "submit": "Create domain",
        "cancel_url": reverse("accounts:domain_list"),
    }
    return form_page(request, context)


@require_http_methods(["GET", "POST"])
@role_required(ORG_EDITORS)
@vary_on_headers("HX-Request")
def domain_edit(request: AuthedRequest, domain_id: int) -> HttpResponse:
    domain = get_object_or_404(Domain.objects.editable_by(request.user), pk=domain_id)
    form = DomainSettingsForm(request.POST or None, initial=DomainSettingsForm.initial_for(domain))
    if request.method == "POST" and form.is_valid():
        try:
            services.domain_update(domain=domain, actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            attach_refusal(form, exc)
        else:
            return finished(request, f"Settings of {domain} saved.", domain.get_absolute_url())
    context = {
        "form": form,
        "title": f"Settings of {domain}",
        "submit": "Save",
        "cancel_url": domain.get_absolute_url(),
        "object": domain,
    }
    return form_page(request, context)


@require_http_methods(["GET", "POST"])
@role_required(ORG_EDITORS)
@vary_on_headers("HX-Request")
def domain_set_administrators(request: AuthedRequest, domain_id: int) -> HttpResponse:
    domain = get_object_or_404(Domain.objects.editable_by(request.user), pk=domain_id)
    initial = {"administrators": list(domain.administrators.all())}
    form = DomainAdministratorsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.domain_set_administrators(
                domain=domain, users=form.cleaned_data["administrators"], actor=request.user
            )
        except ValidationError as exc:
            attach_refusal(form, exc)
        else:
            return finished(
                request, f"Administrators of {domain} saved.", domain.get_absolute_url()
            )
    context = {
        "form": form,
        "title": f"Administrators of {domain}",
        "submit": "Save",
        "cancel_url": domain.get_absolute_url(),
        "object": domain,
    }
    return form_page(request, context)


@require_http_methods(["GET", "POST"])
@role_required(ORG_EDITORS)
def domain_delete(request: AuthedRequest, domain_id: int) -> HttpResponse:
    domain = get_object_or_404(Domain.objects.editable_by(request.user), pk=domain_id)
    if request.method == "POST":
        try:
            services.domain_delete(domain=domain, actor=request.user)
        except ValidationError as exc:
            return refused(request, exc, domain.get_absolute_url())
        return finished(request, f"Domain {domain} deleted.", reverse("accounts:domain_list"))
    context = {
        "title": f"Delete {domain}?",
        "object": domain,
        "danger": True,
        "explanation": "Only an empty domain can be deleted: delete or move its mailboxes and "
        "aliases first. Its settings and policy are removed.",
        "submit": "Delete domain",
        "cancel_url": domain.get_absolute_url(),
    }
    return render(request, CONFIRM_TEMPLATE, context)
