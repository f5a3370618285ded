"""The caller's IP address, trusting X-Forwarded-For only from configured proxies."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _in_networks(ip: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


def client_ip(request: HttpRequest) -> str:
    """The socket peer, or — when the peer is a trusted proxy — the last untrusted hop of XFF."""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    trusted = settings.VAULTSTUDIO_TRUSTED_PROXIES
    if not trusted or not _in_networks(peer, trusted):
        return peer
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in_networks(hop, trusted):
            return hop
    return peer


def ip_allowed(ip: str, allowlist: list[str]) -> bool:
    """True when the allowlist is empty (no restriction) or ip is inside one of its CIDRs."""
    if not allowlist:
        return True
    return _in_networks(ip, allowlist)
