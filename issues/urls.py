from django.contrib.sitemaps.views import sitemap
from django.urls import path

from .archive import views
from .archive.feeds import IssuesAtomFeed, IssuesFeed
from .archive.sitemaps import sitemaps
from .engagement import quiz_views

app_name = "issues"

urlpatterns = [
    path("", views.home, name="home"),
    path("archive/", views.archive, name="archive"),
    path("search/", views.search, name="search"),
    path("feed/", IssuesFeed(), name="feed"),
    path("feed/atom/", IssuesAtomFeed(), name="atom"),
    path("feed/<slug:newsletter>/", IssuesFeed(), name="feed"),
    path("feed/<slug:newsletter>/atom/", IssuesAtomFeed(), name="atom"),
    path("sitemap.xml", sitemap, {"sitemaps": sitemaps}, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("favicon.ico", views.favicon, {"kind": "ico"}, name="favicon"),
    path("favicon.svg", views.favicon, {"kind": "svg"}, name="favicon_svg"),
    path("q/web/<str:quiz>/", quiz_views.visitor_vote, name="quiz_web_vote"),
    path("q/<str:token>/", quiz_views.reader_vote, name="quiz_vote"),
    # Last: two free slugs would otherwise swallow the paths above.
    path("<slug:newsletter>/<slug:slug>/", views.issue_page, name="issue"),
]
