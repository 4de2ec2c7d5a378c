from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from policies.networks import MAX_NETWORKS, parse_networks


def messages_of(text):
    with pytest.raises(ValidationError) as info:
        parse_networks(text)
    return info.value.messages


def test_ipv4_networks_one_per_line():
    assert parse_networks("10.0.0.0/8\n192.0.2.0/24\n") == ["10.0.0.0/8", "192.0.2.0/24"]


def test_comma_separated_with_spaces():
    assert parse_networks("10.0.0.0/8, 192.0.2.0/24 ,172.16.0.0/12") == [
        "10.0.0.0/8",
        "192.0.2.0/24",
        "172.16.0.0/12",
    ]


def test_bare_address_becomes_one_host_network():
    assert parse_networks("192.0.2.10") == ["192.0.2.10/32"]
    assert parse_networks("2001:db8::1") == ["2001:db8::1/128"]


def test_ipv6_is_normalised_to_lower_case_compressed_form():
    assert parse_networks("2001:DB8:0:0::/32") == ["2001:db8::/32"]


def test_mixed_ipv4_and_ipv6():
    assert parse_networks(["10.1.0.0/16", "fd00::/8"]) == ["10.1.0.0/16", "fd00::/8"]


def test_host_bits_set_suggests_the_network():
    assert messages_of("10.0.0.5/8") == ["10.0.0.5/8 has host bits set; did you mean 10.0.0.0/8?"]


def test_ipv6_host_bits_set_suggests_the_network():
    assert messages_of("2001:db8::1/32") == [
        "2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?"
    ]


def test_garbage_is_named_in_the_message():
    assert messages_of("office-lan") == [
        "“office-lan” is not an IPv4 or IPv6 network. Write an address like 192.0.2.10 or a "
        "network like 10.0.0.0/8 or 2001:db8::/32."
    ]


def test_every_bad_entry_gets_its_own_message():
    messages = messages_of("10.0.0.0/8\n300.1.1.1\n10.0.0.5/8\n10.0.0.0/33")
    assert len(messages) == 3
    assert messages[0].startswith("“300.1.1.1” is not an IPv4 or IPv6 network.")
    assert messages[1] == "10.0.0.5/8 has host bits set; did you mean 10.0.0.0/8?"
    assert messages[2].startswith("“10.0.0.0/33” is not")


def test_duplicates_are_dropped_after_normalisation_first_kept():
    assert parse_networks("10.0.0.0/8\n2001:db8::/32\n10.0.0.0/8, 2001:DB8::/32") == [
        "10.0.0.0/8",
        "2001:db8::/32",
    ]


@pytest.mark.parametrize("text", ["", "   \n , \n", []])
def test_empty_means_any_network(text):
    assert parse_networks(text) == []


def test_count_is_limited():
    text = "\n".join(f"10.0.{i}.0/24" for i in range(MAX_NETWORKS + 1))
    assert messages_of(text) == [
        f"{MAX_NETWORKS + 1} networks are too many; at most {MAX_NETWORKS} are allowed. "
        "Combine them into wider networks."
    ]


def test_limit_counts_distinct_networks():
    text = "\n".join(["10.0.0.0/24"] * (MAX_NETWORKS + 5))
    assert parse_networks(text) == ["10.0.0.0/24"]
