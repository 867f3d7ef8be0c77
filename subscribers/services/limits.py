"""Rate limits on subscribing, counted in the shared cache (Redis in production).

Production refuses to start on a per-process cache (``superfast.checks``): with one, every
limit would be multiplied by the number of web processes.
"""

import hashlib
import ipaddress
import time

from django.conf import settings
from django.core.cache import cache

from .addresses import mailbox_identity

# An IPv6 end site gets a whole /64 (RFC 6177): its addresses are one client.
IPV6_CLIENT_PREFIX = 64


class RateLimited(Exception):
    """Too many requests from one IP or for one address; the message says when to retry."""


def hit_rate_limit(*, scope: str, identity: str, limit: int, window_seconds: int) -> None:
    """Count one request in a fixed window in the shared cache; raise past ``limit``."""
    if limit <= 0:
        return
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(identity.lower().encode()).hexdigest()[:32]
    key = f"subscribers:rate:{scope}:{digest}:{window}"
    cache.add(key, 0, timeout=window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        count = 1
    if count > limit:
        raise RateLimited(
            "Too many subscription requests. Please wait a while and try again "
            "(check your inbox first: the confirmation may already be there)."
        )


def client_bucket(ip: str | None) -> str | None:
    """The client an address stands for: itself for IPv4, its /64 for IPv6."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def check_subscribe_limits(*, email: str, ip: str | None) -> None:
    """Per client and per mailbox, so nobody can flood a stranger's inbox with confirmations.

    Counted for every attempt, known address or not, so a 429 reveals nothing either.
    ``ip`` is None only for callers without a client (commands, the preferences page of a
    token holder); web requests of unknown origin are refused first (``require_client``).
    """
    bucket = client_bucket(ip)
    if bucket is not None:
        hit_rate_limit(
            scope="ip",
            identity=bucket,
            limit=settings.SUBSCRIBE_LIMIT_PER_IP_PER_HOUR,
            window_seconds=3600,
        )
    hit_rate_limit(
        scope="email",
        identity=mailbox_identity(email),
        limit=settings.SUBSCRIBE_LIMIT_PER_ADDRESS_PER_DAY,
        window_seconds=86400,
    )


def require_client(ip: str | None) -> None:
    """Refuse a public request whose client address is unknown (a unix socket, no proxy).

    No per-client limit could hold for it, and every such request would share one bucket
    with the whole world or none at all.
    """
    if client_bucket(ip) is None:
        raise RateLimited(
            "We cannot tell where this request comes from, so we cannot accept it. "
            "Please try again later."
        )
