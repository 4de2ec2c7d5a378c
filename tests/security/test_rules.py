from __future__ import annotations

import pytest

from security.rules import code_kind, normalise_code, two_factor_required

DEFAULTS = {
    "superuser": True,
    "mail_admin": True,
    "domain_admin": False,
    "compliance_officer": True,
    "auditor": False,
}


@pytest.mark.parametrize(
    ("is_superuser", "roles", "expected"),
    [
        (True, [], True),
        (False, ["mail_admin"], True),
        (False, ["compliance_officer"], True),
        (False, ["domain_admin"], False),
        (False, ["auditor"], False),
        (False, ["auditor", "mail_admin"], True),
        (False, [], False),
    ],
)
def test_default_policy_requires_superusers_mail_admins_and_compliance(
    is_superuser, roles, expected
):
    assert two_factor_required(is_superuser=is_superuser, roles=roles, required=DEFAULTS) is (
        expected
    )


def test_superuser_flag_follows_its_own_setting():
    required = {**DEFAULTS, "superuser": False}

    assert not two_factor_required(is_superuser=True, roles=[], required=required)
    assert two_factor_required(is_superuser=True, roles=["mail_admin"], required=required)


def test_unknown_roles_require_nothing():
    assert not two_factor_required(is_superuser=False, roles=["someone"], required=DEFAULTS)


@pytest.mark.parametrize(
    ("typed", "normalised", "kind"),
    [
        ("123456", "123456", "totp"),
        (" 123 456 ", "123456", "totp"),
        ("ABCD-EFGH", "abcdefgh", "backup"),
        ("abcd2345", "abcd2345", "backup"),
        ("12345", "12345", None),
        ("1234567", "1234567", None),
        ("abcd1890", "abcd1890", None),  # 0, 1, 8 and 9 are not base32
        ("", "", None),
    ],
)
def test_codes_are_normalised_and_classified(typed, normalised, kind):
    assert normalise_code(typed) == normalised
    assert code_kind(normalised) == kind
