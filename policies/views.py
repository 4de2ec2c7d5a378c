"""Policy pages: organisation defaults, per-domain IMAP, POP3 exceptions and the mailbox panel.

Readers see everything; superusers and mail administrators change the organisation defaults;
account editors (mail and domain administrators) change domains and mailboxes they may edit
(others get 404) and grant or revoke POP3 exceptions there. Compliance officers and auditors
get 403 on every change.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import Domain, Mailbox
from mailadmin.lib.auth import ACCOUNT_EDITORS, ORG_EDITORS, READERS, has_role, role_required
from mailadmin.lib.http import AuthedRequest, render_page_or_partial
from policies import services
from policies.forms import (
    ImapSettingForm,
    NetworksForm,
    OrgPolicyForm,
    Pop3FilterForm,
    Pop3GrantForm,
    Pop3RevokeForm,
    add_service_error,
    imap_choice,
)
from policies.models import OrgPolicy, Pop3Exception
from policies.selectors import org_policy
from policies.templatetags.policies_tags import panel_context, revoke_auto_id

DOMAINS_PER_PAGE = 50
EXCEPTIONS_PER_PAGE = 50


# --- Organisation defaults and per-domain IMAP ------------------------------------------------


@require_GET
@role_required(READERS)
def index(request: AuthedRequest) -> HttpResponse:
    return render(request, "policies/index.html", _index_context(request))


@require_POST
@vary_on_headers("HX-Request")
@role_required(ORG_EDITORS)
def org_policy_update(request: AuthedRequest) -> HttpResponse:
    form = OrgPolicyForm(request.POST)
    if form.is_valid():
        try:
            services.org_policy_update(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_error(form, error)
    if form.errors:
        context = _index_context(request, org_form=form)
        return render_page_or_partial(request, "policies/index.html", context, partial="org-form")
    if request.htmx:
        context = _index_context(request, org_saved=True)
        return render(request, "policies/index.html#org-form", context)
    messages.success(request, "Organisation policy saved.")
    return redirect("policies:index")


@require_POST
@vary_on_headers("HX-Request")
@role_required(ACCOUNT_EDITORS)
def domain_policy_set(request: AuthedRequest, domain_id: int) -> HttpResponse:
    domain = get_object_or_404(Domain.objects.editable_by(request.user), pk=domain_id)
    form = ImapSettingForm(request.POST, prefix=f"d{domain.pk}")
    if form.is_valid():
        services.domain_policy_set(
            actor=request.user, domain=domain, imap_enabled=form.cleaned_data["imap"]
        )
    if not request.htmx:
        if form.errors:
            messages.error(request, f"Choose inherit, on or off for {domain}.")
        else:
            messages.success(request, f"IMAP setting of {domain} saved.")
        return redirect("policies:index")
    row = _domain_row(_domains(request).get(pk=domain.pk), org_policy(), {domain.pk}, form=form)
    context = {"row": row, "saved": not form.errors}
    return render(request, "policies/index.html#domain-row", context)


def _index_context(
    request: AuthedRequest, *, org_form: forms.Form | None = None, org_saved: bool = False
) -> dict[str, Any]:
    org = org_policy()
    page_obj = Paginator(_domains(request), DOMAINS_PER_PAGE).get_page(request.GET.get("page"))
    editable = set(
        Domain.objects.editable_by(request.user)
        .filter(pk__in=[d.pk for d in page_obj])
        .values_list("pk", flat=True)
    )
    return {
        "org": org,
        "org_form": org_form or OrgPolicyForm(initial=_org_initial(org)),
        "org_saved": org_saved,
        "can_edit_org": has_role(request.user, ORG_EDITORS),
        "page_obj": page_obj,
        "rows": [_domain_row(d, org, editable) for d in page_obj],
        "active_pop3_count": Pop3Exception.objects.active_at(timezone.now())
        .filter(mailbox__in=Mailbox.objects.visible_to(request.user))
        .count(),
    }


def _org_initial(org: OrgPolicy) -> dict[str, Any]:
    return {
        "imap_enabled": "on" if org.imap_enabled else "off",
        "min_tls_version": org.min_tls_version,
        "pop3_max_exception_days": org.pop3_max_exception_days,
    }


def _domains(request: AuthedRequest) -> Any:
    return (
        Domain.objects.visible_to(request.user)
        .select_related("policy")
        .annotate(mailbox_count=Count("mailboxes"))
        .order_by("name")
    )


def _domain_row(
    domain: Domain, org: OrgPolicy, editable: set[int], *, form: forms.Form | None = None
) -> dict[str, Any]:
    policy = getattr(domain, "policy", None)
    setting = policy.imap_enabled if policy is not None else None
    effective = org.imap_enabled if setting is None else setting
    if form is None:
        form = ImapSettingForm(prefix=f"d{domain.pk}", initial={"imap": imap_choice(setting)})
    form.fields["imap"].widget.attrs["aria-label"] = f"IMAP for {domain}"
    return {
        "domain": domain,
        "setting": imap_choice(setting),
        "effective": effective,
        "why": "organisation default" if setting is None else "set for this domain",
        "form": form,
        "can_edit": domain.pk in editable,
    }


# --- Active POP3 exceptions -------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
@role_required(READERS)
def pop3_exception_list(request: AuthedRequest) -> HttpResponse:
    now = timezone.now()
    form = Pop3FilterForm(request.GET or None, user=request.user)
    exceptions = (
        Pop3Exception.objects.active_at(now)
        .filter(mailbox__in=Mailbox.objects.visible_to(request.user))
        .select_related("mailbox", "approver", "granted_by")
        .order_by("expires_at", "pk")
    )
    if form.is_bound and form.is_valid() and form.cleaned_data["domain"] is not None:
        exceptions = exceptions.filter(mailbox__domain=form.cleaned_data["domain"])
    elif form.is_bound and not form.is_valid():
        exceptions = exceptions.none()
    page_obj = Paginator(exceptions, EXCEPTIONS_PER_PAGE).get_page(request.GET.get("page"))
    domain = request.GET.get("domain", "")
    context = {
        "form": form,
        "page_obj": page_obj,
        "now": now,
        "querystring_base": f"domain={domain}&" if domain.isdigit() else "",
    }
    return render_page_or_partial(
        request, "policies/pop3_exception_list.html", context, partial="table"
    )


# --- The mailbox panel ------------------------------------------------------------------------


@require_GET
@role_required(READERS)
def mailbox_policy(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox.objects.visible_to(request.user), pk=mailbox_id)
    context = panel_context(request, mailbox, return_to=request.get_full_path())
    return render(request, "policies/mailbox_policy.html", context)


@require_POST
@vary_on_headers("HX-Request")
@role_required(ACCOUNT_EDITORS)
def mailbox_policy_set(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _editable_mailbox(request, mailbox_id)
    form = ImapSettingForm(request.POST)
    if form.is_valid():
        _call(
            form,
            services.mailbox_policy_set,
            request,
            mailbox,
            imap_enabled=form.cleaned_data["imap"],
        )
    return _panel_response(request, mailbox, "IMAP setting saved.", imap_form=form)


@require_POST
@vary_on_headers("HX-Request")
@role_required(ACCOUNT_EDITORS)
def mailbox_networks_set(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _editable_mailbox(request, mailbox_id)
    form = NetworksForm(request.POST)
    if form.is_valid():
        networks = form.cleaned_data["networks"]
        _call(form, services.mailbox_networks_set, request, mailbox, networks=networks)
    return _panel_response(request, mailbox, "Allowed networks saved.", networks_form=form)


@require_POST
@vary_on_headers("HX-Request")
@role_required(ACCOUNT_EDITORS)
def pop3_exception_grant(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _editable_mailbox(request, mailbox_id)
    form = Pop3GrantForm(request.POST, max_days=org_policy().pop3_max_exception_days)
    if form.is_valid():
        _call(
            form,
            services.pop3_exception_grant,
            request,
            mailbox,
            reason=form.cleaned_data["reason"],
            approver=form.cleaned_data["approver"],
            expires_at=form.expires_at(),
        )
    return _panel_response(request, mailbox, "POP3 exception granted.", grant_form=form)


@require_POST
@vary_on_headers("HX-Request")
@role_required(ACCOUNT_EDITORS)
def pop3_exception_revoke(request: AuthedRequest, exception_id: int) -> HttpResponse:
    editable = Pop3Exception.objects.filter(mailbox__in=Mailbox.objects.editable_by(request.user))
    exception = get_object_or_404(editable.select_related("mailbox__domain"), pk=exception_id)
    form = Pop3RevokeForm(request.POST, auto_id=revoke_auto_id(exception.pk))
    try:  # an exception already revoked or expired is refused whatever the input says
        services.pop3_exception_check_revocable(exception=exception)
        if form.is_valid():
            services.pop3_exception_revoke(
                actor=request.user, exception=exception, reason=form.cleaned_data["reason"]
            )
    except ValidationError as error:
        add_service_error(form, error)
    return _panel_response(
        request, exception.mailbox, "POP3 exception revoked.", revoke_form=(exception.pk, form)
    )


def _editable_mailbox(request: AuthedRequest, mailbox_id: int) -> Mailbox:
    queryset = Mailbox.objects.editable_by(request.user).select_related("domain")
    return get_object_or_404(queryset, pk=mailbox_id)


def _call(
    form: forms.Form, service: Any, request: AuthedRequest, mailbox: Mailbox, **kw: Any
) -> None:
    """Run a mailbox service; a refusal becomes a form error (the transaction rolled back)."""
    try:
        service(actor=request.user, mailbox=mailbox, **kw)
    except ValidationError as error:
        add_service_error(form, error)


def _panel_response(
    request: AuthedRequest, mailbox: Mailbox, notice: str, **bound: Any
) -> HttpResponse:
    """Errors: the panel (htmx) or its page, with the bound form. Success: the fresh panel
    (htmx) or a redirect back to the page the panel was on."""
    form = bound["revoke_form"][1] if "revoke_form" in bound else next(iter(bound.values()))
    return_to = _return_to(request, mailbox)
    if form.errors:
        context = panel_context(request, mailbox, return_to=return_to, **bound)
        return render_page_or_partial(
            request, "policies/mailbox_policy.html", context, partial="panel"
        )
    if request.htmx:
        context = panel_context(request, mailbox, return_to=return_to)
        context["notice"] = notice
        return render(request, "policies/mailbox_policy.html#panel", context)
    messages.success(request, notice)
    return redirect(return_to)


def _return_to(request: AuthedRequest, mailbox: Mailbox) -> str:
    target = request.POST.get("next", "")
    # Only a path on this site: redirect() would read "2026-02-30" as a URL name (a 500).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("policies:mailbox_policy", args=[mailbox.pk])
