"""The audit page's GET filters: parsed here, applied by audit.selectors.event_search."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.models import Action


class EventFilterForm(forms.Form):
    error_messages = {
        "dates_reversed": _(
            "The end date (%(date_to)s) is before the start date (%(date_from)s). "
            "Swap them or clear one of them."
        ),
        "target_half": _(
            "A target history needs both a target type and a target id. "
            "Open it from the target link in the list."
        ),
    }
    _date_errors = {"invalid": _("Write the date as YYYY-MM-DD, for example 2026-01-31.")}

    actor = forms.CharField(
        required=False,
        max_length=200,
        label=_("Actor"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "user name"}),
    )
    action = forms.ChoiceField(
        required=False,
        label=_("Action"),
        choices=[("", _("Any action")), *Action.choices],
        error_messages={
            "invalid_choice": _(
                "“%(value)s” is not an action the audit trail records. Pick one from the list."
            )
        },
    )
    target = forms.CharField(
        required=False,
        max_length=300,
        label=_("Target"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "address or name"}),
    )
    date_from = forms.DateField(
        required=False,
        label=_("From"),
        input_formats=["%Y-%m-%d"],  # "03/01/2026" is ambiguous: refuse it
        error_messages=_date_errors,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        required=False,
        label=_("To"),
        input_formats=["%Y-%m-%d"],  # "03/01/2026" is ambiguous: refuse it
        error_messages=_date_errors,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    source = forms.CharField(
        required=False,
        max_length=32,
        label=_("Source"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "web, command…"}),
    )
    matter = forms.CharField(
        required=False,
        max_length=200,
        label=_("Matter"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "legal hold matter"}),
    )
    target_type = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    target_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        date_from: date | None = data.get("date_from")
        date_to: date | None = data.get("date_to")
        if date_from and date_to and date_to < date_from:
            raise forms.ValidationError(
                self.error_messages["dates_reversed"],
                code="dates_reversed",
                params={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
            )
        if bool(data.get("target_type")) != bool(data.get("target_id")):
            raise forms.ValidationError(self.error_messages["target_half"], code="target_half")
        return data
