"""Address policy: which IP addresses a feed fetch (or a webhook) may connect to.

Checking the *resolved* address at connect time, rather than the URL's host
name up front, is what covers redirects and DNS rebinding: the address that is
checked is the address that is connected to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from monitor.errors import BlockedAddressError

AddressPolicy = Callable[[str], bool]
"""A predicate on an IP address string: True means "do not connect"."""

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's ipaddress (3.11) still calls global (wholly or partly) but that must never be
# reached from a server: shared/CGNAT space, site-local, local-use NAT64, IPv4-translated, IETF protocol.
_EXTRA_BLOCKED_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",  # CGNAT (RFC 6598); cloud providers put internal services here
        "fec0::/10",  # deprecated site-local, still routed internally on some networks
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765, ::ffff:0:a.b.c.d): SIIT's, never a server's own address
        "192.0.0.0/24",  # IETF protocol assignments (RFC 6890); Python calls .9 and .10 (anycast) global
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form tunnels to, if any (mapped, compatible, 6to4, NAT64, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _blocked(ip: _IPAddress) -> bool:
    if ip.is_multicast or not ip.is_global or any(ip in net for net in _EXTRA_BLOCKED_NETS):
        return True
    # Checked after the above so ::/96 itself (:: and ::1) is already refused.
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return _blocked(inner)
    return False


def is_blocked_address(ip: str) -> bool:
    """True if `ip` is loopback, private, link-local, CGNAT, multicast, reserved or a tunnel to one."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 zone id ("fe80::1%eth0")
    except ValueError:
        return True  # not an address we understand: fail closed
    return _blocked(addr)


def _literal_ip(host: str) -> str | None:
    """The host as an IP address string if it is an IP literal (brackets allowed), else None."""
    candidate = host.strip("[]")
    try:
        ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        return None
    return candidate


def check_literal_host(host: str, policy: AddressPolicy = is_blocked_address) -> None:
    """Raise BlockedAddressError if `host` is an IP literal the policy refuses (names pass)."""
    ip = _literal_ip(host)
    if ip is not None and policy(ip):
        raise BlockedAddressError(host, [ip])


async def check_host(
    host: str, port: int = 443, *, policy: AddressPolicy = is_blocked_address
) -> list[str]:
    """Resolve `host` and return its addresses; raise BlockedAddressError if ANY is refused.

    Strict on purpose: a caller such as an httpx-based webhook sender resolves
    again itself, so it cannot pin the address checked here and must not rely
    on a mixed answer. The fetcher uses `PolicyResolver` instead, which
    filters at connect time.
    """
    ip = _literal_ip(host)
    if ip is not None:
        addresses = [ip]
    else:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = sorted({str(info[4][0]) for info in infos})
    blocked = [a for a in addresses if policy(a)]
    if blocked or not addresses:
        raise BlockedAddressError(host, blocked)
    return addresses


class PolicyResolver(AbstractResolver):
    """An aiohttp resolver that drops refused addresses and fails if none is left."""

    def __init__(self, policy: AddressPolicy = is_blocked_address, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve through the wrapped resolver, keeping only allowed addresses."""
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if not self._policy(r["host"])]
        if not allowed:
            raise BlockedAddressError(host, [r["host"] for r in results])
        return allowed

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()
