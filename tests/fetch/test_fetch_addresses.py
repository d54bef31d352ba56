"""The address policy: is_blocked_address, check_host, and the filtering resolver."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from monitor.errors import BlockedAddressError
from monitor.fetch import PolicyResolver, check_host, check_literal_host, is_blocked_address

BLOCKED = [
    "127.0.0.1",
    "127.1.2.3",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.1.1",  # CGNAT
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::1",  # local-use NAT64
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    # Issue 13.7: IPv4-translated (RFC 2765) forms, whatever address they carry, and 192.0.0.0/24.
    "::ffff:0:7f00:1",  # ::ffff:0:127.0.0.1
    "::ffff:0:127.0.0.1",
    "::ffff:0:a9fe:a9fe",  # ::ffff:0:169.254.169.254
    "::ffff:0:808:808",  # ::ffff:0:8.8.8.8: the whole range, not only its private targets
    "192.0.0.1",
    "192.0.0.9",  # PCP anycast, which Python calls global
    "192.0.0.10",  # TURN anycast, likewise
    "192.0.0.255",
    "not an address",
]
ALLOWED = [
    "93.184.216.34",
    "1.1.1.1",
    "2606:2800:220:1:248:1893:25c8:1946",
    "::ffff:93.184.216.34",
    "64:ff9b::5db8:d822",  # NAT64 of a public address
    "2002:5db8:d822::",  # 6to4 of a public address
]


@pytest.mark.parametrize("ip", BLOCKED)
def test_blocked(ip):
    assert is_blocked_address(ip)


@pytest.mark.parametrize("ip", ALLOWED)
def test_allowed(ip):
    assert not is_blocked_address(ip)


def test_check_literal_host():
    check_literal_host("example.org")  # names are left to the resolver
    check_literal_host("93.184.216.34")
    with pytest.raises(BlockedAddressError) as info:
        check_literal_host("[::1]")
    assert "::1" in str(info.value)


def test_check_host_literal_and_name():
    assert asyncio.run(check_host("93.184.216.34")) == ["93.184.216.34"]
    with pytest.raises(BlockedAddressError):
        asyncio.run(check_host("169.254.169.254"))
    with pytest.raises(BlockedAddressError):
        asyncio.run(check_host("localhost", 80))


class FakeResolver(AbstractResolver):
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=family, proto=0, flags=0)
            for ip in self.answers[host]
        ]

    async def close(self) -> None:
        pass


def test_resolver_filters_blocked_answers():
    resolver = PolicyResolver(inner=FakeResolver({"mixed.example": ["10.0.0.1", "93.184.216.34", "::1"]}))
    answers = asyncio.run(resolver.resolve("mixed.example", 443))
    assert [a["host"] for a in answers] == ["93.184.216.34"]


def test_resolver_raises_when_everything_is_blocked():
    # DNS rebinding: the name now points at the metadata service.
    resolver = PolicyResolver(inner=FakeResolver({"rebind.example": ["169.254.169.254"]}))
    with pytest.raises(BlockedAddressError) as info:
        asyncio.run(resolver.resolve("rebind.example", 80))
    assert "rebind.example" in str(info.value) and "169.254.169.254" in str(info.value)


def test_resolver_with_permissive_policy():
    resolver = PolicyResolver(lambda ip: False, inner=FakeResolver({"internal": ["10.0.0.1"]}))
    assert [a["host"] for a in asyncio.run(resolver.resolve("internal"))] == ["10.0.0.1"]
