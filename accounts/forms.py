"""Input parsing for the accounts pages: sizes as people write them, names checked early.

Forms have no side effects. The same rules run again in the services (which lock and count);
a service refusal is attached to the field it concerns with `attach_refusal()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Domain, idna_to_unicode
from accounts.rules import normalize_domain_name, normalize_local_part
from accounts.services.mailboxes import check_password
from mailadmin.lib.auth import Role
from mailadmin.lib.units import SizeError, format_size, parse_size

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Which field a service refusal belongs to (by its code); others go to the whole form.
FIELD_FOR_CODE = {
    "mailbox_exists": "local_part",
    "alias_exists": "local_part",
    "shadows_mailbox": "local_part",
    "domain_exists": "name",
    "max_mailboxes": None,
    "quota_exceeds_domain": "quota",
    "quota_unlimited": "quota",
    "quota_negative": "quota",
    "password_empty": "password",
    "password_too_long": "password",
    "password_too_short": "password",
    "password_too_common": "password",
    "password_entirely_numeric": "password",
    "password_too_similar": "password",
    "display_name_too_long": "display_name",
    "display_name_control": "display_name",
    "default_above_quota": "default_quota",
    "quota_below_allocated": "quota",
    "quota_with_unlimited": "quota",
    "max_below_count": "max_mailboxes",
    "no_destinations": "destinations",
    "bad_destination": "destinations",
    "duplicate_destination": "destinations",
    "unknown_local_destination": "destinations",
    "loop": "destinations",
    "too_many_destinations": "destinations",
    "not_domain_admin": "administrators",
}


def attach_refusal(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the field it concerns (or the form)."""
    for item in error.error_list:
        name = FIELD_FOR_CODE.get(item.code or "")
        if name is None and item.code and item.code.startswith(("local_", "domain_")):
            name = "local_part" if item.code.startswith("local_") else "name"
        form.add_error(name if name in form.fields else None, item)


class SizeField(forms.CharField):
    """'2.5 GB', '500 MB', '1 GiB' or bytes -> int bytes; shown back as '2.5 GB'."""

    default_error_messages = {
        "required": _("Enter a size, like 500 MB or 2 GB (0 for no limit)."),
        "too_large": _("%(size)s is more than we can store; the largest size is 9 EB."),
    }

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):
            return format_size(value) if value else "0"
        return value

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            size = parse_size(text)
        except SizeError as exc:
            raise ValidationError(str(exc), code="invalid_size") from None
        if size >= 2**63:
            raise ValidationError(
                self.error_messages["too_large"], code="too_large", params={"size": text}
            )
        return size


def _count_field(
    label: StrOrPromise, help_text: StrOrPromise, *, required: bool = True
) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=2**63 - 1,
        required=required,
        help_text=help_text,
        error_messages={
            "required": _("Enter a whole number (0 for no limit)."),
            "invalid": _("Enter a whole number, like 5000 (0 for no limit)."),
            "min_value": _("This cannot be negative. Use 0 for no limit."),
            "max_value": _("This number is too large."),
        },
    )


def account_editors() -> QuerySet[User]:
    return User.objects.filter(groups__name=Role.DOMAIN_ADMIN, is_active=True).order_by("username")


class DomainSettingsForm(forms.Form):
    is_active = forms.BooleanField(
        label=_("Active"), required=False, initial=True, help_text=_("Off: nobody can log in.")
    )
    default_quota = SizeField(
        label=_("Default mailbox size"),
        initial="1 GB",
        help_text=_("For new mailboxes. Like 500 MB or 2 GB; 0 = no limit."),
    )
    default_quota_messages = _count_field(_("Default message limit"), _("0 = no limit."))
    quota = SizeField(
        label=_("Domain storage quota"),
        initial="0",
        help_text=_("The most all mailboxes together may have. 0 = no limit."),
    )
    max_mailboxes = _count_field(_("Mailbox limit"), _("0 = no limit."))

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "is_active": data["is_active"],
            "default_quota_bytes": data["default_quota"],
            "default_quota_messages": data["default_quota_messages"],
            "quota_bytes": data["quota"],
            "max_mailboxes": data["max_mailboxes"],
        }

    @classmethod
    def initial_for(cls, domain: Domain) -> dict[str, Any]:
        return {
            "is_active": domain.is_active,
            "default_quota": domain.default_quota_bytes,
            "default_quota_messages": domain.default_quota_messages,
            "quota": domain.quota_bytes,
            "max_mailboxes": domain.max_mailboxes,
        }


class DomainCreateForm(DomainSettingsForm):
    name = forms.CharField(
        label=_("Domain name"),
        max_length=300,
        help_text=_("Like example.com. Internationalised names (bücher.example) are fine."),
        error_messages={"required": _("Enter a domain name, like example.com.")},
    )
    field_order = ["name"]

    def clean_name(self) -> str:
        return normalize_domain_name(self.cleaned_data["name"])


class DomainAdministratorsForm(forms.Form):
    administrators = forms.ModelMultipleChoiceField(
        label=_("Domain administrators"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Users with the Domain administrator role. They can edit only this domain's accounts."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["administrators"]
        assert isinstance(field, forms.ModelMultipleChoiceField)  # noqa: S101 - narrowing
        field.queryset = account_editors()


class PasswordFields(forms.Form):
    error_messages = {
        "password_mismatch": _("The two passwords differ. Type the same password twice."),
    }
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not a common password; at most 72 bytes."),
        error_messages={"required": _("Enter a password.")},
    )
    password_confirm = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Type the password a second time.")},
    )

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        check_password(password)  # the service checks again; this shows it inline
        return password

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password"), data.get("password_confirm")
        if first and second and first != second:
            self.add_error(
                "password_confirm",
                ValidationError(self.error_messages["password_mismatch"], code="password_mismatch"),
            )
        return data


