"""Full-text search over the public archive.

On PostgreSQL: a ranked ``websearch_to_tsquery`` match over the issue's public title and its
snapshot's subject, preheader and body, with ``ts_headline`` snippets; the snapshot part is
answered by a GIN expression index (``snapshot_document``), so it stays fast with many
issues. On SQLite (the embedded default): every word must appear somewhere, newest first,
with a snippet cut in Python.

Snippets are built from plain text with marker characters that no text contains, then
HTML-escaped, and only then are the markers turned into ``<mark>``: the body, however odd,
cannot inject markup into the results page.
"""

import html
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
)
from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.safestring import SafeString, mark_safe

from ..models import Issue, Snapshot
from .queries import public_issues

MAX_QUERY_LENGTH = 200
SNIPPET_WORDS = 30
# Private-use characters: they never occur in an issue, so they can mark hits safely.
START, STOP = "\ue000", "\ue001"

# PostgreSQL text search configurations for the site's language; others search unstemmed.
PG_CONFIGS = {
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "it": "italian",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ru": "russian",
    "sv": "swedish",
}


@dataclass
class Hit:
    issue: Issue
    snippet: SafeString


def clean_query(raw: str | None) -> str:
    """The query as searched: whitespace collapsed, bounded in length."""
    return " ".join((raw or "").split())[:MAX_QUERY_LENGTH]


def search_issues(query: str) -> QuerySet[Issue]:
    """Public issues matching ``query``, best first; each has ``headline`` (marked text)."""
    base = public_issues().select_related("newsletter", "snapshot")
    if connection.vendor == "postgresql":
        return _postgres_search(base, query)
    return _simple_search(base, query)


def search_config() -> str:
    """The text search configuration of the site's language (``simple``: no stemming)."""
    return PG_CONFIGS.get(settings.LANGUAGE_CODE.split("-")[0], "simple")


def snapshot_document(config: str, prefix: str = "") -> SearchVector:
    """What is searched: a snapshot's subject (the title unless set), preheader and body.

    Migration 0003 indexes exactly this expression (GIN, on PostgreSQL), so a query that
    filters on it is answered from the index instead of parsing every snapshot's text.
    Only snapshot columns: an index cannot span the join to the issue.
    """
    return (
        SearchVector(f"{prefix}subject", weight="A", config=config)
        + SearchVector(f"{prefix}preheader", weight="B", config=config)
        + SearchVector(f"{prefix}search_text", weight="C", config=config)
    )


def _postgres_search(base: QuerySet[Issue], query: str) -> QuerySet[Issue]:
    config = search_config()
    search_query = SearchQuery(query, search_type="websearch", config=config)
    # The GIN index answers ``document @@ query`` on the snapshots; the public title
    # (short, so cheap to parse) is matched beside it, for issues sent under another subject.
    in_snapshot = (
        Snapshot.objects.annotate(document=snapshot_document(config))
        .filter(document=search_query)
        .values("issue_id")
    )
    title = SearchVector("snapshot__title", weight="A", config=config)
    return (
        base.annotate(title_document=title)
        .filter(Q(pk__in=in_snapshot) | Q(title_document=search_query))
        .annotate(
            # Computed only for the issues that match.
            rank=SearchRank(title + snapshot_document(config, prefix="snapshot__"), search_query),
            headline=SearchHeadline(
                "snapshot__search_text",
                search_query,
                config=config,
                start_sel=START,
                stop_sel=STOP,
                max_words=SNIPPET_WORDS,
                min_words=12,
                max_fragments=2,
                fragment_delimiter=" … ",
            ),
        )
        .order_by("-rank", "-published_at", "-id")
    )


def query_words(query: str) -> list[str]:
    return [word for word in re.findall(r"\w+", query.lower()) if len(word) > 1][:10]


def _simple_search(base: QuerySet[Issue], query: str) -> QuerySet[Issue]:
    """Every word somewhere; issues with a word in their title first, then newest first."""
    words = query_words(query)
    if not words:
        return base.none()
    in_title = Q()
    for word in words:
        word_in_title = Q(snapshot__title__icontains=word) | Q(snapshot__subject__icontains=word)
        base = base.filter(word_in_title | Q(snapshot__search_text__icontains=word))
        in_title |= word_in_title
    title_hit = Case(When(in_title, then=Value(1)), default=Value(0), output_field=IntegerField())
    return base.annotate(title_hit=title_hit).order_by("-title_hit", "-published_at", "-id")


def marked_snippet(text: str, words: list[str]) -> str:
    """A window of ``text`` around the first hit, hits between the START/STOP markers."""
    tokens = text.split()
    if not tokens:
        return ""
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    first = next((i for i, token in enumerate(tokens) if pattern.search(token)), 0)
    start = max(first - SNIPPET_WORDS // 3, 0)
    window = " ".join(tokens[start : start + SNIPPET_WORDS])
    window = pattern.sub(lambda m: f"{START}{m.group(0)}{STOP}", window) if words else window
    prefix = "… " if start else ""
    suffix = " …" if start + SNIPPET_WORDS < len(tokens) else ""
    return prefix + window + suffix


def with_ellipses(marked: str, text: str) -> str:
    """Show where a database headline cut the text: "… middle of the text …"."""
    plain = " ".join(marked.replace(START, "").replace(STOP, "").split())
    whole = " ".join(text.split())
    prefix = "" if whole.startswith(plain[:40]) else "… "
    suffix = "" if whole.endswith(plain[-40:]) else " …"
    return prefix + marked + suffix


def snippet_html(marked: str) -> SafeString:
    """Escape a marked snippet, then turn its markers into <mark> elements."""
    escaped = html.escape(marked.replace(START + STOP, ""))
    return mark_safe(escaped.replace(START, "<mark>").replace(STOP, "</mark>"))


def hits(issues: list[Issue], query: str) -> list[Hit]:
    """Search results for one page, each with its highlighted snippet."""
    words = query_words(query)
    results = []
    for issue in issues:
        text = issue.snapshot.search_text or issue.snapshot.preheader
        marked = getattr(issue, "headline", None)
        marked = marked_snippet(text, words) if marked is None else with_ellipses(marked, text)
        results.append(Hit(issue=issue, snippet=snippet_html(marked)))
    return results
