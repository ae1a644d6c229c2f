"""The connection gate's arithmetic: who counts as one client, and when a cap refuses."""

from __future__ import annotations

import pytest

from hubstead.config import ConnectionSettings
from hubstead.connections import ConnectionGate


def gate(per_client: int = 2, total: int = 100, exempt: tuple[str, ...] = ()) -> ConnectionGate:
    return ConnectionGate(ConnectionSettings(per_client=per_client, exempt=list(exempt)), total)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # an IPv4 client on a dual-stack socket is the same client
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # one host's /64 is one client
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        (None, ""),  # a Unix socket's peer
    ],
)
def test_clients_are_counted_by_address_and_ipv6_by_network(host: str | None, key: str) -> None:
    assert gate().client_key(host) == key


def test_a_client_past_its_cap_is_refused_and_others_are_not() -> None:
    g = gate(per_client=2)
    assert g.enter("192.0.2.7") == "192.0.2.7"
    assert g.enter("192.0.2.7") == "192.0.2.7"
    assert g.enter("192.0.2.7") is None
    assert g.enter("2001:db8:1:2::1") is not None
    assert g.enter("2001:db8:1:2::2") is not None
    assert g.enter("2001:db8:1:2::3") is None  # another address of the same /64
    assert g.enter("192.0.2.8") == "192.0.2.8"
    g.leave("192.0.2.7")
    assert g.enter("192.0.2.7") == "192.0.2.7"  # a closed connection frees its place
    assert g.count == 5


def test_exempt_addresses_count_only_towards_the_total() -> None:
    g = gate(per_client=1, total=3, exempt=("10.0.0.0/8",))
    assert [g.enter("10.1.2.3") for _ in range(3)] == ["", "", ""]
    assert g.enter("10.1.2.3") is None  # the total still applies
    g.leave("")
    assert g.enter("192.0.2.7") == "192.0.2.7"
    assert g.open == {"192.0.2.7": 1}


def test_an_exempt_entry_must_be_an_address_or_network() -> None:
    with pytest.raises(ValueError, match="not-an-address"):
        ConnectionSettings(exempt=["not-an-address"])
