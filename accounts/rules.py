"""Pure rules for names and addresses: no ORM, no settings.

Domain names are stored in their IDNA (ASCII, "xn--") form and shown in Unicode. Local parts of
our own mailboxes and aliases are kept to a conservative character set that every mail server,
Maildir path and Dovecot variable expansion handles; external destinations may use any RFC 5322
"atext" character (including "+").
"""

from __future__ import annotations

import re

import idna
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_DOMAIN_LENGTH = 253
MAX_LABEL_LENGTH = 63
MAX_LOCAL_PART_LENGTH = 64

DOMAIN_ERRORS = {
    "domain_empty": _("Enter a domain name, like example.com."),
    "domain_too_long": _(
        "“%(name)s” is %(length)d characters long in its ASCII form; a domain name can have at "
        "most 253. Choose a shorter name."
    ),
    "domain_no_dot": _(
        "“%(name)s” has no dot. Enter the full domain name, like %(name)s.com or example.org."
    ),
    "domain_bad_characters": _(
        "“%(name)s” contains %(chars)s, which cannot be part of a domain name. "
        "Use letters, digits, hyphens and dots."
    ),
    "domain_empty_label": _(
        "“%(name)s” has two dots in a row or starts with a dot. Remove the extra dot."
    ),
    "domain_label_too_long": _(
        "The part “%(label)s” is %(length)d characters long; each part between dots can have at "
        "most 63."
    ),
    "domain_leading_hyphen": _(
        "The part “%(label)s” starts with a hyphen. Parts of a domain name cannot start or end "
        "with a hyphen."
    ),
    "domain_trailing_hyphen": _(
        "The part “%(label)s” ends with a hyphen. Parts of a domain name cannot start or end "
        "with a hyphen."
    ),
    "domain_numeric_tld": _(
        "“%(name)s” ends in a number. The last part must be a name like com, org or de."
    ),
    "domain_bad_idn": _(
        "“%(name)s” is not a valid internationalised domain name (%(reason)s). "
        "Check the spelling of its non-ASCII letters."
    ),
}

LOCAL_PART_ERRORS = {
    "local_empty": _("Enter the part before the @, like alice."),
    "local_too_long": _(
        "“%(local)s” is %(length)d characters long; the part before the @ can have at most 64."
    ),
    "local_spaces": _("“%(local)s” contains a space. Addresses cannot contain spaces."),
    "local_bad_characters": _(
        "“%(local)s” contains %(chars)s. Use letters a to z, digits, dots, hyphens and underscores."
    ),
    "local_dot_edge": _("“%(local)s” starts or ends with a dot. Remove that dot."),
    "local_double_dot": _("“%(local)s” has two dots in a row. Remove one of them."),
}

ADDRESS_ERRORS = {
    "address_empty": _("Enter an e-mail address, like alice@example.com."),
    "address_no_at": _("“%(address)s” has no @. Enter a full address, like alice@example.com."),
    "address_many_at": _("“%(address)s” has more than one @. An address has exactly one."),
}

# Our own mailboxes and aliases: lower-case letters, digits, "." "-" "_".
_OWN_LOCAL_OK = re.compile(r"[a-z0-9._-]")
# External destinations: RFC 5322 atext plus dots.
_EXTERNAL_LOCAL_OK = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]")
_ASCII_LABEL_OK = re.compile(r"[a-z0-9-]")


def _quote_chars(chars: list[str]) -> str:
    shown = []
    for char in dict.fromkeys(chars):
        shown.append("a space" if char == " " else f"“{char}”")
    return ", ".join(shown)


def normalize_domain_name(text: str) -> str:
    """The IDNA ASCII form of a domain name typed by a person ("Bücher.Example" -> xn--...).

    Lower-cases, drops one trailing dot and refuses, with a message per kind, what cannot be a
    domain name. Raises ValidationError (codes in DOMAIN_ERRORS).
    """
    name = (text or "").strip().lower()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise ValidationError(DOMAIN_ERRORS["domain_empty"], code="domain_empty")
    params: dict[str, object] = {"name": name}
    bad = [c for c in name if not (c.isalnum() or c in ".-")]
    if bad:
        params["chars"] = _quote_chars(bad)
        raise ValidationError(
            DOMAIN_ERRORS["domain_bad_characters"], code="domain_bad_characters", params=params
        )
    labels = name.split(".")
    if any(not label for label in labels):
        raise ValidationError(
            DOMAIN_ERRORS["domain_empty_label"], code="domain_empty_label", params=params
        )
    ascii_labels = [_label_to_ascii(label, name) for label in labels]
    ascii_name = ".".join(ascii_labels)
    if len(ascii_name) > MAX_DOMAIN_LENGTH:
        params["length"] = len(ascii_name)
        raise ValidationError(
            DOMAIN_ERRORS["domain_too_long"], code="domain_too_long", params=params
        )
    if len(labels) < 2:
        raise ValidationError(DOMAIN_ERRORS["domain_no_dot"], code="domain_no_dot", params=params)
    if ascii_labels[-1].isdigit():
        raise ValidationError(
            DOMAIN_ERRORS["domain_numeric_tld"], code="domain_numeric_tld", params=params
        )
    return ascii_name


