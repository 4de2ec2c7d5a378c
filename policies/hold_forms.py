"""Input parsing for holds and retention. Forms parse and check shape; services decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Domain, Mailbox
from policies.holds import HOLD_ERRORS
from policies.retention import MAX_DAYS, STANDARD_FOLDERS

_DATE = {"type": "date"}

# Which field a service refusal belongs to (by its code); others go above the form.
HOLD_FIELD_BY_CODE = {
    "matter_required": "matter_name",
    "reference_required": "matter_reference",
    "reason_required": "reason",
    "custodian_reason_required": "reason",
    "release_reason_required": "reason",
    "ends_before_start": "ends_on",
    "already_custodian": "mailbox",
    "folder_invalid": "folder",
    "folder_preserved": "folder",
    "days_range": "retention_days",
}


def add_refusal(form: forms.Form, error: Any) -> None:
    """Attach a service refusal to the field it concerns (or to the form)."""
    for item in error.error_list:
        field = HOLD_FIELD_BY_CODE.get(item.code or "")
        form.add_error(field if field in form.fields else None, item)


def _addresses(text: str) -> list[str]:
    return [a.strip().lower() for a in text.replace(",", "\n").splitlines() if a.strip()]


class HoldPlaceForm(forms.Form):
    error_messages = {
        "unknown_mailboxes": _("No mailbox %(addresses)s. Check the spelling: one address a line."),
    }

    matter_name = forms.CharField(
        label=_("Matter"),
        max_length=200,
        error_messages={"required": HOLD_ERRORS["matter_required"]},
    )
    matter_reference = forms.CharField(
        label=_("Reference"),
        max_length=100,
        help_text=_("Case or ticket number."),
        error_messages={"required": HOLD_ERRORS["reference_required"]},
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": HOLD_ERRORS["reason_required"]},
    )
    mailboxes = forms.CharField(
        label=_("Custodian mailboxes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "alice@example.test"}),
        help_text=_("One address a line."),
    )
    domains = forms.ModelMultipleChoiceField(
        label=_("Whole domains"),
        queryset=Domain.objects.order_by("name"),
        required=False,
        help_text=_("Every mailbox of the domain, including mailboxes created later."),
    )
    starts_on = forms.DateField(label=_("Start"), required=False, widget=forms.DateInput(_DATE))
    ends_on = forms.DateField(
        label=_("Planned end"),
        required=False,
        widget=forms.DateInput(_DATE),
        help_text=_("For review only: a hold lasts until it is released."),
    )

    def clean_mailboxes(self) -> list[Mailbox]:
        wanted = _addresses(self.cleaned_data["mailboxes"])
        found = {m.address: m for m in Mailbox.objects.filter(address__in=wanted)}
        unknown = [a for a in wanted if a not in found]
        if unknown:
            raise forms.ValidationError(
                self.error_messages["unknown_mailboxes"],
                code="unknown_mailboxes",
                params={"addresses": ", ".join(unknown)},
            )
        return list(found.values())


class CustodianAddForm(forms.Form):
    error_messages = {
        "one_custodian": _("Give either a mailbox address or a domain, not both and not neither."),
        "unknown_mailbox": _("No mailbox %(address)s. Check the spelling."),
    }

    mailbox = forms.CharField(label=_("Mailbox address"), required=False, max_length=318)
    domain = forms.ModelChoiceField(
        label=_("or a whole domain"),
        queryset=Domain.objects.order_by("name"),
        required=False,
        empty_label=_("—"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": HOLD_ERRORS["custodian_reason_required"]},
    )

    def clean_mailbox(self) -> Mailbox | None:
        address = self.cleaned_data["mailbox"].strip().lower()
        if not address:
            return None
        mailbox = Mailbox.objects.filter(address=address).first()
        if mailbox is None:
            raise forms.ValidationError(
                self.error_messages["unknown_mailbox"],
                code="unknown_mailbox",
                params={"address": address},
            )
        return mailbox

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "mailbox" in data and (data.get("mailbox") is None) == (data.get("domain") is None):
            raise forms.ValidationError(self.error_messages["one_custodian"], code="one_custodian")
        return data


class ReasonForm(forms.Form):
    """Removing a custodian or releasing a hold: a reason, always."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, required_message: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = required_message


class RetentionRuleForm(forms.Form):
    """One rule: scope (organisation or a domain), folder, days (empty removes the rule)."""

    domain = forms.ModelChoiceField(
        label=_("Applies to"),
        queryset=Domain.objects.none(),
        required=False,
        empty_label=_("Organisation default"),
    )
    folder = forms.CharField(
        label=_("Folder"),
        max_length=100,
        initial="Trash",
        help_text=_("Trash, Junk or a named folder such as Archive/Newsletters."),
        error_messages={"required": _("Name the folder the rule is for (Trash, Junk, …).")},
    )
    retention_days = forms.IntegerField(
        label=_("Delete after (days)"),
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "max": MAX_DAYS}),
        help_text=_("0 keeps messages for ever; empty removes the rule (a domain inherits)."),
        error_messages={"invalid": _("Write the number of days as a whole number, like 30.")},
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, domains: Any, can_edit_org: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["domain"])  # type: ignore[type-arg]
        field.queryset = domains
        if not can_edit_org:
            field.required = True
            field.empty_label = None
        self.fields["folder"].widget.attrs["list"] = "retention-folders"
        self.standard_folders = STANDARD_FOLDERS
