"""The "3 headlines and a lie" quiz, and last week's result of it."""

from django.conf import settings
from django.core.exceptions import ValidationError

from ..fields import EMPTY_ROWS_HELP, ItemRowsField, MarkdownField, OneLineField, link_lines
from ..markers import vote_url, web_vote_path
from ..plain_text import markdown_text
from .base import BlockKind, link_text, register
from .sanitizer import markdown_html, safe_url

NO_LIE = "Mark which headline is the lie."


@register
class HeadlineQuiz(BlockKind):
    name, label = "quiz", "Headline quiz"
    help = "“3 headlines and a lie”: readers guess which headline is made up."

    def fields(self):
        return {
            "title": OneLineField(max_length=200, initial="3 headlines and a lie"),
            "intro": OneLineField(
                max_length=300,
                required=False,
                help_text="Optional line under the title, e.g. “Three happened. One did not.”",
            ),
            "headlines": ItemRowsField(
                parts={"title": "Headline", "url": "Source link"},
                pick_label="The lie",
                pick_missing=NO_LIE,
                min_rows=4,  # three true headlines and a lie
                help_text="Mark the made-up headline as the lie; it needs no link. "
                + EMPTY_ROWS_HELP,
            ),
            "reveal": MarkdownField(
                help_text="Shown after the guess, in your words: which one and why. Markdown.",
            ),
        }

    def form_values(self, data):
        return marked_lie(data)

    def clean(self, data):
        return {**numbered_lie(data), "intro": data.get("intro") or ""}

    def context(self, data, ctx):
        """In the email each headline links to its vote (the reader's own signed link); on
        the web each has a button of a plain form that posts the vote (no script, and
        nothing per visitor on the cached page)."""
        number = ctx.next_quiz()
        votes = vote_links(ctx, number, len(data["headlines"]))
        return {
            **data,
            "anchor": ctx.anchor(data["title"], "quiz"),
            "intro_html": markdown_html(data.get("intro") or ""),
            "headlines": [
                {**h, "url": safe_url(h["url"]), "vote_url": vote}
                for h, vote in zip(data["headlines"], votes, strict=True)
            ],
            "reveal_html": markdown_html(data["reveal"]),
            "web_url": ctx.web_url,
            "vote_form": web_vote_path(ctx.issue_id, number) if ctx.issue_id else "",
        }

    def text(self, data, ctx):
        """Headlines and their vote links, then the editor's reveal below a gap of dots: no
        answer at a glance."""
        intro = f"{markdown_text(data['intro'])}\n" if data.get("intro") else ""
        questions = "\n".join(f"{n}. {h['title']}" for n, h in enumerate(data["headlines"], 1))
        # The text part is made in the same pass as the email's HTML, after its quiz number.
        votes = vote_links(ctx, ctx.quizzes, len(data["headlines"]))
        if any(votes):
            picks = "\n".join(f"{n}: <{url}>" for n, url in enumerate(votes, 1))
            questions += f"\n\nWhich one is the lie? Pick it:\n{picks}"
        sources = "\n".join(
            f"- {link_text(h['title'], h['url'])}"
            for n, h in enumerate(data["headlines"], 1)
            if n != data["fake"] and h["url"]
        )
        gap = "\n".join(["Spoiler below.", *["."] * 8])
        real = f"\n\nThe real ones:\n{sources}" if sources else ""
        return (
            f"{data['title']}\n{intro}\n{questions}\n\n{gap}\n\n"
            f"{markdown_text(data['reveal'])}{real}"
        )

    def links(self, data):
        return [h["url"] for h in data["headlines"] if h["url"]]


def marked_lie(data: dict) -> dict:
    """Stored data names the lie by number (``fake``); the form marks its row."""
    headlines = data.get("headlines") or []
    headlines = link_lines(headlines) if isinstance(headlines, str) else headlines
    try:
        fake = int(data.get("fake") or 0)
    except (TypeError, ValueError):
        fake = 0
    marked = [{**h, "pick": h.get("pick") or n == fake} for n, h in enumerate(headlines, 1)]
    return {**data, "headlines": marked}


def numbered_lie(data: dict) -> dict:
    """The form's marked row back to the lie's number; two headlines at least, one lie."""
    headlines = data["headlines"]
    if len(headlines) < 2:
        raise ValidationError({"headlines": "A quiz needs at least two headlines."})
    lies = [n for n, h in enumerate(headlines, start=1) if h.get("pick")]
    if not lies:
        raise ValidationError({"headlines": NO_LIE})
    if len(lies) > 1:
        raise ValidationError({"headlines": "Only one headline can be the lie."})
    items = [{k: v for k, v in h.items() if k != "pick"} for h in headlines]
    return {**data, "headlines": items, "fake": lies[0]}


def vote_links(ctx, quiz: int, headlines: int) -> list[str]:
    """Each headline's vote link in the email ("" on the web, which has its form)."""
    if ctx.markers is None:
        return [""] * headlines
    return [vote_url(settings.SITE_URL, ctx.markers, quiz, n) for n in range(1, headlines + 1)]


@register
class QuizResult(BlockKind):
    """Last week's quiz: its headlines, which was the lie, and how readers voted.

    Filled in one click from the newsletter's previous sent issue (the editor's "Fill in
    last week's result", ``issues.engagement.quiz.last_result``), then edited like any
    block: the votes are words the editor may round or reword."""

    name, label = "quiz_result", "Last week's quiz"
    help = "The answer to the previous issue's quiz and how readers voted."

    def fields(self):
        return {
            "title": OneLineField(
                max_length=200,
                initial="Last week's quiz",
                # The editor's one click (quiz_result_fill.js); markup of ours, not content.
                help_text="From the newsletter's last sent issue with a quiz: "
                '<button type="button" class="sf-quiz-result-fill">'
                "Fill in last week's result</button> "
                '<span class="sf-quiz-result-status" role="status"></span>',
            ),
            "headlines": ItemRowsField(
                parts={"title": "Headline", "url": "Source link", "note": "Votes"},
                pick_label="The lie",
                pick_missing=NO_LIE,
                min_rows=4,
                help_text="Each headline with how readers voted, e.g. “41% of readers”; "
                "mark the lie. " + EMPTY_ROWS_HELP,
            ),
            "summary": MarkdownField(
                required=False,
                help_text="Optional: a line on the result, e.g. “Most of you spotted it.”",
            ),
        }

    def form_values(self, data):
        return marked_lie(data)

    def clean(self, data):
        return {**numbered_lie(data), "summary": data.get("summary") or ""}

    def context(self, data, ctx):
        return {
            **data,
            "headlines": [
                {**h, "url": safe_url(h["url"]), "is_lie": n == data["fake"]}
                for n, h in enumerate(data["headlines"], 1)
            ],
            "summary_html": markdown_html(data.get("summary") or ""),
        }

    def text(self, data, ctx):
        def line(n: int, headline: dict) -> str:
            lie = " (the lie)" if n == data["fake"] else ""
            votes = f": {headline['note']}" if headline.get("note") else ""
            return f"{n}. {link_text(headline['title'] + lie, headline['url'])}{votes}"

        lines = [line(n, h) for n, h in enumerate(data["headlines"], 1)]
        summary = f"\n\n{markdown_text(data['summary'])}" if data.get("summary") else ""
        return f"{data['title']}\n\n" + "\n".join(lines) + summary

    def links(self, data):
        return [h["url"] for h in data["headlines"] if h["url"]]
