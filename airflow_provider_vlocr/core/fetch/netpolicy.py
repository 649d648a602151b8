"""Which network addresses a URL taken from untrusted data may reach (SSRF rules), decided before connecting.

A host is resolved once; every address it resolves to must be public, or allowed by the user's allow-list.
Embedded IPv4 addresses (IPv4-mapped/compatible IPv6, NAT64, 6to4, Teredo) are judged by the IPv4 address they
carry, and every spelling the resolver accepts (``2130706433``, ``0x7f.1``, ``0177.0.0.1`` …) is judged by the
address it resolves to. Link-local (the cloud metadata range), unspecified and multicast addresses are allowed
only by an allow-list entry naming that exact address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConfigurationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
INTRANET_SUFFIXES = (".local", ".internal", ".lan", ".intranet", ".corp", ".home.arpa", ".localhost")


class HostRefused(Exception):
    """The host may not be contacted; ``reason`` says why (and how to allow it)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(reason)
        self.host = host
        self.reason = reason


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = address.packed
    if any(address in net for net in NAT64_NETWORKS):
        return ipaddress.IPv4Address(packed[-4:])
    if packed[:12] == bytes(12) and int(address) > 1:  # deprecated IPv4-compatible ::a.b.c.d (not :: or ::1)
        return ipaddress.IPv4Address(packed[-4:])
    return None


def address_class(address: IPAddress) -> str | None:
    """``None`` for a public unicast address, else the kind of non-public address (for messages)."""
    inner = embedded_ipv4(address)
    if inner is not None:
        kind = address_class(inner)
        return None if kind is None else f"{kind} (embedded in {address})"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (cloud metadata range)"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in SHARED_ADDRESS_SPACE:
        return "shared (carrier-grade NAT)"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def needs_exact_entry(address: IPAddress) -> bool:
    """Link-local, unspecified and multicast addresses are allowed only by an entry naming that address."""
    target = embedded_ipv4(address) or address
    return target.is_link_local or target.is_unspecified or target.is_multicast


def parse_literal(host: str) -> IPAddress | None:
    """``host`` as an IP address in any spelling the resolver accepts (decimal, octal, hex, short forms)."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def normalise_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class HostAllowList:
    """The user's ``download_allowed_hosts``: names (``intranet.example``, ``*.corp.example``), addresses
    (any spelling) and networks (``10.0.0.0/8``)."""

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    addresses: frozenset[IPAddress] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str] | str | None, argument: str = "download_allowed_hosts") -> HostAllowList:
        if entries is None:
            return cls()
        if isinstance(entries, str):
            entries = [e for e in entries.replace(",", " ").split() if e]
        names: set[str] = set()
        suffixes: list[str] = []
        addresses: set[IPAddress] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            if not isinstance(raw, str) or not raw.strip():
                raise ConfigurationError(f"{argument}: every entry must be a non-empty string, got {raw!r}")
            entry = normalise_host(raw)
            literal = parse_literal(entry)
            if literal is not None:
                addresses.add(literal)
            elif "/" in entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ConfigurationError(f"{argument}: {raw!r} is not a valid network") from None
            elif entry == "*" or (entry.startswith("*") and not entry.startswith("*.")):
                raise ConfigurationError(
                    f"{argument}: {raw!r} is not accepted; public hosts are always allowed, name each private "
                    "host, address or network (or '*.suffix')"
                )
            elif entry.startswith("*."):
                suffixes.append(entry[1:])
            else:
                names.add(entry)
        return cls(frozenset(names), tuple(suffixes), frozenset(addresses), tuple(networks))

    def names_host(self, host: str) -> bool:
        host = normalise_host(host)
        return host in self.names or any(host.endswith(s) for s in self.suffixes)

    def allows(self, host: str, address: IPAddress) -> bool:
        """Whether a non-public ``address`` that ``host`` resolved to is allowed."""
        if address in self.addresses:
            return True
        if needs_exact_entry(address):
            return False
        return self.names_host(host) or any(address in net for net in self.networks if net.version == address.version)

    def hint(self, host: str, address: IPAddress) -> str:
        entry = str(address) if needs_exact_entry(address) or parse_literal(host) else normalise_host(host)
        return f"add {entry!r} to download_allowed_hosts to allow it"


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (one lookup; literals in any spelling need none)."""
    literal = parse_literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(normalise_host(host), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostRefused(host, f"host {host!r} cannot be resolved ({exc.__class__.__name__})") from None
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise HostRefused(host, f"host {host!r} resolves to no address")
    return found


def vet_host(host: str, port: int, allow: HostAllowList) -> list[IPAddress]:
    """Resolve ``host`` and return its addresses if all may be contacted; else raise :class:`HostRefused`."""
    if not host:
        raise HostRefused(host, "the URL has no host")
    addresses = resolve(host, port)
    for address in addresses:
        kind = address_class(address)
        if kind is not None and not allow.allows(host, address):
            raise HostRefused(host, f"host {host!r} is {kind} address {address}; {allow.hint(host, address)}")
    return addresses


def is_intranet_host(host: str) -> bool:
    """Whether a URL's host is private: an intranet-looking name, or a name/address that is not public.

    Used by ``url_mode="auto"`` to decide who fetches a URL: Huawei cannot reach private hosts. A public-looking
    name that does not resolve here is left to Huawei.
    """
    name = normalise_host(host)
    if not name or name == "localhost" or name.endswith(INTRANET_SUFFIXES):
        return True
    literal = parse_literal(name)
    if literal is None and "." not in name:
        return True
    try:
        addresses = [literal] if literal is not None else resolve(name, 443)
    except HostRefused:
        return False
    return any(address_class(a) is not None for a in addresses)
