"""Legal hold and retention pages.

Holds: org-wide readers (superusers, mail administrators, compliance officers, auditors) see
them; domain administrators get 403 (they see the "on hold" badge on their mailboxes). Only
compliance officers and superusers place, change or release (others: 403). Retention: every
role reads; account editors change the domains they may edit (others' domains: 404), superusers
and mail administrators the organisation defaults.
"""

from __future__ import annotations

import csv
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import Domain
from mailadmin.lib.auth import (
    ACCOUNT_EDITORS,
    EXPORTERS,
    HOLD_EDITORS,
    ORG_EDITORS,
    READERS,
    Role,
    has_role,
    role_required,
)
from mailadmin.lib.http import AuthedRequest, render_page_or_partial
from policies import holds, retention
from policies.hold_forms import (
    CustodianAddForm,
    HoldPlaceForm,
    ReasonForm,
    RetentionRuleForm,
    add_refusal,
)
from policies.hold_selectors import hold_list as select_holds
from policies.hold_selectors import hold_report_rows, hold_with_custodians, retention_table
from policies.models import HoldCustodian, LegalHold

HOLD_VIEWERS = frozenset({Role.MAIL_ADMIN, Role.COMPLIANCE_OFFICER, Role.AUDITOR})
# The hold page has three reason fields (add, remove, release): each form gets its own ids.
RELEASE_AUTO_ID = "id_release_%s"


def _remove_auto_id(custodian_id: int) -> str:
    return f"id_remove{custodian_id}_%s"


@require_GET
@role_required(HOLD_VIEWERS)
def hold_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "policies/hold_list.html", {"holds": select_holds()})


