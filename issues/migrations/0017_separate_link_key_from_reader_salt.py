"""The key that signs tracked links apart from the salt of readers' pseudonyms.

Until now one per-issue salt did both: the links were signed with a hash of it, and readers'
pseudonyms were hashed with it, so it could never be deleted without breaking every link in
every inbox. Each issue's link key becomes that same hash, stored on its own (links already
sent keep verifying); the salt stays the reader salt, which can now be deleted once the
issue's unique counts are final.
"""

import hashlib

from django.db import migrations, models
from django.db.models import deletion


def store_link_keys(apps, schema_editor):
    IssueSalt = apps.get_model("issues", "IssueSalt")
    for keys in IssueSalt.objects.all().iterator():
        # The derivation links were signed with before: ``tokens.key_of(salt)``.
        derived = hashlib.sha256(b"superfast.engagement.tokens:" + keys.reader_salt.encode())
        keys.link_key = derived.hexdigest()
        keys.save(update_fields=["link_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("issues", "0016_ledger_outcome_indexes"),
        ("subscribers", "0009_drop_redundant_indexes"),
    ]

    operations = [
        migrations.RenameField("issuesalt", "salt", "reader_salt"),
        migrations.AlterField(
            model_name="issuesalt",
            name="reader_salt",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="issuesalt",
            name="link_key",
            field=models.CharField(
                default="", help_text="Hex HMAC key of the tracked links.", max_length=64
            ),
            preserve_default=False,
        ),
        migrations.RunPython(store_link_keys, migrations.RunPython.noop),
        migrations.AddField(
            model_name="issuesalt",
            name="reader_salt_since",
            field=models.DateTimeField(
                blank=True,
                help_text="Deliveries finished before it are late (null: all).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="issuesalt",
            name="reader_salt_dropped_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="issuesalt",
            name="issue",
            field=models.OneToOneField(
                on_delete=deletion.CASCADE,
                primary_key=True,
                related_name="tracking_keys",
                serialize=False,
                to="issues.issue",
            ),
        ),
        migrations.AlterField(
            model_name="click",
            name="subscriber",
            field=models.ForeignKey(
                blank=True,
                help_text="Only with the newsletter's per-subscriber history on.",
                null=True,
                on_delete=deletion.SET_NULL,
                related_name="+",
                to="subscribers.subscriber",
            ),
        ),
        migrations.AlterField(
            model_name="open",
            name="subscriber",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=deletion.SET_NULL,
                related_name="+",
                to="subscribers.subscriber",
            ),
        ),
        migrations.AlterField(
            model_name="click",
            name="reader",
            field=models.CharField(
                help_text="Per-issue pseudonym: a salted hash, a random one once detached, or 'late'.",
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="newsletter",
            name="subscriber_history",
            field=models.BooleanField(
                default=False,
                help_text="Keeps who clicked what, per subscriber (for segments). Readers see it "
                "on their preferences page and get it in their data export; erasing them, or "
                "their asking for no tracking, detaches it from them (the counts stay).",
            ),
        ),
        migrations.AlterField(
            model_name="newsletter",
            name="track_clicks",
            field=models.BooleanField(
                default=True,
                help_text="Links in the email go through a short tracked URL on this site, so "
                "the report can count clicks (people and machines apart; each reader under a "
                "per-issue code that can no longer be traced to them once the counts are final).",
            ),
        ),
    ]
