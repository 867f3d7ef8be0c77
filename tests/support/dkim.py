"""A DKIM key of a test's own: RSA 2048 in a PEM file, and its public key as DNS holds it."""

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def rsa_key_file(folder: Path) -> tuple[Path, str]:
    """A new private key written to ``folder/rsa.pem``, and the base64 public key that a
    ``v=DKIM1; k=rsa; p=…`` record publishes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "rsa.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, base64.b64encode(public).decode()
