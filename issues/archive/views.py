"""Public pages: home, archive, issue pages, search, robots.txt.

The views only choose what to show; ``archive.py`` loads it (one query per page where it
can) and caches the pages of sent issues, ``search.py`` searches.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.http import urlencode
from django.views.decorators.http import conditional_page, require_safe

from ..compose.rendering import render_issue
from ..models import Issue, Newsletter
from . import branding, cache, queries, seo
from .search import clean_query, hits, search_issues

PAGE_SIZE = 20
VIEW_ISSUE_PERMISSION = "issues.view_issue"


def page_meta(title, description, path, *, image=None, image_alt="", kind="website", noindex=False):
    """What <head> says about a page: title, description, canonical URL, sharing card."""
    return {
        "title": title,
        "description": " ".join((description or "").split()),
        "url": seo.absolute_url(path),
        "image": image or seo.sharing_image_url(),
        "image_alt": image_alt or seo.SITE_IMAGE_ALT,
        "type": kind,
        "noindex": noindex,
    }


def issue_context(issue: Issue, *, preview=False, rendered=None) -> dict:
    """``rendered`` (the editor's live preview) stands in for the issue's own rendering,
    under the editor's title; otherwise the page shows the public title."""
    snapshot = rendered or queries.snapshot_of(issue)
    title = issue.title if rendered is not None else issue.public_title
    if preview and issue.status != Issue.Status.SENT and rendered is None:
        # Staff see an unsent issue as it would render now, not a stale or missing snapshot.
        snapshot = render_issue(issue)
    newsletter = issue.newsletter
    context = {
        "issue": issue,
        "issue_title": title,
        "snapshot": snapshot,
        "newsletter": newsletter,
        "newsletters": [newsletter],
        "site_name": newsletter.name,
        "brand": branding.brand_of(newsletter),
        "lang": newsletter.language,
        "preview": preview,
        "meta": page_meta(
            f"{title} · {newsletter.name}",
            seo.issue_description(issue, snapshot),
            issue.get_absolute_url(),
            # Drafts change title often: no card is drawn and stored for each preview.
            image=None if preview else seo.sharing_image_url(issue),
            image_alt=seo.sharing_image_alt(issue),
            kind="article",
            noindex=preview,
        ),
    }
    if snapshot and not preview:
        context["json_ld"] = seo.news_article_json_ld(issue)
    return context


def load_issue(newsletter, slug) -> Issue:
    issue = queries.issue_for_page(newsletter, slug)
    if issue is None:
        raise Http404("No such issue.")
    return issue


def may_preview_unpublished(user) -> bool:
    """Drafts and welcome emails are shown to staff who may view issues, as the admin's own
    preview is; to anyone else they do not exist (404, not 403: nothing to learn)."""
    return user.is_staff and user.has_perm(VIEW_ISSUE_PERMISSION)


@require_safe
def issue_page(request, newsletter, slug):
    """A sent issue as it was sent (its snapshot); staff who may view issues also see
    unsent ones and welcome emails, marked, never cached.

    A cached page costs one small query (its cache facts); a miss adds the full load.
    """
    facts = cache.public_issue_facts(newsletter, slug)
    if facts is not None:
        return cache.cached_page(
            request,
            facts,
            lambda: render(
                request, "archive/issue.html", issue_context(load_issue(newsletter, slug))
            ),
        )
    # Checked only here, so public pages never touch the session (and stay cacheable).
    if not may_preview_unpublished(request.user):
        raise Http404("No such issue.")
    issue = load_issue(newsletter, slug)
    response = render(request, "archive/issue.html", issue_context(issue, preview=True))
    add_never_cache_headers(response)
    return response


@require_safe
def home(request):
    """The latest sent issue in full, the subscribe form first, the newsletters indexed."""
    newsletters = queries.newsletters_with_latest()
    issue = queries.latest_public_issue()
    name = queries.site_name(newsletters)
    description = newsletters[0].description if len(newsletters) == 1 else ""
    context = {
        "issue": issue,
        "issue_title": issue and issue.public_title,
        "snapshot": issue and issue.snapshot,
        "newsletters": newsletters,
        "indexed_newsletters": [n for n in newsletters if n.latest_slug],
        "site_name": name,
        "brand": branding.site_brand(newsletters),
        "site_description": description,
        "meta": page_meta(name, description, reverse("issues:home")),
    }
    if issue is None:
        return render(request, "archive/home.html", context)
    facts = cache.PageFacts(
        (
            "home",
            issue.pk,
            issue.snapshot.pk,
            issue.snapshot.created_at.isoformat(),
            str(issue.snapshot.web_updated_at),  # a correction is a new page
            tuple(
                (n.pk, n.name, n.description, n.latest_slug, n.latest_title) for n in newsletters
            ),
        ),
        issue.snapshot.changed_at,
    )
    return cache.cached_page(request, facts, lambda: render(request, "archive/home.html", context))


def archive_filters(request, newsletters):
    """The newsletter and year asked for; unknown values are reported, not guessed."""
    errors = []
    newsletter = None
    slug = request.GET.get("newsletter", "")
    if slug:
        newsletter = next((n for n in newsletters if n.slug == slug), None)
        if newsletter is None:
            errors.append(f"There is no newsletter called “{slug}”; showing all of them.")
    year = None
    raw_year = request.GET.get("year", "")
    if raw_year:
        if raw_year.isdigit() and 1900 < int(raw_year) < 3000:
            year = int(raw_year)
        else:
            errors.append(f"“{raw_year}” is not a year; showing every year.")
    return newsletter, year, errors


@require_safe
def archive(request):
    """Sent issues, newest first, 20 a page; by newsletter and year."""
    newsletters = list(Newsletter.objects.all())
    newsletter, year, errors = archive_filters(request, newsletters)
    issues = queries.archive_order(queries.public_issues())
    if newsletter:
        issues = issues.filter(newsletter=newsletter)
    years = [d.year for d in issues.dates("published_at", "year", order="DESC")]
    if year:
        issues = issues.filter(published_at__year=year)
    issues = issues.select_related("newsletter", "snapshot").only(
        "number", "title", "slug", "cover_image", "published_at",
        "newsletter__slug", "newsletter__name", *queries.LISTED_SNAPSHOT_FIELDS,
    )  # fmt: skip
    page = Paginator(issues, PAGE_SIZE).get_page(request.GET.get("page"))
    name = queries.site_name(newsletters)
    # The page as its parsed filters name it: anything else in the query string (junk,
    # tracking parameters) neither shows on the page nor makes a cache entry of its own.
    query = filters_query(newsletter, year)
    canonical_query = "&".join(filter(None, [query, f"page={page.number}" * (page.number > 1)]))
    canonical = reverse("issues:archive") + (f"?{canonical_query}" if canonical_query else "")
    heading = f"{newsletter.name}: archive" if newsletter else "Archive"
    if year:
        heading += f", {year}"
    context = {
        "page": page,
        "newsletters": newsletters,
        "selected_newsletter": newsletter,
        "years": years,
        "selected_year": year,
        "errors": errors,
        "heading": heading,
        "site_name": name,
        "brand": branding.site_brand(newsletters),
        "query_string": query,
        "meta": page_meta(
            f"{heading} · {name}",
            f"Every issue of {newsletter.name if newsletter else name}, newest first.",
            canonical,
            noindex=bool(errors),
        ),
    }
    if errors:  # they quote what was asked for: a page per typo, never cached
        return render(request, "archive/archive.html", context)
    facts = cache.PageFacts(
        (
            "archive",
            canonical,
            page.number,
            page.paginator.num_pages,
            tuple(
                (i.pk, *(getattr(i.snapshot, name) for name in queries.LISTED_FACE))
                for i in page.object_list
            ),
            tuple((n.pk, n.name) for n in newsletters),
            tuple(years),
        ),
        None,
    )
    return cache.cached_page(
        request, facts, lambda: render(request, "archive/archive.html", context)
    )


def filters_query(newsletter, year) -> str:
    """The filters as a query string prefix for pagination links."""
    parts = []
    if newsletter:
        parts.append(f"newsletter={newsletter.slug}")
    if year:
        parts.append(f"year={year}")
    return "&".join(parts)


@require_safe
def search(request):
    """Full-text search over sent issues, with the query echoed (escaped) back."""
    query = clean_query(request.GET.get("q"))
    page = None
    results = []
    if query:
        page = Paginator(search_issues(query), PAGE_SIZE).get_page(request.GET.get("page"))
        results = hits(page.object_list, query)
    newsletters = queries.site_newsletters()
    name = queries.site_name(newsletters)
    title = f"Search: {query}" if query else "Search the archive"
    return render(
        request,
        "archive/search.html",
        {
            "query": query,
            "page": page,
            "results": results,
            "query_string": urlencode({"q": query}),
            "site_name": name,
            "brand": branding.site_brand(newsletters),
            "meta": page_meta(
                f"{title} · {name}",
                f"Search every issue of {name}.",
                reverse("issues:search"),
                noindex=True,
            ),
        },
    )


@require_safe
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /search/",
        "Disallow: /subscribe/",
        "Disallow: /unsubscribe/",
        "Disallow: /preferences/",
        "",
        f"Sitemap: {seo.absolute_url(reverse('issues:sitemap'))}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


ICON_MAX_AGE = 24 * 3600


@require_safe
@conditional_page
def favicon(request, kind):
    """The site's icon: SITE_ICON when set (this address redirects there), else drawn from
    the first newsletter's brand colour and initial (``ico`` or ``svg``). Browsers keep it a
    day, then ask again with its ETag."""
    if settings.SITE_ICON:
        return HttpResponseRedirect(settings.SITE_ICON)
    brand = branding.site_brand()
    if kind == "svg":
        response = HttpResponse(branding.icon_svg(brand), content_type="image/svg+xml")
    else:
        response = HttpResponse(branding.icon_ico(brand), content_type="image/x-icon")
    patch_cache_control(response, public=True, max_age=ICON_MAX_AGE)
    return response


def page_not_found(request, exception=None):
    """Django's 404 answer in the site's layout, under the site's own name.

    Naming the site may need the database; a 404 must not fail because it is down.
    """
    try:
        name = queries.site_name()
    except DatabaseError:
        name = settings.SITE_NAME
    return render(request, "404.html", {"site_name": name}, status=404)
