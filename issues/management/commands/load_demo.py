"""The demo: a weekly AI digest with one sent issue and one draft, every block kind in use.

Safe to run again: what exists already is left as it is.
"""

import io
import math

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from issues.compose.blocks import get_kind
from issues.delivery.snapshot import freeze_snapshot
from issues.models import Block, Issue, LibraryBlock, Newsletter
from subscribers.imports import import_csv

NEWSLETTER = {
    "slug": "weekly-gradient",
    "name": "The Weekly Gradient",
    "description": "A calm, weekly walk through what moved in machine learning.",
    "from_name": "The Weekly Gradient",
    "from_email": "hello@weekly-gradient.example",
    "reply_to": "editors@weekly-gradient.example",
    "footer_text": (
        "You get this because you subscribed to The Weekly Gradient. "
        "One email a week, never shared."
    ),
    "brand_color": "#5b3cc4",
}

SIGN_OFF = (
    "Thanks for reading, and see you next week. If something here was useful, forward it "
    "to one curious friend. Replies land in a real inbox: tell us what to cover next.\n\n"
    "— Ada & Len, *The Weekly Gradient*"
)


DEMO_READERS = [
    ("ada@example.org", "Ada"),
    ("len@example.org", "Len"),
    ("grace@example.com", "Grace"),
    ("alan@example.com", "Alan"),
    ("katherine@example.org", "Katherine"),
]


def png(draw_picture, size) -> SimpleUploadedFile:
    image = Image.new("RGB", size, "#fbf8f1")
    draw_picture(ImageDraw.Draw(image), size)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return SimpleUploadedFile("demo.png", out.getvalue(), content_type="image/png")


