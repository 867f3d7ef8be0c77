"""A click's machine reason may be ``unjudged``: an ESP's click without the user agent our
machine rules judge by, kept out of people's figures and counted apart."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("issues", "0019_snapshot_public_face_and_redirects"),
    ]

    operations = [
        migrations.AlterField(
            model_name="click",
            name="machine_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("head", "HEAD request"),
                    ("scanner", "Security scanner user agent"),
                    ("canary", "Hidden canary link"),
                    ("burst", "Every link within seconds of delivery"),
                    ("unjudged", "Reported by the ESP without a user agent"),
                ],
                max_length=10,
            ),
        ),
    ]
