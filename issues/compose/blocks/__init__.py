"""Block kinds: a base with documented hooks (``base``), the one sanitizer (``sanitizer``) and
one module per family of kinds. Importing the package registers every kind, in the order the
editor offers them.
"""

from importlib import import_module

from .base import KINDS, BlockKind, RenderContext, get_kind, kind_choices, register
from .sanitizer import markdown_html, safe_url

__all__ = [
    "KINDS",
    "BlockKind",
    "RenderContext",
    "get_kind",
    "kind_choices",
    "markdown_html",
    "register",
    "safe_url",
]

# The editor offers the kinds in registration order: the families in this order.
FAMILIES = ("text", "links", "media", "quiz", "accents")
for family in FAMILIES:
    import_module(f"{__name__}.{family}")
