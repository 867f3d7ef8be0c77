"""The name a subscribe request gave waits on its subscriptions until it is confirmed."""

from django.db import migrations, models

import superfast.validators


class Migration(migrations.Migration):
    dependencies = [("subscribers", "0010_import_lists_in_private_storage")]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="pending_name",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=200,
                validators=[superfast.validators.refuse_control_characters],
            ),
        ),
    ]
