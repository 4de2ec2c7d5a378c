from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.rules import (
    DOMAIN_ERRORS,
    LOCAL_PART_ERRORS,
    domain_to_unicode,
    find_alias_loop,
    normalize_address,
    normalize_domain_name,
    normalize_local_part,
)


def _message(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    error = exc.value.error_list[0]
    return error.code or "", error.message % (error.params or {})


def test_domain_names_are_lower_cased_and_stored_in_idna():
    assert normalize_domain_name(" Example.COM. ") == "example.com"
    assert normalize_domain_name("Bücher.Example") == "xn--bcher-kva.example"
    assert domain_to_unicode("xn--bcher-kva.example") == "bücher.example"
    # IDNA 2008: ß is kept (IDNA 2003 would have turned it into "ss")
    assert domain_to_unicode(normalize_domain_name("straße.de")) == "straße.de"


@pytest.mark.parametrize(
    ("text", "code", "params"),
    [
        ("", "domain_empty", {}),
        ("   ", "domain_empty", {}),
        ("localhost", "domain_no_dot", {"name": "localhost"}),
        ("exa mple.com", "domain_bad_characters", {"name": "exa mple.com", "chars": "a space"}),
        ("ex_ample.com", "domain_bad_characters", {"name": "ex_ample.com", "chars": "“_”"}),
        ("example..com", "domain_empty_label", {"name": "example..com"}),
        ("-example.com", "domain_leading_hyphen", {"label": "-example"}),
        ("example-.com", "domain_trailing_hyphen", {"label": "example-"}),
        ("a" * 64 + ".com", "domain_label_too_long", {"label": "a" * 64, "length": 64}),
        (
            ".".join(["a" * 60] * 5),
            "domain_too_long",
            {"name": ".".join(["a" * 60] * 5), "length": 304},
        ),
        ("example.123", "domain_numeric_tld", {"name": "example.123"}),
    ],
)
def test_each_kind_of_bad_domain_name_has_its_message(text, code, params):
    with pytest.raises(ValidationError) as exc:
        normalize_domain_name(text)
    assert _message(exc) == (
        code,
        str(DOMAIN_ERRORS[code]) % params if params else str(DOMAIN_ERRORS[code]),
    )


def test_domain_message_reads_well():
    with pytest.raises(ValidationError) as exc:
        normalize_domain_name("localhost")
    assert _message(exc)[1] == (
        "“localhost” has no dot. Enter the full domain name, like localhost.com or example.org."
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "local_empty"),
        ("a" * 65, "local_too_long"),
        ("john smith", "local_spaces"),
        ("john+tag", "local_bad_characters"),
        ("jöhn", "local_bad_characters"),
        (".john", "local_dot_edge"),
        ("john.", "local_dot_edge"),
        ("jo..hn", "local_double_dot"),
    ],
)
def test_each_kind_of_bad_local_part_has_its_message(text, code):
    with pytest.raises(ValidationError) as exc:
        normalize_local_part(text)
    error = exc.value.error_list[0]
    assert error.code == code
    assert _message(exc)[1] == str(LOCAL_PART_ERRORS[code]) % (error.params or {})
    if code != "local_empty":
        assert f"“{text.lower()}”" in _message(exc)[1]


def test_bad_character_message_names_the_characters():
    with pytest.raises(ValidationError) as exc:
        normalize_local_part("a/b:c")
    assert _message(exc)[1] == (
        "“a/b:c” contains “/”, “:”. Use letters a to z, digits, dots, hyphens and underscores."
    )


def test_external_addresses_may_use_plus():
    assert (
        normalize_address("Bob+Tag@Bücher.example", external=True)
        == "bob+tag@xn--bcher-kva.example"
    )


def test_alias_loop_is_found_with_its_path():
    graph = {
        "a@x.test": ["b@x.test"],
        "b@x.test": ["c@x.test", "out@y.test"],
        "c@x.test": ["a@x.test"],
    }
    assert find_alias_loop("a@x.test", graph) == ["a@x.test", "b@x.test", "c@x.test", "a@x.test"]
    assert find_alias_loop("a@x.test", {"a@x.test": ["out@y.test"]}) is None
