"""``check_sending_domain``: what a receiver finds in the sending domain's DNS, in plain words
with what to fix; the command prints it and the newsletter's admin page shows it. Every DNS
answer comes from a stub resolver (no network)."""

import pytest
from django.core.management import CommandError, call_command

from superfast import sending_domain
from superfast.sending_domain import check_sending_domain
from tests.support.dkim import rsa_key_file
from tests.support.dns_stub import dns_stub
from tests.support.forms import as_post_data, submitted_fields


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    return rsa_key_file(tmp_path_factory.mktemp("dkim"))


@pytest.fixture
def dkim_settings(settings, key_file):
    settings.DKIM_DOMAIN = "example.org"
    settings.DKIM_SELECTOR = "s2026"
    settings.DKIM_PRIVATE_KEY_FILE = str(key_file[0])
    settings.BOUNCE_DOMAIN = ""
    return key_file[1]


def stub(records):
    """A resolver answering from ``records`` {(name, type): [texts]}; it records questions."""
    asked = []

    def resolve(name, rdtype):
        asked.append((name, rdtype))
        return list(records.get((name, rdtype), []))

    resolve.asked = asked
    return resolve


def good_dns(public_key):
    return {
        ("example.org", "TXT"): ["v=spf1 include:_spf.relay.example.net ~all", "other=x"],
        ("s2026._domainkey.example.org", "TXT"): [f"v=DKIM1; k=rsa; p={public_key}"],
        ("_dmarc.example.org", "TXT"): ["v=DMARC1; p=quarantine; rua=mailto:d@example.org"],
        ("example.org", "MX"): ["10 mx.example.org."],
    }


def by_topic(findings):
    return {finding.topic: finding for finding in findings}


def test_a_domain_with_aligned_spf_dkim_dmarc_and_mx_passes_everything(dkim_settings):
    findings = check_sending_domain("example.org", resolve=stub(good_dns(dkim_settings)))
    assert [(f.topic, f.ok) for f in findings] == [
        ("SPF", True),
        ("DKIM", True),
        ("DMARC", True),
        ("Bounces", True),
    ]
    assert "matching DKIM_PRIVATE_KEY_FILE" in by_topic(findings)["DKIM"].found
    assert "through DKIM and SPF aligned" in by_topic(findings)["DMARC"].found


def test_an_empty_domain_gets_a_fix_for_each_check(dkim_settings):
    findings = by_topic(check_sending_domain("example.org", resolve=stub({})))
    assert not any(f.ok for f in findings.values())
    assert 'at example.org: "v=spf1 include:' in findings["SPF"].fix
    assert "s2026._domainkey.example.org" in findings["DKIM"].fix
    assert "_dmarc.example.org" in findings["DMARC"].fix and "p=none" in findings["DMARC"].fix
    assert "MX records for example.org" in findings["Bounces"].fix


def test_a_key_other_than_ours_two_spf_records_and_plus_all_are_named(dkim_settings):
    dns = good_dns("AAAAotherkey")
    dns[("example.org", "TXT")] = ["v=spf1 a ~all", "v=spf1 mx ~all"]
    findings = by_topic(check_sending_domain("example.org", resolve=stub(dns)))
    assert "not the one DKIM_PRIVATE_KEY_FILE signs with" in findings["DKIM"].found
    assert "2 SPF records" in findings["SPF"].found
    dns[("example.org", "TXT")] = ["v=spf1 +all"]
    assert "+all" in check_sending_domain("example.org", resolve=stub(dns))[0].found


def test_dmarc_fails_when_neither_signature_nor_bounce_domain_aligns(dkim_settings, settings):
    """Signed for the ESP's domain and bounced through it: both pass, neither is ours."""
    settings.DKIM_DOMAIN = "esp.example.net"
    settings.BOUNCE_DOMAIN = "bounces.esp.example.net"
    dns = good_dns(dkim_settings)
    dns[("s2026._domainkey.esp.example.net", "TXT")] = [f"p={dkim_settings}"]
    dns[("bounces.esp.example.net", "TXT")] = ["v=spf1 include:esp.example.net -all"]
    dns[("bounces.esp.example.net", "MX")] = ["10 mx.esp.example.net."]
    resolve = stub(dns)
    findings = by_topic(check_sending_domain("example.org", resolve=resolve))
    assert findings["SPF"].ok and findings["DKIM"].ok and findings["Bounces"].ok
    assert not findings["DMARC"].ok
    assert "neither DKIM" in findings["DMARC"].found
    assert ("bounces.esp.example.net", "MX") in resolve.asked  # MX of the bounce domain
    # A bounce domain under the From domain aligns in relaxed mode, not in strict.
    settings.BOUNCE_DOMAIN = "bounces.example.org"
    dns[("bounces.example.org", "TXT")] = ["v=spf1 include:esp.example.net -all"]
    dns[("bounces.example.org", "MX")] = ["10 mx.esp.example.net."]
    assert by_topic(check_sending_domain("example.org", resolve=stub(dns)))["DMARC"].ok
    dns[("_dmarc.example.org", "TXT")] = ["v=DMARC1; p=reject; aspf=s"]
    assert not by_topic(check_sending_domain("example.org", resolve=stub(dns)))["DMARC"].ok


