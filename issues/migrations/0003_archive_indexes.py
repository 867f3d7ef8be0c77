from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models

SEARCH_INDEX = "snapshot_search_document"


def search_index():
    """A GIN index of the very expression the archive search filters on.

    PostgreSQL only (SQLite has no GIN and no tsvector), so it is created here rather than
    declared in ``Snapshot.Meta``, where every backend would try to build it. Should the
    searched expression (``issues.search.snapshot_document``) or the site's language
    change, a new migration must drop and recreate this index.
    """
    from issues.search import search_config, snapshot_document

    return GinIndex(snapshot_document(search_config()), name=SEARCH_INDEX)


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("issues", "Snapshot"), search_index())


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("issues", "Snapshot"), search_index())


class Migration(migrations.Migration):
    dependencies = [
        ("issues", "0002_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="issue",
            index=models.Index(
                fields=["status", "show_in_archive", "published_at"], name="issue_archive_listing"
            ),
        ),
        migrations.RunPython(create_search_index, drop_search_index, elidable=False),
    ]
