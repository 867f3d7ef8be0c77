"""--fetch-images: the pictures a post shows from the old platform's servers are downloaded
through the one server-side fetcher and the upload checks, and stored like uploads; one
that cannot be had keeps its remote address and the report says why. Pictures are served on
loopback (FETCH_ALLOW_LOOPBACK); a private address is answered by a stub resolver, so no
packet goes anywhere else."""

import io
import socket

import pytest
from django.core.management import call_command

from issues.importers.posts import import_posts
from issues.models import Issue
from tests.importers.conftest import export_showing
from tests.importers.test_import_newsletter import nobody_was_mailed
from tests.support.pages import stub_resolver


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_newsletter", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_remote_images_are_fetched_checked_and_stored_like_uploads(
    client, newsletter, tmp_path, image_host
):
    export = export_showing(
        tmp_path,
        f"{image_host.url}/img/moved",  # a redirect to the chart
        f"{image_host.url}/img/fake",
        f"{image_host.url}/img/huge",
        f"{image_host.url}/img/gone",
    )
    out = run("substack", export, "--fetch-images")

    assert "2 remote images downloaded, 3 images left at their remote address" in out
    assert f"image “{image_host.url}/img/fake” not stored: This file is not an image" in out
    assert f"image “{image_host.url}/img/huge” not fetched: the page is larger than" in out
    assert f"image “{image_host.url}/img/gone” not fetched: the server answered 404" in out
    for name in ("fake", "huge", "gone"):
        assert f"image kept at its remote address: {image_host.url}/img/{name}" in out
    issue = Issue.objects.get(title="Pictures")
    [image] = issue.blocks.filter(kind="image").values_list("data", flat=True)
    assert image["image"]["width"] == 800 and image["caption"] == "Caption 0"
    page = client.get(issue.get_absolute_url()).content.decode()
    assert "/media/" in page and f"{image_host.url}/img/chart" not in page
    assert f"{image_host.url}/img/fake" in page  # left remote, shown from there
    assert all(
        headers.get("Cookie") is None and headers["Accept"] == "image/*"
        for _, headers in image_host.requests
    )
    nobody_was_mailed()


@pytest.mark.django_db
def test_without_the_flag_or_in_a_dry_run_nothing_is_fetched(newsletter, tmp_path, image_host):
    export = export_showing(tmp_path, f"{image_host.url}/img/chart")
    dry = run("substack", export, "--fetch-images", "--dry-run")
    assert "fetched by the import, not by a dry run" in dry
    out = run("substack", export)
    assert f"image kept at its remote address: {image_host.url}/img/chart" in out
    assert "1 images left at their remote address" in out
    assert image_host.requests == []
    assert not Issue.objects.get(title="Pictures").blocks.filter(kind="image").exists()


@pytest.mark.django_db
def test_a_name_leading_to_a_private_address_is_refused_without_a_connection(
    newsletter, tmp_path, monkeypatch
):
    def no_connection(*args, **kwargs):
        raise AssertionError(f"the fetcher tried to connect: {args}")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    export = export_showing(tmp_path, "https://images.example/chart.png")
    report = import_posts(
        "substack",
        export,
        newsletter,
        fetch_images=True,
        resolver=stub_resolver({"images.example": "10.0.0.7"}),
    )
    [outcome] = report.outcomes
    assert outcome.action == "imported"
    assert report.remote_images() == ["https://images.example/chart.png"]
    assert (
        "image “https://images.example/chart.png” not fetched: images.example leads to a "
        "private address (10.0.0.7), which is never fetched"
    ) in outcome.notes
