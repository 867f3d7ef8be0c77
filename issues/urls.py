from django.urls import path

from . import views

app_name = "issues"

urlpatterns = [
    path("<slug:newsletter>/<slug:slug>/", views.issue_page, name="issue"),
]
