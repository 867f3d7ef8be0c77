"""Our DKIM signer (``superfast.dkim``) against an implementation nobody here wrote: every
message it signs verifies with dkimpy, for both keys, whatever its headers and body look
like (folded, tabs and runs of spaces, 8bit, long lines, repeated fields, trailing blank
lines, no final line break, an empty body), and a change to the body or an added From fails.

dkimpy finds the public keys through a stub DNS function: no network.
"""

import dkim
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from superfast.dkim import load_keys, sign
from tests.support.dkim import ed25519_key_file, rsa_key_file


@pytest.fixture(scope="module")
def keys_and_dns(tmp_path_factory):
    """An RSA and an Ed25519 key for example.org, and dkimpy's DNS lookup of both."""
    folder = tmp_path_factory.mktemp("dkim")
    (rsa_path, rsa_public), (ed_path, ed_public) = rsa_key_file(folder), ed25519_key_file(folder)
    keys = load_keys("example.org", "s2026", str(rsa_path), "ed2026", str(ed_path))
    records = {
        b"s2026._domainkey.example.org.": f"v=DKIM1; k=rsa; p={rsa_public}".encode(),
        b"ed2026._domainkey.example.org.": f"v=DKIM1; k=ed25519; p={ed_public}".encode(),
    }

    def dnsfunc(name, timeout=5):
        return records.get(name)

    return keys, dnsfunc


# Text without line breaks or blanks: ASCII, punctuation and 8bit (UTF-8) characters.
WORD = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=80
)
# What may stand between words of a header: runs of spaces and tabs, and folds.
GAP = st.sampled_from([" ", "  ", "\t", " \t ", "\r\n ", "\r\n\t", " \r\n  "])
NAME = st.sampled_from(
    ["To", "to", "TO", "Cc", "Reply-To", "Subject", "SUBJECT", "Date", "Message-ID",
     "MIME-Version", "Content-Type", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
     "Feedback-ID", "Auto-Submitted", "X-Auto-Response-Suppress", "Received", "X-Mailer"]
)  # fmt: skip


@st.composite
def header_field(draw, name=NAME):
    words = draw(st.lists(WORD, max_size=20))
    value = "".join(word + draw(GAP) for word in words[:-1]) + "".join(words[-1:])
    before, after = draw(st.sampled_from(["", " ", "  ", "\t"])), draw(st.sampled_from(["", " \t"]))
    return f"{draw(name)}:{before}{value}{after}".encode()


@st.composite
def message(draw):
    """Exactly one From (RFC 5322 3.6; dkimpy fails a message with more than are signed),
    other fields in any number, a body of any lines."""
    fields = draw(st.lists(header_field(), max_size=12))
    from_ = header_field(st.sampled_from(["From", "from", "FROM"]))
    fields.insert(draw(st.integers(0, len(fields))), draw(from_))
    line = st.text(
        st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"), include_characters="\t"),
        max_size=300,
    )
    lines = draw(st.lists(line | st.sampled_from(["", " ", "\t", "a" * 990]), max_size=12))
    body = "\r\n".join(lines) + draw(st.sampled_from(["", "\r\n", "\r\n\r\n", "\r\n\r\n\r\n"]))
    return b"\r\n".join(fields) + b"\r\n\r\n" + body.encode()


@hypothesis_settings(max_examples=30, deadline=None, database=None)
@given(data=message())
def test_every_message_we_sign_verifies_with_dkimpy_and_a_change_fails(keys_and_dns, data):
    keys, dnsfunc = keys_and_dns
    signed = sign(data, keys) + data
    for index, algorithm in enumerate([b"a=rsa-sha256", b"a=ed25519-sha256"]):
        assert algorithm in signed.split(b"DKIM-Signature:")[index + 1]
        assert dkim.DKIM(signed).verify(idx=index, dnsfunc=dnsfunc), signed[:2000]
    head, body = signed.split(b"\r\n\r\n", 1)
    assert not dkim.verify(head + b"\r\n\r\nchanged" + body, dnsfunc=dnsfunc)
    assert not dkim.verify(head + b"\r\nFrom: mallory@example.net\r\n\r\n" + body, dnsfunc=dnsfunc)
