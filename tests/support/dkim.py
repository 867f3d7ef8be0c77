"""DKIM keys of a test's own, in PEM files, and their public keys as DNS holds them."""

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def rsa_key_file(folder: Path) -> tuple[Path, str]:
    """A new RSA 2048 private key written to ``folder/rsa.pem``, and the base64 public key
    that a ``v=DKIM1; k=rsa; p=…`` record publishes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return written(key, folder / "rsa.pem"), base64.b64encode(public).decode()


def ed25519_key_file(folder: Path) -> tuple[Path, str]:
    """A new Ed25519 private key written to ``folder/ed25519.pem``, and the base64 public key
    that a ``v=DKIM1; k=ed25519; p=…`` record publishes (the raw 32 bytes, RFC 8463)."""
    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return written(key, folder / "ed25519.pem"), base64.b64encode(public).decode()


def written(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path
