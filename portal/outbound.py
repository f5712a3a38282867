"""Requests to URLs that users set (CI and monitoring servers, chat webhooks): an SSRF guard.

A user who may add a CI source chooses where the portal's workers connect. Without a guard
that reaches the cloud metadata service (``169.254.169.254``), the database, Redis or any
other internal port. So, unless ``settings.OUTBOUND_ALLOW_PRIVATE_HOSTS`` is on (the embedded
``make run`` default; ``FLIGHTDECK_ALLOW_PRIVATE_CI_HOSTS`` in production), an address that is
not public (private, loopback, link-local, multicast, reserved, unspecified, shared, IPv4
inside IPv6) is refused, except inside ``settings.OUTBOUND_ALLOWED_NETWORKS``.

It is checked twice:

- at save (``url_problem``): the URL is http(s) and its host's addresses are allowed; a name
  that does not resolve yet is accepted, the connection decides later;
- at connection (``guarded_session``): every connection resolves the host once, checks each
  address and connects to that checked address itself. The address checked is the address
  connected to, so a DNS answer that changes after the save (rebinding) or between check and
  connect gains nothing, and every redirect hop is a new connection checked the same way.
  TLS still verifies the certificate for the URL's host name: only the socket is pinned.

Behind an outbound proxy (``HTTPS_PROXY``) the proxy connects, not us: the host is then
resolved and checked before the request is handed over (best effort; the proxy's own egress
rules are the stronger control).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOWED_SCHEMES = frozenset({"http", "https"})
SETTING_HINT = (
    "set FLIGHTDECK_ALLOW_PRIVATE_CI_HOSTS=true or add its network to "
    "FLIGHTDECK_OUTBOUND_ALLOWED_NETWORKS to allow it (docs/security.md)"
)
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: carries an IPv4 address
# Checked in this order; the first that applies names the refusal.
NON_PUBLIC_KINDS = [
    ("is_unspecified", "an unspecified"),
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_private", "a private"),
    ("is_reserved", "a reserved"),
]


class OutboundRefused(requests.ConnectionError):
    """A connection the guard refused before it was made. Not worth retrying: the address
    stays refused until the settings change."""


class _AddressRefused(Exception):
    # Deliberately not an OSError: urllib3 would wrap an OSError into a retryable "connection
    # aborted"; this one passes through it untouched to ``GuardedAdapter.send``.
    pass


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (::ffff:a.b.c.d, 6to4, NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _allowed_network(address: IPAddress) -> bool:
    return any(
        address.version == network.version and address in network
        for network in settings.OUTBOUND_ALLOWED_NETWORKS
    )


def _refusal(address: IPAddress) -> str | None:
    """What kind of refused address ``address`` is ("a loopback address"), or None."""
    candidates = [*filter(None, [_embedded_ipv4(address)]), address]  # the IPv4 names it best
    if any(_allowed_network(candidate) for candidate in candidates):
        return None
    for candidate in candidates:
        for flag, kind in NON_PUBLIC_KINDS:
            if getattr(candidate, flag):
                return f"{kind} address"
        if not candidate.is_global:  # shared (100.64/10), documentation, benchmarking ranges
            return "not a public address"
    return None


def address_problem(address: str) -> str | None:
    """Why connecting to ``address`` is refused under the current settings, or None."""
    if settings.OUTBOUND_ALLOW_PRIVATE_HOSTS:
        return None
    refusal = _refusal(ipaddress.ip_address(address.split("%", 1)[0]))  # drop an IPv6 zone id
    return f"{address} is {refusal}" if refusal else None


def resolve(host: str, port: int | None = None) -> list[str]:
    """Every address ``host`` resolves to, as the connection would see them (so
    ``2130706433``, ``0x7f000001`` and ``127.1`` are 127.0.0.1). Raises ``socket.gaierror``."""
    infos = socket.getaddrinfo(host.strip("[]"), port or 0, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def host_problem(host: str, port: int | None = None) -> str | None:
    """Why ``host`` is refused (one of its addresses is), or None. Unresolvable: None."""
    if settings.OUTBOUND_ALLOW_PRIVATE_HOSTS:
        return None
    try:
        addresses = resolve(host, port)
    except (socket.gaierror, UnicodeError):
        return None
    for address in addresses:
        problem = address_problem(address)
        if problem is not None:
            if host.strip("[]") == address:
                return problem
            return f"{host} resolves to {problem.replace(' is ', ', which is ', 1)}"
    return None


def url_problem(url: str) -> str | None:
    """Why the portal must not send requests to ``url`` (checked when it is saved), or None."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
        return "Use an http:// or https:// URL."
    try:
        port = parts.port
    except ValueError:
        return "The port is not a number between 0 and 65535."
    problem = host_problem(parts.hostname, port)
    if problem is not None:
        return f"Refused: {problem}. Outbound requests must go to public addresses; {SETTING_HINT}."
    return None


# --- the connection-level check ---------------------------------------------------------------


class _GuardedConnectionMixin:
    """Resolve once, check every address, connect to a checked address (never re-resolve)."""

    def _new_conn(self):
        host = self._dns_host
        try:
            addresses = resolve(host, self.port)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        for address in addresses:
            problem = address_problem(address)
            if problem is not None:
                raise _AddressRefused(f"refused to connect to {self.host}: {problem}")
        last_error: Exception | None = None
        for address in addresses:  # e.g. ::1 then 127.0.0.1, as create_connection would try
            self._dns_host = address
            try:
                return super()._new_conn()
            except NewConnectionError as error:
                last_error = error
            finally:
                self._dns_host = host
        raise last_error


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """requests' adapter whose direct connections go through the address check."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }

    def send(self, request, *args, proxies=None, **kwargs):
        parts = urlsplit(request.url)
        if proxies and select_proxy(request.url, proxies):
            problem = host_problem(parts.hostname or "", parts.port)
            if problem is not None:
                raise OutboundRefused(
                    f"refused to connect to {parts.hostname}: {problem}", request=request
                )
        try:
            return super().send(request, *args, proxies=proxies, **kwargs)
        except _AddressRefused as error:
            raise OutboundRefused(f"{error}; {SETTING_HINT}", request=request) from None


def guard(session: requests.Session) -> requests.Session:
    """Mount the guarded adapter on ``session`` for http and https; returns it."""
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def guarded_session() -> requests.Session:
    """A ``requests.Session`` for user-set URLs: every connection passes the address check."""
    return guard(requests.Session())
