"""What every block kind shares: the base class with its hooks, the registry, render context.

A kind's content is stored as JSON (``Block.data``) and validated by its fields, so adding a
kind means one class in a family module (registered with ``@register``) and one template
``issues/blocks/<name>.html``: no migration, no admin or renderer change. Templates get the
kind's ``context()`` and ``email`` (True in the email, where markup must suit mail clients).

The hooks a kind overrides, in the order a block meets them: ``fields`` and ``form_values``
(the editor's form), ``clean`` (rules across fields), ``context`` (what the template sees),
``text`` (the plain-text part), ``heading`` (a table-of-contents entry), ``images`` and
``links`` (what the pre-send checks look at). ``validate`` runs the form for any raw input,
the editor's or an importer's.
"""

from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from ..images import RENDITION_WIDTHS, StoredImage, rendition, scaled_height
from ..markers import Markers


@dataclass
class RenderContext:
    """What every block of one render shares: the channel and the anchors handed out."""

    email: bool = False
    web_url: str = ""
    anchors: set = field(default_factory=set)
    brand_color: str = "#1a73e8"
    # Where the email's per-recipient links go (the quiz's votes); none on the web.
    markers: Markers | None = None
    issue_id: int = 0  # the web page's quiz forms post to it (0: an issue not saved yet)
    quizzes: int = 0  # quizzes met so far: a quiz is known by its number in the issue
    # Past the issue's first block: the web page fetches the images from here on only as a
    # reader scrolls near them. An image opening the issue may be the page's largest paint,
    # which a lazy image delays (it waits for layout); emails load as each client does.
    opened: bool = False

    @property
    def lazy_images(self) -> bool:
        return self.opened and not self.email

    def next_quiz(self) -> int:
        """The number (from 1) of the quiz about to render, the same in web and email."""
        self.quizzes += 1
        return self.quizzes

    def anchor(self, title: str, fallback: str = "section") -> str:
        base = slugify(title, allow_unicode=True)[:60] or fallback
        anchor, n = base, 2
        while anchor in self.anchors:
            anchor, n = f"{base}-{n}", n + 1
        self.anchors.add(anchor)
        return anchor


class BlockKind:
    """One kind of block. Subclasses set ``name``, ``label`` and override what differs."""

    name = ""
    label = ""
    help = ""

    @property
    def template(self):
        return f"issues/blocks/{self.name}.html"

    def fields(self) -> dict[str, forms.Field]:
        """Fresh form fields for this kind's content, by data key."""
        return {}

    def form_values(self, data: dict) -> dict:
        """The form's values for stored (or imported) ``data``; ``clean`` is the way back."""
        return data

    def clean(self, data: dict) -> dict:
        """Rules across fields, then the data to store; raise ValidationError (a dict names
        the fields)."""
        return data

    def context(self, data: dict, ctx: RenderContext) -> dict:
        """What the template sees as ``b``: data made safe and ready (URLs, images)."""
        return dict(data)

    def text(self, data: dict, ctx: RenderContext) -> str:
        return ""

    def heading(self, data: dict, prepared: dict) -> dict | None:
        """The table-of-contents entry this block adds, if any."""
        return None

    def images(self, data: dict) -> list[tuple[dict, str]]:
        """(image, alt text) pairs, for the pre-send checks."""
        return []

    def links(self, data: dict) -> list[str]:
        """Every URL in the block, for the pre-send checks."""
        return []

    def validate(self, raw: dict, files=None, *, initial=None) -> dict:
        """Validate raw form input (or imported values) into this kind's data, or raise.

        ``initial`` holds images already stored (by field), kept when no new file comes.
        """
        form = type("KindForm", (forms.Form,), self.fields())(
            data=self.form_values(raw), files=files, initial=initial
        )
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        return self.clean(form.cleaned_data)


KINDS: dict[str, BlockKind] = {}


def register(cls):
    KINDS[cls.name] = cls()
    return cls


def kind_choices():
    return [(kind.name, kind.label) for kind in KINDS.values()]


def get_kind(name: str) -> BlockKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValidationError(f"There is no block kind “{name}”.") from None


def image_context(image: dict | None, ctx: RenderContext, max_width: int = 600) -> dict | None:
    """The rendition to show at ``max_width``: the 1200 px one (retina) scaled down in emails;
    ``lazy`` where the web page fetches it only near the reader (``RenderContext.opened``)."""
    original = StoredImage.from_data(image)
    if not original:
        return None
    small, large = (rendition(original, width) for width in RENDITION_WIDTHS)
    shown = large if ctx.email else small
    width = min(original.width, max_width)
    return {
        "src": shown.absolute_url,
        "srcset": f"{large.absolute_url} 2x" if large.path != small.path else "",
        "width": width,
        "height": scaled_height(original.width, original.height, width),
        "lazy": ctx.lazy_images,
    }


def link_text(title: str, url: str) -> str:
    return f"{title} <{url}>" if url else title
