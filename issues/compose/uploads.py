"""Uploads that survive a form coming back with errors: the editor never chooses a file twice.

A file input cannot be refilled by a server, so an image is stored as soon as its field is
valid (``issues.compose.images.store_upload``) and the form carries a signed reference to the stored
image in a hidden input. Posted back without a new file, the reference stands for the
upload. The signature means only images this site stored and checked can come back this way:
a forged or edited reference is ignored.
"""

from django.core import signing

from .images import StoredImage

SALT = "issues.compose.uploads.kept-image"


def kept_name(name: str) -> str:
    """The hidden input beside the file input ``name``."""
    return f"{name}-kept"


def keep(image: StoredImage) -> str:
    """The hidden input's value: the same for the same image, so a form reads the same."""
    return signing.Signer(salt=SALT).sign_object(image.as_dict(), compress=True)


def kept(token: str | None) -> StoredImage | None:
    """The stored image a hidden input refers to, or None for anything not signed here."""
    if not token:
        return None
    try:
        return StoredImage.from_data(signing.Signer(salt=SALT).unsign_object(token))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
