"""Snapshots frozen before line breaks separated words: their search text glued the words
on either side of a ``<br>`` ("Modelsaka"). Their search text is made again from their web
HTML, as the renderer makes it now (the rule is copied: a migration must not change when
the code does)."""

import re

from django.db import migrations
from django.utils.html import strip_tags

LINE_ENDING_TAGS = re.compile(
    r"(</(?:li|p|h[1-6]|div|td|th|dt|dd|summary|figcaption|blockquote)>|<(?:br|hr)\b[^>]*>)",
    re.IGNORECASE,
)


def searchable_text(web_html):
    return " ".join(strip_tags(LINE_ENDING_TAGS.sub(r"\1 ", web_html)).split())


def separate_words_at_line_breaks(apps, schema_editor):
    Snapshot = apps.get_model("issues", "Snapshot")
    with_breaks = Snapshot.objects.filter(web_html__icontains="<br").only("web_html")
    for snapshot in with_breaks.iterator(chunk_size=200):
        Snapshot.objects.filter(pk=snapshot.pk).update(
            search_text=searchable_text(snapshot.web_html)
        )


class Migration(migrations.Migration):
    dependencies = [("issues", "0020_click_reason_unjudged")]

    operations = [
        migrations.RunPython(
            separate_words_at_line_breaks, migrations.RunPython.noop, elidable=True
        )
    ]