def _label_to_ascii(label: str, name: str) -> str:
    for code, is_bad in (
        ("domain_leading_hyphen", label.startswith("-")),
        ("domain_trailing_hyphen", label.endswith("-")),
    ):
        if is_bad:
            raise ValidationError(DOMAIN_ERRORS[code], code=code, params={"label": label})
    if label.isascii():
        ascii_label = label
        bad = [c for c in label if not _ASCII_LABEL_OK.fullmatch(c)]
        if bad:
            raise ValidationError(
                DOMAIN_ERRORS["domain_bad_characters"],
                code="domain_bad_characters",
                params={"name": name, "chars": _quote_chars(bad)},
            )
    else:
        try:
            ascii_label = idna.encode(label, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValidationError(
                DOMAIN_ERRORS["domain_bad_idn"],
                code="domain_bad_idn",
                params={"name": name, "reason": str(exc)},
            ) from None
    if len(ascii_label) > MAX_LABEL_LENGTH:
        raise ValidationError(
            DOMAIN_ERRORS["domain_label_too_long"],
            code="domain_label_too_long",
            params={"label": label, "length": len(ascii_label)},
        )
    return ascii_label


def domain_to_unicode(ascii_name: str) -> str:
    """How a stored (ASCII) domain name is shown; the ASCII form if it cannot be decoded."""
    if "xn--" not in ascii_name:
        return ascii_name
    try:
        return str(idna.decode(ascii_name))
    except (idna.IDNAError, UnicodeError):
        return ascii_name


def normalize_local_part(text: str, *, external: bool = False) -> str:
    """The lower-cased local part, or ValidationError (codes in LOCAL_PART_ERRORS).

    `external` allows every RFC 5322 atext character (for alias destinations elsewhere).
    """
    local = (text or "").strip().lower()
    params: dict[str, object] = {"local": local}
    if not local:
        raise ValidationError(LOCAL_PART_ERRORS["local_empty"], code="local_empty")
    if len(local) > MAX_LOCAL_PART_LENGTH:
        params["length"] = len(local)
        raise ValidationError(
            LOCAL_PART_ERRORS["local_too_long"], code="local_too_long", params=params
        )
    if any(c.isspace() for c in local):
        raise ValidationError(LOCAL_PART_ERRORS["local_spaces"], code="local_spaces", params=params)
    allowed = _EXTERNAL_LOCAL_OK if external else _OWN_LOCAL_OK
    bad = [c for c in local if not allowed.fullmatch(c)]
    if bad:
        params["chars"] = _quote_chars(bad)
        raise ValidationError(
            LOCAL_PART_ERRORS["local_bad_characters"], code="local_bad_characters", params=params
        )
    if local.startswith(".") or local.endswith("."):
        raise ValidationError(
            LOCAL_PART_ERRORS["local_dot_edge"], code="local_dot_edge", params=params
        )
    if ".." in local:
        raise ValidationError(
            LOCAL_PART_ERRORS["local_double_dot"], code="local_double_dot", params=params
        )
    return local


def split_address(text: str, *, external: bool = False) -> tuple[str, str]:
    """(local part, ASCII domain name) of an address, each normalised; or ValidationError."""
    address = (text or "").strip()
    if not address:
        raise ValidationError(ADDRESS_ERRORS["address_empty"], code="address_empty")
    params = {"address": address}
    if "@" not in address:
        raise ValidationError(ADDRESS_ERRORS["address_no_at"], code="address_no_at", params=params)
    if address.count("@") > 1:
        raise ValidationError(
            ADDRESS_ERRORS["address_many_at"], code="address_many_at", params=params
        )
    local, _sep, domain = address.partition("@")
    return normalize_local_part(local, external=external), normalize_domain_name(domain)


def normalize_address(text: str, *, external: bool = False) -> str:
    """'Alice@Bücher.Example' -> 'alice@xn--bcher-kva.example', or ValidationError."""
    local, domain = split_address(text, external=external)
    return f"{local}@{domain}"


def address_to_unicode(address: str) -> str:
    local, _sep, domain = address.partition("@")
    return f"{local}@{domain_to_unicode(domain)}"


def find_alias_loop(start: str, destinations: dict[str, list[str]]) -> list[str] | None:
    """The first cycle through `start` in an alias graph, as a path [start, ..., start], or None.

    `destinations` maps each alias address to its destination addresses (the proposed
    destinations of `start` included); addresses that are not keys are mailboxes or external.
    """
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for target in destinations.get(node, []):
            if target == start:
                return [*path, start]
            if target in destinations and target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None
