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

from .images import RENDITION_WIDTHS, StoredImage, rendition, scaled_height, store_upload

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


# Fields -----------------------------------------------------------------------------------


def url_field(**kwargs):
    return forms.URLField(assume_scheme="https", max_length=2000, **kwargs)


class ItemError(ValidationError):
    """A problem with one part of one item row: shown next to that input, not above the rows."""

    def __init__(self, row: int, part: str, detail: str):
        super().__init__(f"Item {row + 1}: {detail}", code="item")
        self.row, self.part, self.detail = row, part, detail


EMPTY_ROWS_HELP = "Rows left empty are skipped; save to get more empty rows."


def link_lines(text: str) -> list[dict]:
    """``Title | URL | note`` lines (the compact form imports and fixtures use) as item rows."""
    rows = []
    for line in text.splitlines():
        if line.strip():
            title, url, *note = [part.strip() for part in line.split("|")] + [""]
            rows.append({"title": title, "url": url, "note": " | ".join(p for p in note if p)})
    return rows


class ItemRowsWidget(forms.Widget):
    """Item rows, one input per part, named ``<name>-<row>-<part>``; ``<name>-pick`` is the radio.

    Empty rows are rendered server-side so a form works without JavaScript; the editor's script
    adds and removes rows. Each row carries its own error messages (see ``ItemRowsBoundField``).
    """

    template_name = "issues/widgets/item_rows.html"
    ROW_KEY = re.compile(r"-(\d+)-(\w+)$")

    def __init__(self, parts, pick_label="", empty_rows=2, attrs=None):
        super().__init__(attrs)
        self.parts, self.pick_label, self.empty_rows = parts, pick_label, empty_rows

    def value_from_datadict(self, data, files, name):
        if name in data:  # whole items, as imports and fixtures pass them
            return data[name]
        rows: dict[int, dict] = {}
        for key in data:
            match = self.ROW_KEY.match(key[len(name) :]) if key.startswith(name + "-") else None
            if match and match[2] in self.parts:
                rows.setdefault(int(match[1]), {})[match[2]] = data.get(key, "")
        if not rows:
            return None
        pick = data.get(f"{name}-pick")
        return [{**rows[n], "pick": str(n) == pick} for n in sorted(rows)]

    def value_omitted_from_data(self, data, files, name):
        return name not in data and not any(key.startswith(name + "-") for key in data)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = list(value or [])
        while rows and not any(rows[-1].get(key) for key in (*self.parts, "pick", "errors")):
            rows.pop()  # blank rows sent back after an error; fresh ones follow
        rows += [{}] * (self.empty_rows + (1 if not rows else 0))
        id_ = context["widget"]["attrs"].get("id", name)
        context["widget"].update(
            parts=self.parts,
            pick_label=self.pick_label,
            disabled=bool(context["widget"]["attrs"].get("disabled")),
            rows=[
                {
                    "index": n,
                    "pick": bool(row.get("pick")),
                    "cells": [
                        {
                            "name": f"{name}-{n}-{part}",
                            "id": f"{id_}-{n}-{part}",
                            "part": part,
                            "label": label,
                            "value": row.get(part) or "",
                            "errors": row.get("errors", {}).get(part, []),
                        }
                        for part, label in self.parts.items()
                    ],
                }
                for n, row in enumerate(rows)
            ],
        )
        return context

    def id_for_label(self, id_):
        return f"{id_}-0-title" if id_ else id_

    def format_value(self, value):
        return value


class ItemRowsBoundField(forms.BoundField):
    """Errors of one item part go to its row; the field's own list keeps only a summary."""

    def all_errors(self) -> list[ValidationError]:
        return self.form.errors[self.name].data if self.name in self.form.errors else []

    def item_errors(self) -> list[ItemError]:
        return [error for error in self.all_errors() if isinstance(error, ItemError)]

    @property
    def errors(self):
        own = [error for error in self.all_errors() if not isinstance(error, ItemError)]
        if self.item_errors():
            own.append(ValidationError("Correct the items marked below."))
        return self.form.error_class(own, renderer=self.form.renderer)

    def value(self):
        rows = [dict(row) for row in super().value() or []]
        for error in self.item_errors():
            if error.row < len(rows):
                rows[error.row].setdefault("errors", {}).setdefault(error.part, []).append(
                    error.detail
                )
        return rows


class ItemRowsField(forms.Field):
    """Items of a list (title, URL, note), edited one row each; cleans to ``[{title, url, note}]``.

    ``pick_label`` adds a radio to choose one item (a quiz's lie): the chosen item gets
    ``"pick": True`` and needs no URL. Rows left empty are dropped.
    """

    def __init__(self, *, parts=None, pick_label="", **kwargs):
        self.parts = parts or {"title": "Title", "url": "Link", "note": "One-line note"}
        self.pick_label = pick_label
        kwargs.setdefault("widget", ItemRowsWidget(self.parts, pick_label))
        super().__init__(**kwargs)

    def get_bound_field(self, form, field_name):
        return ItemRowsBoundField(form, self, field_name)

    def prepare_value(self, value):
        return link_lines(value) if isinstance(value, str) else value

    def to_python(self, value):
        rows = self.prepare_value(value) or []
        items, errors = [], []
        for n, row in enumerate(rows):
            item = {part: str(row.get(part) or "").strip() for part in ("title", "url", "note")}
            picked = bool(self.pick_label and row.get("pick"))
            if not any(item.values()) and not picked:
                continue
            title, url = (self.parts[part].lower() for part in ("title", "url"))
            if not item["title"]:
                errors.append(ItemError(n, "title", f"Write the {title}."))
            if item["note"] and "note" not in self.parts:
                errors.append(ItemError(n, "title", f"Only a {title} and a {url}, please."))
            if len(item["note"]) > 300:
                errors.append(ItemError(n, "note", "Keep the note to one line (300 characters)."))
            if item["url"] or not picked:
                try:
                    item["url"] = url_field().clean(item["url"])
                except ValidationError:
                    detail = (
                        f"“{item['url']}” is not a web address (https://…)."
                        if item["url"]
                        else f"Add the {url} (https://…)."
                    )
                    errors.append(ItemError(n, "url", detail))
            items.append({**item, "pick": True} if picked else item)
        if errors:
            raise ValidationError(errors)
        return items

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


class CurrentImageInput(forms.ClearableFileInput):
    template_name = "issues/widgets/image_input.html"


class ImageUploadField(forms.FileField):
    """An upload checked and stored by ``issues.images``; cleans to the stored image's dict.

    With no new file the image already stored stays (Django passes it as ``initial``).
    """

    widget = CurrentImageInput

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", CurrentImageInput(attrs={"accept": "image/*"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return StoredImage.from_data(value) if isinstance(value, dict) else value

    def clean(self, data, initial=None):
        initial = StoredImage.from_data(initial) if isinstance(initial, dict) else initial
        value = super().clean(data, initial)
        if value is False or value is None:
            return None
        if isinstance(value, StoredImage):
            return value.as_dict()
        return store_upload(value).as_dict()

    def bound_data(self, data, initial):
        return initial if data in (None, False) else data

    def has_changed(self, initial, data):
        return not self.disabled and data is not None


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
        "height": scaled_height(original.width, original.height, width),
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
