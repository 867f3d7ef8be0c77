"""Uploaded subscriber lists move out of public media into the private storage.

Before this, an upload was kept as ``imports/<job id>.csv`` in the default (public) storage,
served under ``/media/``. A job still holding its file gets it back in the private storage
under a random name (its import resumes from there); every file left under ``imports/`` in
the public storage is deleted.
"""

from django.db import migrations, models

import subscribers.models

PUBLIC_FOLDER = "imports"


def move_lists_out_of_public_media(apps, schema_editor):
    from django.core.files.storage import storages

    public, private = storages["default"], storages["private"]
    jobs = apps.get_model("subscribers", "ImportJob").objects
    for pk, name in jobs.exclude(file="").values_list("pk", "file"):
        if not public.exists(name):
            continue
        with public.open(name, "rb") as data:
            moved = private.save(subscribers.models.random_list_name(None, name), data)
        jobs.filter(pk=pk).update(file=moved)
    if public.exists(PUBLIC_FOLDER):
        for leftover in public.listdir(PUBLIC_FOLDER)[1]:
            public.delete(f"{PUBLIC_FOLDER}/{leftover}")


class Migration(migrations.Migration):
    dependencies = [
        ("subscribers", "0009_drop_redundant_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="importjob",
            name="file",
            field=models.FileField(
                blank=True,
                storage=subscribers.models.private_storage,
                upload_to=subscribers.models.random_list_name,
            ),
        ),
        migrations.RunPython(move_lists_out_of_public_media, migrations.RunPython.noop),
    ]
