"""The four roles of the newsroom as groups: Staff, Viewer, Editor, Publisher.

A staff login put in one of these groups can do exactly what docs/permissions.md says; the
permission matrix test (tests/security/test_permission_matrix.py) logs in as a member of
each group and tries every admin page and action. Superusers need no group.

The codenames are written out here, per app and model, so that what a role may do is
read in one place and changes only with a migration. Running it again (or over groups
someone made by hand with these names) sets each group to exactly these permissions.
"""

from django.db import migrations

# Every model of the project's own apps: a viewer may look at all of it, nothing else.
VIEWED_MODELS = {
    "superfast": ["workerheartbeat"],
    "subscribers": [
        "tag",
        "subscriber",
        "subscription",
        "consentevent",
        "suppressionevent",
        "processedwebhookevent",
        "erasedaddress",
        "segment",
        "importjob",
        "importrow",
        "importrejection",
    ],
    "issues": [
        "newsletter",
        "issue",
        "snapshot",
        "libraryblock",
        "block",
        "revision",
        "autosave",
        "dispatch",
        "delivery",
        "deliverytally",
        "issuesalt",
        "trackedlink",
        "click",
        "open",
        "welcomesequence",
        "sequencestep",
        "subjecttest",
    ],
}

VIEWER = {
    (app, model): [f"view_{model}"] for app, models in VIEWED_MODELS.items() for model in models
}

# Composing: issues and welcome emails with their blocks (removing a block from the stream
# is deleting it), the block library, and the welcome sequence's steps (edited on the
# sequence's page, which is a change of the sequence). Nothing here reaches a reader.
EDITING = {
    ("issues", "issue"): ["add_issue", "change_issue"],
    ("issues", "block"): ["add_block", "change_block", "delete_block"],
    ("issues", "libraryblock"): ["add_libraryblock", "change_libraryblock"],
    ("issues", "welcomesequence"): ["change_welcomesequence"],
    ("issues", "sequencestep"): ["add_sequencestep", "change_sequencestep"],
}

# What reaches readers or the audience: sending (and with it correcting a sent page,
# changing a welcome email already going out, pausing a sequence), starting a welcome
# sequence and removing one of its steps, changing subscribers, their tags and segments, and exporting them.
PUBLISHING = {
    ("issues", "issue"): ["send_issue"],
    ("issues", "welcomesequence"): ["add_welcomesequence"],
    ("issues", "sequencestep"): ["delete_sequencestep"],
    ("subscribers", "subscriber"): ["add_subscriber", "change_subscriber", "export_subscribers"],
    ("subscribers", "subscription"): ["add_subscription", "change_subscription"],
    ("subscribers", "tag"): ["add_tag", "change_tag"],
    ("subscribers", "segment"): ["add_segment", "change_segment"],
}


def combined(*grants):
    merged = {}
    for grant in grants:
        for model, codenames in grant.items():
            merged.setdefault(model, []).extend(codenames)
    return merged


ROLES = {
    "Staff": {},
    "Viewer": VIEWER,
    "Editor": combined(VIEWER, EDITING),
    "Publisher": combined(VIEWER, EDITING, PUBLISHING),
}


def create_role_groups(apps, schema_editor):
    """Create the permissions first: on a fresh database they appear only after every
    migration ran (post_migrate), too late for a migration that grants them."""
    from django.contrib.auth.management import create_permissions

    for label in VIEWED_MODELS:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in ROLES.items():
        permissions = []
        for (app_label, model), codenames in grants.items():
            found = list(
                Permission.objects.filter(
                    content_type__app_label=app_label,
                    content_type__model=model,
                    codename__in=codenames,
                )
            )
            missing = set(codenames) - {p.codename for p in found}
            if missing:
                raise LookupError(f"{app_label}.{model} has no permission {sorted(missing)}")
            permissions += found
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("superfast", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("subscribers", "0009_drop_redundant_indexes"),
        ("issues", "0016_ledger_outcome_indexes"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
