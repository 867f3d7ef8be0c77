"""The Django admin as a person uses it, in the real browser."""

EDITOR = ("editor", "editor@example.org", "correct horse 42")


def make_editor(django_user_model):
    """A superuser whose login ``log_into_admin`` knows."""
    return django_user_model.objects.create_superuser(*EDITOR)


def log_into_admin(page, base_url, username=EDITOR[0], password=EDITOR[2]):
    """Fill the admin's login form and wait for the dashboard."""
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


STAFF_PASSWORD = "a-long-test-password"


def staff(username, *codenames, email=""):
    """A staff user holding exactly the permissions ``codenames`` (e.g. ``send_issue``)."""
    from django.contrib.auth.models import Permission, User

    email = email or f"{username}@newsroom.example"
    user = User.objects.create_user(username, email=email, password=STAFF_PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user
