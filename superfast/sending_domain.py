"""What a sending domain's DNS says to a receiving mail server, in plain words with fixes.

Gmail, Yahoo and Microsoft take bulk mail only from a domain with SPF, DKIM and a DMARC
policy that one of them passes *aligned* with the From domain, and bounces need somewhere to
go. ``check_sending_domain`` asks the DNS (dnspython) what a receiver would ask and says what
to publish; ``manage.py check_sending_domain`` prints it and the newsletter's admin page
shows it. ``resolve`` is any function that answers a DNS question: tests pass a stub.
"""

import base64
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from django.conf import settings

from .dkim import KeyProblem, signing_keys

# (name, record type) -> the records' texts (TXT strings joined, MX as "preference host");
# [] when the name has none; raises DnsUnavailable when the DNS cannot be asked.
Resolve = Callable[[str, str], list[str]]
DNS_LIFETIME_SECONDS = 4.0


class DnsUnavailable(Exception):
    """The DNS gave no answer (timeout, no server): nothing can be said about the domain."""


@dataclass(frozen=True)
class Finding:
    """One thing a receiver checks: whether it passes, what we found, and what to do."""

    topic: str  # SPF, DKIM, DMARC, Bounces
    ok: bool
    found: str
    fix: str = ""

    def __str__(self) -> str:
        mark = "OK  " if self.ok else "FIX "
        return f"{mark}{self.topic}: {self.found}" + (f"\n     Fix: {self.fix}" if self.fix else "")


def dnspython_resolve(name: str, rdtype: str) -> list[str]:
    # Imported when a domain is checked, not by every process that loads the admin.
    import dns.exception
    import dns.resolver

    try:
        resolver = dns.resolver.get_default_resolver()
        answer = resolver.resolve(name, rdtype, lifetime=DNS_LIFETIME_SECONDS)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as error:
        raise DnsUnavailable(f"{type(error).__name__}: {error}") from error
    if rdtype == "TXT":
        return [b"".join(record.strings).decode(errors="replace") for record in answer]
    return [record.to_text() for record in answer]


def aligned(domain: str, other: str, strict: bool) -> bool:
    """DMARC identifier alignment (RFC 7489 3.1): the same domain, or in relaxed mode one
    within the other's organizational domain (approximated as: one ends with the other)."""
    domain, other = domain.lower().rstrip("."), other.lower().rstrip(".")
    if strict or domain == other:
        return domain == other
    return domain.endswith("." + other) or other.endswith("." + domain)


def tags(record: str) -> dict[str, str]:
    pairs = (part.split("=", 1) for part in record.split(";") if "=" in part)
    return {key.strip().lower(): value.strip() for key, value in pairs}


def check_sending_domain(
    domain: str,
    *,
    resolve: Resolve | None = None,
    selector: str | None = None,
    dkim_domain: str | None = None,
    bounce_domain: str | None = None,
) -> list[Finding]:
    """SPF (of the bounce domain, which receivers check), DKIM for the configured selector,
    DMARC and how SPF and DKIM align with ``domain`` (the From domain), and MX of the bounce
    domain. The configured settings fill in what is not given."""
    resolve = resolve or dnspython_resolve
    domain = domain.lower().strip().rstrip(".")
    selector = selector if selector is not None else settings.DKIM_SELECTOR
    dkim_domain = (dkim_domain or settings.DKIM_DOMAIN or domain).lower()
    bounce_domain = (bounce_domain or settings.BOUNCE_DOMAIN or domain).lower()
    try:
        spf = check_spf(bounce_domain, resolve)
        dkim = check_dkim(dkim_domain, selector, resolve)
        dmarc = check_dmarc(domain, dkim_domain, bounce_domain, spf.ok, dkim.ok, resolve)
        mx = check_bounces(bounce_domain, resolve)
    except DnsUnavailable as error:
        return [
            Finding(
                "DNS",
                False,
                f"the DNS could not be asked about {domain} ({error})",
                "Check this machine's network and resolver, then try again.",
            )
        ]
    return [spf, dkim, dmarc, mx]


def check_spf(bounce_domain: str, resolve: Resolve) -> Finding:
    records = [r for r in resolve(bounce_domain, "TXT") if r.lower().startswith("v=spf1")]
    publish = (
        f'Publish one TXT record at {bounce_domain}: "v=spf1 include:<your relay or ESP> ~all" '
        "(your ESP's documentation names the include)."
    )
    if not records:
        return Finding(
            "SPF",
            False,
            f"{bounce_domain} has no SPF record, so receivers cannot tell which servers may "
            "send its mail.",
            publish,
        )
    if len(records) > 1:
        return Finding(
            "SPF",
            False,
            f"{bounce_domain} has {len(records)} SPF records; receivers treat that as an "
            "error and ignore them all.",
            "Merge them into one TXT record.",
        )
    if records[0].split()[-1] in {"+all", "all"}:
        return Finding(
            "SPF",
            False,
            f'{bounce_domain}\'s SPF record ends in "+all": it lets every server on the '
            "internet send as you.",
            'End it with "~all" or "-all".',
        )
    return Finding("SPF", True, f'{bounce_domain} publishes "{records[0]}".')


