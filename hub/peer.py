"""The address a request came from, seen through the reverse proxies the hub trusts.

Behind nginx or Caddy every request arrives from the proxy; only a proxy listed in
`web.trusted_proxies` may say who the client was (its `X-Forwarded-For`). A header from
anyone else is ignored, so a client cannot claim a terminal's pinned address by sending one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressError(ValueError):
    pass


def parse_networks(text: str | Iterable[str]) -> list[Network]:
    """`10.0.0.5, 10.1.0.0/16` -> networks; a clear error names the bad entry."""
    items = [p.strip() for p in (text.split(",") if isinstance(text, str) else text)]
    out: list[Network] = []
    for item in items:
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise AddressError(f"alamat/CIDR tidak sah / not an address or CIDR: {item!r}") from exc
    return out


@lru_cache(maxsize=256)
def networks_of(text: str) -> tuple[Network, ...]:
    """`parse_networks` of a setting or a stored list, parsed once per distinct text (it is
    read on every terminal request)."""
    return tuple(parse_networks(text))


def within(addr: str | None, networks: Iterable[Network]) -> bool:
    if not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in networks)


def client_address(peer: str | None, headers: Mapping[str, str], trusted: Iterable[Network]) -> str | None:
    """The client's address: the socket peer, or, when the peer is a trusted proxy, the
    last address in X-Forwarded-For that is not itself a trusted proxy."""
    trusted = list(trusted)
    if not peer or not trusted or not within(peer, trusted):
        return peer
    hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not within(hop, trusted):
            return hop
    return peer
