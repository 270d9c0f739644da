"""Addresses the server posts to must be public (services/outbound.py)."""

import pytest

from peerlearn.services import outbound


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.0.0.5", False),
        ("169.254.169.254", False),  # the cloud metadata service
        ("::1", False),
        ("::ffff:127.0.0.1", False),  # loopback behind an IPv4-mapped IPv6 address
        ("::ffff:8.8.8.8", True),
        ("224.0.0.1", False),
    ],
)
def test_only_public_unicast_addresses_are_public(address, public):
    assert outbound.is_public(address) is public


def test_a_name_resolves_to_its_addresses_and_an_unknown_one_to_none():
    assert "127.0.0.1" in outbound.addresses("127.0.0.1", 443)
    assert outbound.addresses("no-such-host.invalid", 443) is None
