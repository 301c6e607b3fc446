"""Where a server-side request may go: the address policy behind the server's remote probes.

A server that sends a request to any URL its users name works as a scanner of its own network
(server-side request forgery): ``lookup?url=http://10.0.0.5:6379/`` tells whoever asks that a Redis
answers there, and ``http://169.254.169.254/`` reaches the cloud's metadata service, which hands out
the machine's credentials. So the server resolves every name itself, refuses any address that is not
globally routable (loopback, private, link-local, shared, multicast, unspecified, documentation...)
and connects to *the address it checked*: a name that answers a public address to the check and
``127.0.0.1`` to the connection (DNS rebinding) gains nothing, because the name is never resolved
twice. Each redirect is a new connection and goes through the same check.

An admin may allow given networks (``c.DDASExtension.lookup_probe_allow_networks`` for the
extension's probes, ``c.DDASService.fetch_allow_networks`` for the JupyterHub service's downloads),
e.g. an institutional mirror on 10.1.2.0/24; cloud metadata endpoints stay refused even then.

The policy is plain Python (``ipaddress``, ``socket``) and plugs into ``requests`` as a transport
adapter (:func:`guarded_adapter`, :func:`guarded_session`), so the code that sends the probe or the
download is the same as for a notebook.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ddas.errors import DDASError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Cloud instance-metadata services (AWS, GCP, Azure, OpenStack, Alibaba, AWS ECS, AWS IPv6).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
#: Names of metadata services, refused before any DNS lookup (they resolve only inside a cloud).
METADATA_NAMES: frozenset[str] = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
#: The extension's allow-list, named in its probes' refusals.
PROBE_SETTING = "c.DDASExtension.lookup_probe_allow_networks"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class BlockedAddressError(DDASError, ValueError):
    """The server refused to contact a host: its address is internal or a metadata service.

    Not an ``OSError`` on purpose: urllib3 retries and re-wraps ``OSError`` from a connection into a
    generic "cannot connect", which would hide that the server *refused* (and why).
    """


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped ``::ffff:a.b.c.d``, compatible ``::a.b.c.d``,
    NAT64 ``64:ff9b::a.b.c.d``, 6to4 ``2002:AABB:CCDD::``, Teredo), which is where it really goes."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _why_internal(ip: IPAddress) -> str | None:
    """A short reason ``ip`` is not a public internet address, or ``None`` if it is one."""
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata service"
    for test, reason in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "the unspecified address"),
        ("is_private", "a private-network address"),
    ):
        if getattr(ip, test):
            return reason
    if not ip.is_global:
        return "not a public internet address"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a server-side request may connect to.

    ``allow``: networks the admin opened (an internal mirror, the test suite's loopback servers).
    Metadata services are refused whatever ``allow`` says. ``setting``: the traitlet that opens a
    network, named in every refusal so that the admin knows what to change.
    """

    allow: tuple[IPNetwork, ...] = field(default=())
    setting: str = PROBE_SETTING

    @classmethod
    def from_strings(cls, networks: Iterable[str], setting: str = PROBE_SETTING) -> AddressPolicy:
        """Parse ``["10.1.2.0/24", "::1"]``; a bad entry raises ``ValueError`` naming it."""
        parsed = []
        for text in networks:
            try:
                parsed.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"not an IP network: {text!r} ({exc})") from None
        return cls(tuple(parsed), setting)

    def refusal(self, ip: IPAddress) -> str | None:
        """Why a connection to ``ip`` is refused, or ``None`` when it is allowed."""
        target = embedded_ipv4(ip) or ip  # an IPv6 form of an IPv4 address goes there
        if target in METADATA_ADDRESSES:
            return "a cloud metadata service"
        if any(target in net for net in self.allow if target.version == net.version):
            return None
        return _why_internal(target)

    def check_host(self, host: str) -> None:
        """Refuse metadata *names* before resolving them (they only resolve inside a cloud)."""
        name = host.strip("[]").rstrip(".").lower()
        if name in METADATA_NAMES:
            raise BlockedAddressError(
                f"the server does not contact {name}: it is a cloud metadata service"
            )

    def resolve(self, host: str, port: int) -> list[tuple[Any, ...]]:
        """``getaddrinfo`` results for ``host`` whose every address passes the policy.

        All addresses must pass, not just one: a name that also resolves to an internal address
        is treated as pointing inside (the connection could otherwise land on either).
        """
        self.check_host(host)
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        for *_, sockaddr in infos:
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            reason = self.refusal(ip)
            if reason:
                raise BlockedAddressError(
                    f"the server does not contact {host}: it resolves to {reason} ({ip}); an "
                    f"admin may allow that network with {self.setting}"
                )
        return infos


def _guarded_pools(policy: AddressPolicy) -> dict[str, type]:
    """urllib3 connection pools whose connections resolve through ``policy`` (one class per
    policy: urllib3 builds connections from a class, so the policy travels as a class attribute)."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import NewConnectionError
    from urllib3.util.connection import create_connection

    def _new_conn(self: Any) -> socket.socket:
        """Connect to an address the policy checked, never to a second resolution of the name."""
        failure: OSError | None = None
        for *_, sockaddr in policy.resolve(self._dns_host, self.port):
            try:
                return create_connection(
                    (sockaddr[0], sockaddr[1]),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:  # try the name's next checked address
                failure = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {failure}")

    http = type("GuardedHTTPConnection", (HTTPConnection,), {"_new_conn": _new_conn})
    https = type("GuardedHTTPSConnection", (HTTPSConnection,), {"_new_conn": _new_conn})
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


def guarded_adapter(
    policy: AddressPolicy, timeout: tuple[float, float] | None = None, **adapter_kwargs: Any
) -> Any:
    """A ``requests`` ``HTTPAdapter`` (``adapter_kwargs``: its ``max_retries``…) whose every
    connection, a redirect's included, goes only where ``policy`` allows; ``timeout``, when given,
    bounds every request whatever its caller asks."""
    from requests.adapters import HTTPAdapter

    pools = _guarded_pools(policy)

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            if timeout is not None:
                kwargs["timeout"] = timeout
            return super().send(request, *args, **kwargs)

    return GuardedAdapter(**adapter_kwargs)


def guarded_session(policy: AddressPolicy, timeout: tuple[float, float] = (5.0, 20.0)) -> Any:
    """A ``requests.Session`` that connects only where ``policy`` allows, redirects included,
    and never waits longer than ``timeout`` (connect, read) whatever its caller asks.

    Environment proxies are ignored (``trust_env = False``): through a proxy, the proxy resolves
    the name and the check above would be checking the proxy.
    """
    import requests

    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = "ddas (dataset download deduplication)"
    adapter = guarded_adapter(policy, timeout)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
