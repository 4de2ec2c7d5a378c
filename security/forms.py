"""Input parsing for the security pages. Forms check shape; services decide and refuse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from security.models import REQUIREMENT_FIELDS, SecurityPolicy
from security.rules import code_kind, normalise_code

# A service refusal with one of these codes belongs to the code field; others above the form.
CODE_FIELD_ERRORS = {"code_shape", "wrong_code", "wrong_enrol_code", "throttled"}


class CodeForm(forms.Form):
    error_messages = {
        "shape": _(
            "Enter the 6-digit code from your authenticator app, or one of your 8-character "
            "backup codes."
        ),
    }

    code = forms.CharField(
        label=_("Verification code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if code_kind(code) is None:
            raise ValidationError(self.error_messages["shape"], code="shape")
        return code


class EnrolCodeForm(CodeForm):
    error_messages = {
        "shape": _("Enter the 6-digit code your authenticator app shows for mailadmin."),
    }

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if code_kind(code) != "totp":
            raise ValidationError(self.error_messages["shape"], code="shape")
        return code


class SecurityPolicyForm(forms.Form):
    """One checkbox per role: tick the roles that must use two-factor login."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field_name in REQUIREMENT_FIELDS.values():
            label = getattr(SecurityPolicy._meta.get_field(field_name), "verbose_name", field_name)
            self.fields[field_name] = forms.BooleanField(label=label, required=False)

    def required_by_role(self) -> dict[str, bool]:
        return {role: self.cleaned_data[field] for role, field in REQUIREMENT_FIELDS.items()}


def add_service_error(form: forms.Form, error: ValidationError) -> None:
    for item in error.error_list:
        form.add_error("code" if item.code in CODE_FIELD_ERRORS else None, item)