@require_http_methods(["GET", "POST"])
@role_required(HOLD_EDITORS)
def hold_place(request: AuthedRequest) -> HttpResponse:
    form = HoldPlaceForm(request.POST or None, initial={"starts_on": timezone.now().date()})
    if request.method == "POST" and form.is_valid():
        try:
            hold = holds.hold_place(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_refusal(form, error)
        else:
            messages.success(request, f"Hold placed for {hold.matter_name}.")
            return redirect(hold)
    return render(request, "policies/hold_place.html", {"form": form})


@require_GET
@vary_on_headers("HX-Request")
@role_required(HOLD_VIEWERS)
def hold_detail(request: AuthedRequest, hold_id: int) -> HttpResponse:
    context = _detail_context(request, hold_id)
    return render_page_or_partial(
        request, "policies/hold_detail.html", context, partial="custodians"
    )


@require_POST
@role_required(HOLD_EDITORS)
def hold_custodian_add(request: AuthedRequest, hold_id: int) -> HttpResponse:
    hold = get_object_or_404(LegalHold, pk=hold_id)
    form = CustodianAddForm(request.POST)
    if form.is_valid():
        try:
            custodian = holds.hold_custodian_add(actor=request.user, hold=hold, **form.cleaned_data)
        except ValidationError as error:
            add_refusal(form, error)
        else:
            messages.success(request, f"{custodian.name} added to the hold.")
            return redirect(hold)
    return _detail_again(request, hold_id, add_form=form)


@require_POST
@role_required(HOLD_EDITORS)
def hold_custodian_remove(request: AuthedRequest, custodian_id: int) -> HttpResponse:
    custodian = get_object_or_404(HoldCustodian.objects.select_related("hold"), pk=custodian_id)
    form = ReasonForm(
        request.POST,
        required_message=holds.HOLD_ERRORS["custodian_reason_required"],
        auto_id=_remove_auto_id(custodian.pk),
    )
    try:  # a removed custodian or a released hold is refused whatever the input says
        holds.hold_custodian_check_removable(custodian=custodian)
        if form.is_valid():
            holds.hold_custodian_remove(
                actor=request.user, custodian=custodian, reason=form.cleaned_data["reason"]
            )
    except ValidationError as error:
        add_refusal(form, error)
    if not form.errors:
        messages.success(request, f"{custodian.name} removed from the hold.")
        return redirect(custodian.hold)
    return _detail_again(request, custodian.hold_id, remove_form=(custodian.pk, form))


@require_POST
@role_required(HOLD_EDITORS)
def hold_release(request: AuthedRequest, hold_id: int) -> HttpResponse:
    hold = get_object_or_404(LegalHold, pk=hold_id)
    form = ReasonForm(
        request.POST,
        required_message=holds.HOLD_ERRORS["release_reason_required"],
        auto_id=RELEASE_AUTO_ID,
    )
    try:  # a hold already released is refused whatever the input says
        holds.hold_check_releasable(hold=hold)
        if form.is_valid():
            holds.hold_release(actor=request.user, hold=hold, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        add_refusal(form, error)
    if not form.errors:
        messages.success(request, f"Hold for {hold.matter_name} released.")
        return redirect(hold)
    return _detail_again(request, hold_id, release_form=form)


@require_GET
@role_required(EXPORTERS)
def hold_report_csv(request: AuthedRequest, hold_id: int) -> HttpResponse:
    hold = get_object_or_404(LegalHold, pk=hold_id)
    hold = hold_with_custodians(hold.pk)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="hold-{hold.pk}-report.csv"'
    writer = csv.writer(response)
    writer.writerow(_REPORT_HEADER)
    for row in hold_report_rows(hold):
        writer.writerow(_report_line(hold, row))
    return response


_REPORT_HEADER = [
    "matter",
    "reference",
    "custodian",
    "kind",
    "added_at",
    "added_by",
    "removed_at",
    "mailbox",
    "in_force_since",
    "messages_preserved",
    "counted_at",
    "problem",
]


def _report_line(hold: LegalHold, row: Any) -> list[Any]:
    c = row.custodian
    return [
        hold.matter_name,
        hold.matter_reference,
        c.name,
        c.kind,
        c.added_at.isoformat(),
        c.added_by.get_username(),
        c.removed_at.isoformat() if c.removed_at else "",
        row.address,
        row.in_force_at.isoformat() if row.in_force_at else "pending",
        "" if row.preserved_messages is None else row.preserved_messages,
        row.verified_at.isoformat() if row.verified_at else "",
        row.problem,
    ]


def _detail_context(
    request: AuthedRequest,
    hold_id: int,
    *,
    add_form: forms.Form | None = None,
    remove_form: tuple[int, forms.Form] | None = None,
    release_form: forms.Form | None = None,
) -> dict[str, Any]:
    hold = get_object_or_404(LegalHold, pk=hold_id)
    hold = hold_with_custodians(hold.pk)
    rows = hold_report_rows(hold)
    remove_forms = {
        c.pk: (
            remove_form[1]
            if remove_form and remove_form[0] == c.pk
            else ReasonForm(required_message="", auto_id=_remove_auto_id(c.pk))
        )
        for c in hold.custodians.all()
        if c.removed_at is None
    }
    can_edit = has_role(request.user, HOLD_EDITORS) and hold.released_at is None
    return {
        "hold": hold,
        "rows": rows,
        "pending": any(
            r.in_force_at is None and r.address for r in rows if not r.custodian.removed_at
        ),
        "can_edit": can_edit,
        "add_form": add_form or CustodianAddForm(),
        "remove_forms": remove_forms,
        "release_form": release_form or ReasonForm(required_message="", auto_id=RELEASE_AUTO_ID),
        "remove_error_for": remove_form[0] if remove_form and remove_form[1].errors else None,
        "refusals": _unshown_refusals(can_edit, remove_forms, remove_form, release_form),
    }


def _unshown_refusals(
    can_edit: bool,
    shown_remove_forms: dict[int, forms.Form],
    remove_form: tuple[int, forms.Form] | None,
    release_form: forms.Form | None,
) -> list[str]:
    """Refusals of forms the page no longer shows (the hold was released, the custodian
    removed): they go above the page instead of vanishing with their form."""
    unshown: list[forms.Form] = []
    if remove_form and not (can_edit and remove_form[0] in shown_remove_forms):
        unshown.append(remove_form[1])
    if release_form is not None and not can_edit:
        unshown.append(release_form)
    return [str(error) for form in unshown for error in form.non_field_errors()]


def _detail_again(request: AuthedRequest, hold_id: int, **forms_: Any) -> HttpResponse:
    context = _detail_context(request, hold_id, **forms_)
    return render(request, "policies/hold_detail.html", context)


# --- Retention --------------------------------------------------------------------------------


@require_GET
@role_required(READERS)
def retention_rules(request: AuthedRequest) -> HttpResponse:
    return render(request, "policies/retention.html", _retention_context(request))


@require_POST
@vary_on_headers("HX-Request")
@role_required(ACCOUNT_EDITORS)
def retention_rule_set(request: AuthedRequest) -> HttpResponse:
    domain_id = request.POST.get("domain", "")
    if domain_id.isdigit():  # a domain the user may not edit: 404, as everywhere
        get_object_or_404(Domain.objects.editable_by(request.user), pk=int(domain_id))
    form = _retention_form(request, request.POST)
    if not form.is_valid():
        return render(request, "policies/retention.html", _retention_context(request, form=form))
    data = form.cleaned_data
    try:
        retention.retention_rule_set(actor=request.user, **data)
    except ValidationError as error:
        if getattr(error, "code", None) == "confirm_required":
            preview = retention.retention_preview(
                domain=data["domain"], folder=data["folder"], retention_days=data["retention_days"]
            )
            context = {"form": form, "preview": preview}
            return render(request, "policies/retention_confirm.html", context)
        add_refusal(form, error)
        return render(request, "policies/retention.html", _retention_context(request, form=form))
    messages.success(request, f"Retention rule for {data['folder']} saved.")
    return redirect("policies:retention_rules")


def _retention_form(request: AuthedRequest, data: Any = None) -> RetentionRuleForm:
    can_edit_org = has_role(request.user, ORG_EDITORS)
    domains = Domain.objects.editable_by(request.user).order_by("name")
    return RetentionRuleForm(data, domains=domains, can_edit_org=can_edit_org)


def _retention_context(request: AuthedRequest, *, form: forms.Form | None = None) -> dict[str, Any]:
    visible = Domain.objects.visible_to(request.user)
    return {
        "rows": retention_table(visible),
        "can_edit": has_role(request.user, ACCOUNT_EDITORS),
        "form": form or _retention_form(request),
        "standard_folders": retention.STANDARD_FOLDERS,
    }