def check_dkim(dkim_domain: str, selector: str, resolve: Resolve) -> Finding:
    if not selector:
        return Finding(
            "DKIM",
            False,
            "no DKIM selector is configured, so Superfast does not sign mail (your relay or "
            "ESP may sign it for its own domain, which DMARC does not count for yours).",
            "Set DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE (docs/delivery.md), or "
            "have your ESP sign with your domain.",
        )
    name = f"{selector}._domainkey.{dkim_domain}"
    records = [r for r in resolve(name, "TXT") if "p=" in r]
    public_key = published_key_of_this_site()
    keygen = "python manage.py check_sending_domain --print-dkim-record"
    if not records:
        return Finding(
            "DKIM",
            False,
            f"{name} has no DKIM key, so receivers cannot check the signatures.",
            f"Publish the public key as a TXT record at {name} ({keygen} prints it).",
        )
    published = tags(records[0]).get("p", "").replace(" ", "")
    if not published:
        return Finding(
            "DKIM",
            False,
            f"the key at {name} is revoked (empty p=).",
            f"Publish the current public key there ({keygen} prints it).",
        )
    if public_key and published != public_key:
        return Finding(
            "DKIM",
            False,
            f"the key at {name} is not the one DKIM_PRIVATE_KEY_FILE signs with: every "
            "signature would fail.",
            f"Publish this site's public key there ({keygen} prints it).",
        )
    return Finding(
        "DKIM",
        True,
        f"{name} publishes a key" + (" matching DKIM_PRIVATE_KEY_FILE." if public_key else "."),
    )


def check_dmarc(
    domain: str,
    dkim_domain: str,
    bounce_domain: str,
    spf_ok: bool,
    dkim_ok: bool,
    resolve: Resolve,
) -> Finding:
    records = [r for r in resolve(f"_dmarc.{domain}", "TXT") if r.upper().startswith("V=DMARC1")]
    if not records:
        return Finding(
            "DMARC",
            False,
            f"{domain} has no DMARC record; Gmail and Yahoo require one from bulk senders.",
            f'Publish a TXT record at _dmarc.{domain}: "v=DMARC1; p=none; '
            f'rua=mailto:dmarc@{domain}" (then p=quarantine once reports look right).',
        )
    policy = tags(records[0])
    dkim_aligned = dkim_ok and aligned(dkim_domain, domain, policy.get("adkim") == "s")
    spf_aligned = spf_ok and aligned(bounce_domain, domain, policy.get("aspf") == "s")
    if not (dkim_aligned or spf_aligned):
        return Finding(
            "DMARC",
            False,
            f"{domain} has a DMARC policy (p={policy.get('p', 'none')}), but neither DKIM "
            f"(signed for {dkim_domain}) nor SPF (checked for {bounce_domain}) passes aligned "
            f"with the From domain {domain}, so DMARC fails.",
            f"Sign with DKIM_DOMAIN={domain} and publish its key, or send with a bounce "
            f"domain within {domain}.",
        )
    through = " and ".join(
        name for name, ok in (("DKIM", dkim_aligned), ("SPF", spf_aligned)) if ok
    )
    return Finding(
        "DMARC",
        True,
        f"{domain} has a DMARC policy (p={policy.get('p', 'none')}) that passes through "
        f"{through} aligned with the From domain.",
    )


def check_bounces(bounce_domain: str, resolve: Resolve) -> Finding:
    if not resolve(bounce_domain, "MX"):
        return Finding(
            "Bounces",
            False,
            f"{bounce_domain} has no MX record: bounces to the Return-Path address are lost, "
            "and some receivers refuse mail whose envelope domain takes none.",
            f"Add MX records for {bounce_domain} (your ESP's return-path domain, or "
            "BOUNCE_DOMAIN set to one that has them).",
        )
    return Finding("Bounces", True, f"{bounce_domain} takes mail (MX), so bounces come back.")


def published_key_of_this_site() -> str:
    """The base64 public key (p=) of the configured RSA signing key; "" when none."""
    try:
        keys = signing_keys()
    except KeyProblem:
        return ""
    if not keys:
        return ""
    public = (
        keys[0]
        .key.public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(public).decode()


def dkim_record() -> str:
    """The TXT record to publish for the configured RSA key."""
    key = published_key_of_this_site()
    return f"v=DKIM1; k=rsa; p={key}" if key else ""