def test_the_command_prints_each_finding_and_exits_non_zero_when_something_needs_fixing(
    dkim_settings, monkeypatch, capsys
):
    dns = good_dns(dkim_settings)
    monkeypatch.setattr(sending_domain, "dnspython_resolve", stub(dns))
    call_command("check_sending_domain", "example.org")
    out = capsys.readouterr().out
    assert out.count("OK  ") == 4 and "example.org is ready to send." in out

    del dns[("_dmarc.example.org", "TXT")]
    with pytest.raises(CommandError, match="1 of 4 checks need fixing for example.org"):
        call_command("check_sending_domain", "example.org")
    assert "FIX DMARC: example.org has no DMARC record" in capsys.readouterr().out


def test_the_command_refuses_a_domain_mail_cannot_come_from_and_prints_the_dkim_record(
    dkim_settings, capsys
):
    with pytest.raises(CommandError, match="localhost"):
        call_command("check_sending_domain", "localhost")
    call_command("check_sending_domain", "--print-dkim-record")
    assert capsys.readouterr().out.strip() == f"v=DKIM1; k=rsa; p={dkim_settings}"


def test_the_newsletter_page_shows_the_same_findings_on_demand(
    admin_client, newsletter, dkim_settings, monkeypatch
):
    resolve = stub(good_dns(dkim_settings))
    monkeypatch.setattr(sending_domain, "dnspython_resolve", resolve)
    url = f"/admin/issues/newsletter/{newsletter.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "?check_sending_domain=1" in page
    assert not resolve.asked  # an ordinary visit waits on no DNS

    checked = admin_client.get(url + "?check_sending_domain=1").content.decode()
    assert "What receivers find for example.org" in checked
    for finding in check_sending_domain("example.org", resolve=resolve):
        assert f"{finding.topic}:</strong> {finding.found}".replace('"', "&quot;") in checked


def test_production_refuses_a_newsletter_sender_on_localhost_or_an_ip(admin_client, settings):
    settings.DEBUG = False
    page = admin_client.get("/admin/issues/newsletter/add/").content.decode()
    data = as_post_data(submitted_fields(page, "newsletter_form"))
    data |= {"name": "Field Notes", "slug": "field-notes", "from_name": "Field Notes"}
    # (Django's own validation refuses a bare host name or an IP without brackets.)
    for address in ("notes@localhost", "notes@[192.0.2.1]"):
        refused = admin_client.post(
            "/admin/issues/newsletter/add/", {**data, "from_email": address}
        )
        assert refused.status_code == 200
        assert f"The domain of {address}" in refused.content.decode()
    data |= {"from_email": "notes@example.org", "postal_address": "PO Box 7, Leeds"}
    assert admin_client.post("/admin/issues/newsletter/add/", data).status_code == 302


def test_dnspython_asks_a_real_dns_server_and_reads_its_answers(dkim_settings, capsys):
    """The command as shipped, through dnspython's resolver, against a DNS server on
    loopback: TXT strings joined, MX read, a missing name is "none"."""
    long_key = f'"v=DKIM1; k=rsa; p={dkim_settings[:200]}" "{dkim_settings[200:]}"'
    records = {
        ("example.org", "TXT"): ['"v=spf1 include:_spf.relay.example.net ~all"'],
        ("s2026._domainkey.example.org", "TXT"): [long_key],
        ("example.org", "MX"): ["10 mx.example.org."],
    }
    with dns_stub(records), pytest.raises(CommandError, match="1 of 4"):
        call_command("check_sending_domain", "example.org")
    out = capsys.readouterr().out
    assert "OK  SPF" in out and "OK  DKIM" in out and "OK  Bounces" in out
    assert "FIX DMARC: example.org has no DMARC record" in out
