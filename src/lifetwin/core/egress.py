"""Requests LifeTwin makes to addresses someone else chose (webhooks, `lifetwin pull`),
without letting them reach what they should not (server-side request forgery).

The host is resolved once; every address it resolves to must be public — not
loopback, private, link-local (169.254.169.254 among them), multicast, reserved or
unspecified — unless it lies in a network the operator allowed
(``LIFETWIN_ALLOW_NETWORKS``). The request then goes to the address that was checked
(no second lookup that a rebinding DNS could answer differently), with the original
name in the ``Host`` header and the TLS server name, and follows no redirect. Answers
are read up to a size limit. What a caller reports back to a person is at most
"delivered" or "failed (HTTP status)": never why a connection failed, which would let
them map ports.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from lifetwin.core.errors import LifeTwinError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_ANSWER_BYTES = 64 * 1024 * 1024


class EgressError(LifeTwinError):
    """An address LifeTwin will not send to, or a request that failed."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name as given (Host header, TLS server name)
    port: int
    path: str  # path and query
    address: Address  # the checked address the request goes to

    def url(self) -> str:
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{literal}:{self.port}{self.path}"


def forbidden(address: Address) -> bool:
    """Whether an address is one a request must not reach by default.

    >>> forbidden(ipaddress.ip_address("169.254.169.254"))
    True
    >>> forbidden(ipaddress.ip_address("93.184.216.34"))
    False
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return forbidden(address.ipv4_mapped)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_url(
    url: str,
    allowed: Sequence[Network] = (),
    *,
    require_https: bool = True,
    resolve: bool = True,
) -> Target:
    """Parse, resolve and check an address; the :class:`Target` to send to, or raise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise EgressError(f"'{url}' is not a web address.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EgressError(f"'{url}' is not an http(s):// address.")
    if parts.username or parts.password:
        raise EgressError("The address must not carry a user name or password.")
    host = parts.hostname
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None and not resolve:
        raise EgressError(f"'{host}' is not an address.")
    try:
        found = (
            [literal]
            if literal is not None
            else [
                ipaddress.ip_address(str(info[4][0]).split("%")[0])
                for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
            ]
        )
    except (socket.gaierror, UnicodeError, ValueError):
        raise EgressError(f"The host '{host}' cannot be found.") from None
    if not found:
        raise EgressError(f"The host '{host}' cannot be found.")
    for address in found:
        inside = any(address in network for network in allowed)
        if forbidden(address) and not inside:
            raise EgressError(
                f"'{host}' is an address on this machine or a private network, which "
                "LifeTwin does not send to (an operator can allow a network with "
                "LIFETWIN_ALLOW_NETWORKS)."
            )
    address = found[0]
    allowed_plain = any(address in network for network in allowed)
    if require_https and parts.scheme != "https" and not allowed_plain:
        raise EgressError("The address must be https:// (plain http only to allowed networks).")
    default_port = 443 if parts.scheme == "https" else 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or default_port, path, address)


def send(
    target: Target,
    method: str,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    timeout_s: float = 10.0,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> tuple[int, bytes]:
    """Send one request to the checked address; (status, body) — raise EgressError when
    no answer came (the reason is not told to whoever chose the address)."""
    sent = {
        **(headers or {}),
        "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with (
            httpx.Client(follow_redirects=False, timeout=timeout_s, trust_env=False) as client,
            client.stream(
                method,
                target.url(),
                content=content,
                headers=sent,
                params=params,
                extensions=extensions,
            ) as response,
        ):
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise EgressError(
                        f"The answer of {target.host} is larger than {max_bytes:,} bytes."
                    )
            return response.status_code, bytes(body)
    except httpx.HTTPError:
        raise EgressError(f"{target.host} could not be reached.") from None
