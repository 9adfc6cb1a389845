"""The address a request came from: the peer's, or X-Forwarded-For's when a trusted proxy sent it.

The header is anyone's to write, so it is believed only from the proxies named in
QISU_TRUSTED_PROXIES, and only as far back as the chain stays within them: walking from the
peer leftwards, the first address that is not a trusted proxy is the client.
"""

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network


def parse_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    """Addresses and CIDR networks (10.0.0.0/8); ValueError names the entry that is neither."""
    networks = []
    for entry in entries:
        try:
            networks.append(ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is no IP address or network") from None
    return tuple(networks)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str:
    """The client's address: the peer's unless the peer is a trusted proxy passing the header."""
    networks = parse_networks(trusted)
    here = peer or "unknown"
    if not forwarded_for or not _trusted(here, networks):
        return here
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            ip_address(hop)
        except ValueError:
            return here  # a trusted proxy passed on a malformed hop: stop at the proxy itself
        here = hop
        if not _trusted(hop, networks):
            return hop
    return here  # every hop is one of the proxies: the leftmost is as far as can be known