def hype_meter(draw, size):
    """A gauge whose needle points past "maximum hype": the fun section's picture."""
    width, height = size
    cx, cy, radius = width // 2, int(height * 0.85), int(height * 0.7)
    colours = ["#4caf7a", "#9ccc65", "#ffca28", "#ff8f00", "#e53935"]
    for i, colour in enumerate(colours):
        start = 180 + i * 36
        draw.pieslice(
            [cx - radius, cy - radius, cx + radius, cy + radius], start, start + 36, fill=colour
        )
    draw.pieslice(
        [cx - radius // 2, cy - radius // 2, cx + radius // 2, cy + radius // 2],
        180,
        360,
        fill="#fbf8f1",
    )
    angle = math.radians(365)  # past the end of the scale
    tip = (cx + int(radius * 1.05 * math.cos(angle)), cy + int(radius * 1.05 * math.sin(angle)))
    draw.line([(cx, cy), tip], fill="#222222", width=max(4, width // 150))
    draw.ellipse([cx - 14, cy - 14, cx + 14, cy + 14], fill="#222222")
    font = ImageFont.load_default(size=height // 12)
    draw.text((width * 0.06, height * 0.88), "calm", fill="#333333", font=font)
    draw.text((width * 0.84, height * 0.88), "HYPE", fill="#b71c1c", font=font)
    draw.text((cx, height * 0.06), "HYPE-O-METER", fill="#222222", font=font, anchor="mt")


def sponsor_logo(draw, size):
    width, height = size
    draw.rounded_rectangle([4, 4, width - 4, height - 4], radius=18, fill="#12355b")
    draw.ellipse([18, 18, height - 18, height - 18], fill="#f6c445")
    font = ImageFont.load_default(size=height // 3)
    draw.text((height + 4, height // 2), "TENSORCUP", fill="#ffffff", font=font, anchor="lm")


def block(kind, raw, files=None):
    return kind, get_kind(kind).validate(raw, files)


def sent_issue_blocks(sign_off):
    return [
        block(
            "markdown",
            {
                "body": "Hello again! This week the big labs shipped smaller models, a robot "
                "learned to fold towels slower than a toddler, and we finally read the long "
                "paper everyone keeps quoting. Grab a coffee ☕ — it is a short one."
            },
        ),
        block("heading", {"title": "News", "emoji": "📰"}),
        block(
            "link_list",
            {
                "items": "Small models, big week | https://example.com/news/small-models "
                "| Three releases under ten billion parameters beat last year's giants.\n"
                "Open weights, open questions | https://example.com/news/open-weights "
                "| A plain-language look at what the new licences allow.\n"
                "Chips are the new oil | https://example.com/news/chips "
                "| Why everyone is suddenly building their own accelerators."
            },
        ),
        block("heading", {"title": "Papers", "emoji": "📄"}),
        block(
            "link_list",
            {
                "items": "Scaling laws, revisited | https://example.org/papers/scaling "
                "| Less data, better filtered, wins again.\n"
                "Why models forget | https://example.org/papers/forgetting "
                "| Fine-tuning erases old skills less when you replay a little old data.\n"
                "Reasoning in small steps | https://example.org/papers/steps "
                "| Asking for the working improves answers; checking it improves them more."
            },
        ),
        block(
            "quiz",
            {
                "title": "3 headlines and a lie",
                "intro": "Three of these happened this week. Spot the one we made up.",
                "headlines": "A model learned to play chess from commentary alone "
                "| https://example.com/quiz/chess\n"
                "A city ran its bus timetable through a language model for a week\n"
                "Researchers taught a robot arm to sort laundry by colour "
                "| https://example.com/quiz/laundry\n"
                "A weather model now predicts rain ten days out | https://example.com/quiz/rain",
                "fake": 2,
                "reveal": "**Number 2 is the lie.** No city has handed its timetable to a "
                "chatbot (yet). The other three happened, more or less as written.",
            },
        ),
        block("heading", {"title": "Explainer: what is distillation?", "emoji": "🧪"}),
        block(
            "markdown",
            {
                "body": "Distillation trains a small *student* model to imitate a big "
                "*teacher*. The student does not see only the right answers: it sees how "
                "confident the teacher was in every possible answer, which carries far more "
                "information per example.\n\n"
                "### Why it works\n\n"
                "A teacher that says “probably a cat, maybe a fox” teaches the student that "
                "cats and foxes look alike. A bare label would not.\n\n"
                "### What the results say\n\n"
                "- Students keep most of the teacher's accuracy at a fraction of the size.\n"
                "- They are much cheaper to run, which is why phones can do it.\n"
                "- They inherit the teacher's blind spots, too.\n"
            },
        ),
        block(
            "callout",
            {
                "style": "quote",
                "text": "A student who copies the teacher's doubts learns more than one who "
                "copies the teacher's answers.",
                "attribution": "an old teaching proverb, loosely applied",
            },
        ),
        block("heading", {"title": "Resources", "emoji": "🧰"}),
        block(
            "link_list",
            {
                "items": "A gentle course on transformers | https://example.net/course "
                "| Six short videos, no maths beyond school level.\n"
                "Notebook: distil your own model | https://example.net/notebook "
                "| Runs on a laptop in about twenty minutes."
            },
        ),
        block(
            "sponsor",
            {
                "name": "TensorCup",
                "text": "Coffee roasted for long training runs. Readers get **15% off** the "
                "first bag.",
                "url": "https://example.com/tensorcup",
                "label": "Sponsored",
            },
            {"logo": png(sponsor_logo, (320, 96))},
        ),
        block("heading", {"title": "Just for fun", "emoji": "🎢"}),
        block(
            "image",
            {
                "alt": "A gauge labelled from calm to hype, its needle pushed past the red end.",
                "caption": "Our hype-o-meter after this week's launch events.",
                "credit": "Drawn by The Weekly Gradient",
                "link": "https://example.com/hype",
            },
            {"image": png(hype_meter, (1200, 640))},
        ),
        block(
            "button",
            {"label": "Read the full archive", "url": "https://example.com/archive"},
        ),
        block("divider", {}),
        (Block.LIBRARY, sign_off),
    ]


def draft_issue_blocks(sign_off):
    return [
        block("markdown", {"body": "A draft in progress: next week's intro goes here."}),
        # In a real week the editor fills this in one click from last week's votes.
        block(
            "quiz_result",
            {
                "title": "Last week's quiz",
                "headlines": "A model learned to play chess from commentary alone "
                "| https://example.com/quiz/chess | 1 reader (20%)\n"
                "A city ran its bus timetable through a language model for a week "
                "| | 3 readers (60%)\n"
                "Researchers taught a robot arm to sort laundry by colour "
                "| https://example.com/quiz/laundry | 1 reader (20%)\n"
                "A weather model now predicts rain ten days out "
                "| https://example.com/quiz/rain | 0 readers (0%)",
                "fake": 2,
                "summary": "3 of 5 readers spotted the lie.",
            },
        ),
        block("heading", {"title": "News", "emoji": "📰"}),
        block(
            "link_list",
            {"items": "A placeholder story | https://example.com/next | To be written."},
        ),
        block(
            "callout",
            {"style": "note", "text": "**Editors:** remember to add the quiz before Friday."},
        ),
        block("divider", {}),
        (Block.LIBRARY, sign_off),
    ]


class Command(BaseCommand):
    help = "Load the demo newsletter: one sent issue and one draft. Safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        newsletter, created = Newsletter.objects.get_or_create(
            slug=NEWSLETTER["slug"], defaults=NEWSLETTER
        )
        self.stdout.write(f"{'Created' if created else 'Found'} newsletter {newsletter}.")
        sign_off, _ = LibraryBlock.objects.get_or_create(
            name="Sign-off",
            defaults={
                "kind": "markdown",
                "data": get_kind("markdown").validate({"body": SIGN_OFF}),
            },
        )
        sent = self.issue(
            newsletter,
            "Small models, big week",
            "Distillation explained, a quiz, and a hype-o-meter",
            sent_issue_blocks,
            sign_off,
        )
        if sent.status != Issue.Status.SENT:
            sent.status = Issue.Status.SENT
            sent.published_at = timezone.now()
            sent.save()
            freeze_snapshot(sent)
            self.stdout.write(f"Marked {sent} as sent and froze its snapshot.")
        elif settings.SITE_URL + "/" not in sent.snapshot.email_html:
            # Demo content only: its links and images follow the demo to another address
            # (`PORT=8080 make demo` after a run on 8000). Real sent issues stay frozen.
            freeze_snapshot(sent)
            self.stdout.write(f"Rendered {sent} again for {settings.SITE_URL}.")
        self.issue(
            newsletter, "Next week (draft)", "Work in progress", draft_issue_blocks, sign_off
        )
        self.audience(newsletter)

    def audience(self, newsletter):
        """Confirmed readers at reserved example domains, so Send now has someone to mail.

        Imported like any CSV (consent recorded as an import); addresses already present
        are left as they are, so a second run adds nobody.
        """
        rows = "".join(f"{email},{name}\n" for email, name in DEMO_READERS)
        report = import_csv(f"email,name\n{rows}".encode(), newsletter)
        self.stdout.write(
            f"Demo audience: {report.imported} confirmed readers added, "
            f"{len(DEMO_READERS) - report.imported} already there."
        )

    def issue(self, newsletter, title, preheader, make_blocks, sign_off) -> Issue:
        issue = Issue.objects.filter(newsletter=newsletter, title=title).first()
        if issue:
            self.stdout.write(f"Found issue {issue}; left as it is.")
            return issue
        issue = Issue.objects.create(newsletter=newsletter, title=title, preheader=preheader)
        for position, (kind, data) in enumerate(make_blocks(sign_off), start=1):
            if kind == Block.LIBRARY:
                Block.objects.create(issue=issue, position=position, kind=kind, library_block=data)
            else:
                Block.objects.create(issue=issue, position=position, kind=kind, data=data)
        self.stdout.write(f"Created issue {issue} (id {issue.pk}) with {position} blocks.")
        return issue
