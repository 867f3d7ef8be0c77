"""The block kinds: each one class with its form fields, validation, template and plain text.

A kind's content is stored as JSON (``Block.data``) and validated by its fields, so adding a
kind means one class here (registered with ``@register``) and one template
``issues/blocks/<name>.html``: no migration, no admin or renderer change. Templates get the
kind's ``context()`` and ``email`` (True in the email, where markup must suit mail clients).
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import markdown
import nh3
from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from ..images import RENDITION_WIDTHS, StoredImage, rendition
from .fields import EMPTY_ROWS_HELP, ImageUploadField, ItemRowsField, link_lines, url_field

SAFE_SCHEMES = {"http", "https", "mailto"}
MARKDOWN_EXTENSIONS = ["sane_lists", "tables", "fenced_code", "smarty"]
ALLOWED_TAGS = {
    "p", "br", "hr", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s", "del", "sub",
    "sup", "a", "ul", "ol", "li", "blockquote", "code", "pre", "table", "thead", "tbody", "tr",
    "th", "td", "img", "abbr", "mark", "small",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}


def safe_url(url: str) -> str:
    """``url`` if it is http(s) or mailto, else empty: nothing else reaches an href."""
    url = (url or "").strip()
    scheme = urlsplit(url).scheme.lower() if url else ""
    return url if scheme in SAFE_SCHEMES else ""


def markdown_html(source: str) -> str:
    """Markdown to HTML, then sanitized: raw HTML in the source is allowed only if harmless."""
    html = markdown.markdown(source or "", extensions=MARKDOWN_EXTENSIONS, output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=SAFE_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


MARKDOWN_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")


def markdown_text(source: str) -> str:
    """Markdown as plain text: it reads well already; links become ``title <url>``."""

    def link(match):
        bang, title, url = match.groups()
        if bang:
            return f"[{title}]" if title else ""
        return f"{title} <{url}>" if title and title != url else f"<{url}>"

    return MARKDOWN_LINK.sub(link, source or "").strip()


# Kinds ------------------------------------------------------------------------------------


@dataclass
class RenderContext:
    """What every block of one render shares: the channel and the anchors handed out."""

    email: bool = False
    web_url: str = ""
    anchors: set = field(default_factory=set)
    brand_color: str = "#1a73e8"

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

    def validate(self, raw: dict, files=None) -> dict:
        """Validate raw form input (or imported values) into this kind's data, or raise."""
        form = type("KindForm", (forms.Form,), self.fields())(
            data=self.form_values(raw), files=files
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


def image_context(image: dict | None, email: bool, max_width: int = 600) -> dict | None:
    """The rendition to show at ``max_width``: the 1200 px one (retina) scaled down in emails."""
    original = StoredImage.from_data(image)
    if not original:
        return None
    small, large = (rendition(original, width) for width in RENDITION_WIDTHS)
    shown = large if email else small
    width = min(original.width, max_width)
    return {
        "src": shown.absolute_url,
        "srcset": f"{large.absolute_url} 2x" if large.path != small.path else "",
        "width": width,
        "height": round(original.height * width / original.width),
    }


def link_text(title: str, url: str) -> str:
    return f"{title} <{url}>" if url else title


@register
class Heading(BlockKind):
    name, label = "heading", "Section heading"
    help = "Starts a section; it becomes an anchor and a line in the table of contents."

    def fields(self):
        return {
            "title": forms.CharField(max_length=200),
            "emoji": forms.CharField(max_length=16, required=False, help_text="Optional, e.g. 📰"),
        }

    def context(self, data, ctx):
        return {**data, "anchor": ctx.anchor(data["title"])}

    def text(self, data, ctx):
        line = f"{data.get('emoji', '')} {data['title']}".strip()
        return f"{line}\n{'=' * len(line)}"

    def heading(self, data, prepared):
        return {"id": prepared["anchor"], "title": data["title"]}


@register
class MarkdownText(BlockKind):
    name, label = "markdown", "Text (Markdown)"

    def fields(self):
        return {
            "body": forms.CharField(
                widget=forms.Textarea(attrs={"rows": 10, "class": "vLargeTextField"}),
                help_text="Markdown: **bold**, _italic_, [link](https://…), lists, ### headings.",
            )
        }

    def context(self, data, ctx):
        return {"html": markdown_html(data["body"])}

    def text(self, data, ctx):
        return markdown_text(data["body"])

    def links(self, data):
        return [url for bang, _, url in MARKDOWN_LINK.findall(data["body"]) if not bang]


@register
class LinkList(BlockKind):
    name, label = "link_list", "Link list"
    help = "News, papers, resources: a title, its link and a one-line note for each."

    def fields(self):
        return {"items": ItemRowsField(help_text=EMPTY_ROWS_HELP)}

    def context(self, data, ctx):
        return {"items": [{**item, "url": safe_url(item["url"])} for item in data["items"]]}

    def text(self, data, ctx):
        return "\n".join(
            f"- {link_text(i['title'], i['url'])}" + (f"\n  {i['note']}" if i.get("note") else "")
            for i in data["items"]
        )

    def links(self, data):
        return [item["url"] for item in data["items"]]


@register
class ImageBlock(BlockKind):
    name, label = "image", "Image"

    def fields(self):
        return {
            "image": ImageUploadField(help_text="JPEG, PNG, GIF or WebP."),
            "alt": forms.CharField(
                max_length=300,
                help_text="What the image shows, for screen readers and inboxes that block images.",
            ),
            "caption": forms.CharField(max_length=300, required=False),
            "credit": forms.CharField(max_length=200, required=False),
            "link": url_field(required=False),
        }

    def context(self, data, ctx):
        return {
            **data,
            "img": image_context(data.get("image"), ctx.email),
            "link": safe_url(data.get("link", "")),
        }

    def text(self, data, ctx):
        parts = [f"[Image: {data.get('alt', '')}]"]
        if data.get("caption"):
            parts.append(data["caption"])
        if data.get("credit"):
            parts.append(f"Credit: {data['credit']}")
        if data.get("link"):
            parts.append(f"<{data['link']}>")
        return "\n".join(parts)

    def images(self, data):
        return [(data.get("image"), data.get("alt", ""))]

    def links(self, data):
        return [data["link"]] if data.get("link") else []


@register
class HeadlineQuiz(BlockKind):
    name, label = "quiz", "Headline quiz"
    help = "“3 headlines and a lie”: readers guess which headline is made up."

    def fields(self):
        return {
            "title": forms.CharField(max_length=200, initial="3 headlines and a lie"),
            "headlines": ItemRowsField(
                parts={"title": "Headline", "url": "Source link"},
                pick_label="The lie",
                help_text="Mark the made-up headline as the lie; it needs no link. "
                + EMPTY_ROWS_HELP,
            ),
            "reveal": forms.CharField(
                widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
                help_text="Shown after the guess: why it was the lie.",
            ),
        }

    def form_values(self, data):
        """Stored data names the lie by number (``fake``); the form marks its row."""
        headlines = data.get("headlines") or []
        headlines = link_lines(headlines) if isinstance(headlines, str) else headlines
        try:
            fake = int(data.get("fake") or 0)
        except (TypeError, ValueError):
            fake = 0
        marked = [{**h, "pick": h.get("pick") or n == fake} for n, h in enumerate(headlines, 1)]
        return {**data, "headlines": marked}

    def clean(self, data):
        headlines = data["headlines"]
        if len(headlines) < 2:
            raise ValidationError({"headlines": "A quiz needs at least two headlines."})
        lies = [n for n, h in enumerate(headlines, start=1) if h.get("pick")]
        if not lies:
            raise ValidationError({"headlines": "Mark which headline is the lie."})
        if len(lies) > 1:
            raise ValidationError({"headlines": "Only one headline can be the lie."})
        items = [{k: v for k, v in h.items() if k != "pick"} for h in headlines]
        return {**data, "headlines": items, "fake": lies[0]}

    def context(self, data, ctx):
        return {
            **data,
            "anchor": ctx.anchor(data["title"], "quiz"),
            "headlines": [{**h, "url": safe_url(h["url"])} for h in data["headlines"]],
            "lie": data["headlines"][data["fake"] - 1]["title"],
            "web_url": ctx.web_url,
        }

    def text(self, data, ctx):
        questions = "\n".join(f"{n}. {h['title']}" for n, h in enumerate(data["headlines"], 1))
        sources = "\n".join(
            f"{n}. {link_text(h['title'], h['url'])}"
            for n, h in enumerate(data["headlines"], 1)
            if n != data["fake"]
        )
        gap = "\n".join(["", "Spoiler below.", *["."] * 8, ""])
        return (
            f"{data['title']}\n\n{questions}\n{gap}\n"
            f"The lie: number {data['fake']}. {data['reveal']}\n\nThe real ones:\n{sources}"
        )

    def links(self, data):
        return [h["url"] for h in data["headlines"] if h["url"]]


@register
class Callout(BlockKind):
    name, label = "callout", "Callout or quote"

    def fields(self):
        return {
            "style": forms.ChoiceField(choices=[("note", "Callout"), ("quote", "Quote")]),
            "text": forms.CharField(
                widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
                help_text="Markdown allowed.",
            ),
            "attribution": forms.CharField(max_length=200, required=False),
        }

    def context(self, data, ctx):
        return {**data, "html": markdown_html(data["text"])}

    def text(self, data, ctx):
        lines = [f"> {line}" for line in markdown_text(data["text"]).splitlines()]
        if data.get("attribution"):
            lines.append(f"> — {data['attribution']}")
        return "\n".join(lines)

    def links(self, data):
        return MarkdownText().links({"body": data["text"]})


@register
class Button(BlockKind):
    name, label = "button", "Button"

    def fields(self):
        return {"label": forms.CharField(max_length=80), "url": url_field()}

    def context(self, data, ctx):
        return {**data, "url": safe_url(data["url"]), "color": ctx.brand_color}

    def text(self, data, ctx):
        return f"{data['label']}: <{data['url']}>"

    def links(self, data):
        return [data["url"]]


@register
class Sponsor(BlockKind):
    name, label = "sponsor", "Sponsor"

    def fields(self):
        return {
            "name": forms.CharField(max_length=200),
            "logo": ImageUploadField(required=False),
            "text": forms.CharField(
                widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
                help_text="Markdown allowed.",
            ),
            "url": url_field(),
            "label": forms.CharField(max_length=40, initial="Sponsored"),
        }

    def context(self, data, ctx):
        return {
            **data,
            "html": markdown_html(data["text"]),
            "url": safe_url(data["url"]),
            "logo": image_context(data.get("logo"), ctx.email, max_width=160),
        }

    def text(self, data, ctx):
        return (
            f"{data.get('label') or 'Sponsored'}: {data['name']}\n"
            f"{markdown_text(data['text'])}\n<{data['url']}>"
        )

    def images(self, data):
        return [(data["logo"], data["name"])] if data.get("logo") else []

    def links(self, data):
        return [data["url"], *MarkdownText().links({"body": data["text"]})]


@register
class Divider(BlockKind):
    name, label = "divider", "Divider"

    def text(self, data, ctx):
        return "* * *"