class MailboxCreateForm(PasswordFields):
    domain = forms.ModelChoiceField(
        label=_("Domain"),
        queryset=Domain.objects.none(),
        error_messages={
            "required": _("Choose the domain of the new mailbox."),
            "invalid_choice": _("Choose one of your domains from the list."),
        },
    )
    local_part = forms.CharField(
        label=_("Address (before the @)"),
        max_length=200,
        error_messages={"required": _("Enter the part before the @, like alice.")},
    )
    display_name = forms.CharField(label=_("Display name"), required=False, max_length=400)
    quota = SizeField(
        label=_("Size"),
        required=False,
        help_text=_("Like 500 MB or 2.5 GB; empty = the domain's default; 0 = no limit."),
    )
    quota_messages = _count_field(
        _("Message limit"), _("Empty = the domain's default; 0 = no limit."), required=False
    )
    field_order = ["domain", "local_part", "display_name", "quota", "quota_messages"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["domain"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - narrowing
        field.queryset = Domain.objects.editable_by(user)

    def clean_local_part(self) -> str:
        return normalize_local_part(self.cleaned_data["local_part"])


class MailboxUpdateForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), required=False, max_length=400)


class MailboxPasswordForm(PasswordFields):
    pass


class MailboxQuotaForm(forms.Form):
    quota = SizeField(label=_("Size"), help_text=_("Like 500 MB or 2.5 GB; 0 = no limit."))
    quota_messages = _count_field(_("Message limit"), _("0 = no limit."))


class MailboxFilterForm(forms.Form):
    """GET filters of the mailbox list; bad values fall back to the defaults."""

    SORTS = {
        "address": "address",
        "-address": "-address",
        "name": "display_name",
        "-name": "-display_name",
        "quota": "quota_bytes",
        "-quota": "-quota_bytes",
        "created": "created_at",
        "-created": "-created_at",
    }
    q = forms.CharField(label=_("Search"), required=False, max_length=318)
    # Choices loaded once as (id, name): validating a choice then needs no second query.
    domain = forms.TypedChoiceField(label=_("Domain"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), ("active", _("Active")), ("suspended", _("Suspended"))],
    )
    sort = forms.ChoiceField(required=False, choices=[(k, k) for k in SORTS])
    per_page = forms.TypedChoiceField(
        required=False, coerce=int, choices=[(n, n) for n in (10, 25, 50, 100)]
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        field = self.fields["domain"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrowing
        names = Domain.objects.visible_to(user).order_by("name").values_list("id", "name")
        # A callable: read only when the menu is drawn or a domain is chosen (not for the
        # table partial of a search without a domain).
        field.choices = lambda: (
            [("", _("All domains"))] + [(pk, idna_to_unicode(name)) for pk, name in names]
        )

    def filters(self) -> dict[str, Any]:
        """Valid values only: an invalid filter is ignored rather than failing the page."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": data.get("q") or "",
            "domain": data.get("domain"),
            "status": data.get("status") or "",
            "order_by": self.SORTS.get(data.get("sort") or "", "address"),
            "per_page": data.get("per_page") or 50,
        }


class ListSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=318)


class AliasUpdateForm(forms.Form):
    destinations = forms.CharField(
        label=_("Destinations"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One address per line: our mailboxes, other aliases or outside addresses."),
        error_messages={"required": _("Enter at least one destination address, one per line.")},
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_destinations(self) -> list[str]:
        lines = self.cleaned_data["destinations"].replace(",", "\n").splitlines()
        return [line.strip() for line in lines if line.strip()]

    @staticmethod
    def initial_for(destinations: list[str], is_active: bool) -> dict[str, Any]:
        return {"destinations": "\n".join(destinations), "is_active": is_active}


class AliasCreateForm(AliasUpdateForm):
    domain = forms.ModelChoiceField(
        label=_("Domain"),
        queryset=Domain.objects.none(),
        error_messages={
            "required": _("Choose the domain of the new alias."),
            "invalid_choice": _("Choose one of your domains from the list."),
        },
    )
    local_part = forms.CharField(
        label=_("Address (before the @)"),
        max_length=200,
        error_messages={"required": _("Enter the part before the @, like sales.")},
    )
    field_order = ["domain", "local_part", "destinations", "is_active"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["domain"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - narrowing
        field.queryset = Domain.objects.editable_by(user)

    def clean_local_part(self) -> str:
        return normalize_local_part(self.cleaned_data["local_part"])


class MailboxImportForm(forms.Form):
    error_messages = {
        "not_text": _(
            "This file is not UTF-8 text. Save the spreadsheet as “CSV UTF-8” and try again."
        ),
        "too_big": _("This file is %(size)s; upload at most 20 MB at a time."),
    }
    MAX_BYTES = 20_000_000
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns: address,display_name,password,quota (quota like 2 GB, or empty for the domain default)."
        ),
        error_messages={
            "required": _("Choose a CSV file to upload."),
            "empty": _("The file is empty."),
        },
    )

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError(
                self.error_messages["too_big"],
                code="too_big",
                params={"size": format_size(upload.size)},
            )
        try:
            return str(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise ValidationError(self.error_messages["not_text"], code="not_text") from None
