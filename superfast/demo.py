"""``make demo``: everything Superfast needs, on embedded defaults, in one terminal.

Migrates, makes an admin login, loads the demo content when that command exists, then runs
the web server, a Celery worker and Celery beat as child processes until Ctrl-C (or
SIGTERM), which stops all three. A child that dies is started again (superfast.supervisor).
"""

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time

import django
from django.conf import settings
from django.core.management import call_command, get_commands

from superfast.queue import HEARTBEAT, enqueue
from superfast.supervisor import Supervisor, kill_group, spawn_in_own_group

ADMIN_USERNAME = "admin"


def ensure_admin():
    """Create the demo admin, or give it the password kept under VAR_DIR when that changed.

    The password is set only when it differs: setting it again, even to the same one,
    changes the hash and with it every session's key, which logged everyone out at each
    start of the demo.
    """
    from django.contrib.auth import get_user_model

    password_file = settings.VAR_DIR / "admin-password.txt"
    if password_file.exists():
        password = password_file.read_text().strip()
    else:
        password = secrets.token_urlsafe(12)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    user, created = get_user_model().objects.get_or_create(
        username=ADMIN_USERNAME, defaults={"email": "admin@localhost"}
    )
    if created or not (user.is_staff and user.is_superuser and user.check_password(password)):
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
    return password


def prepare():
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    password = ensure_admin()
    if "load_demo" in get_commands():
        call_command("load_demo")
    return password


def child_commands(host, port):
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "superfast"]
    return {
        "web": [python, "manage.py", "runserver", "--noreload", f"{host}:{port}"],
        "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [*celery, "beat", "--loglevel=INFO"],
    }


def stop(processes):
    """Ask each process to stop, wait up to 15 s, then kill what is left of its group."""
    for proc in processes:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 15
    for proc in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        kill_group(proc.pid)
        proc.wait()


def log(line):
    print(f"{time.strftime('%H:%M:%S')} demo: {line}", file=sys.stderr, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superfast.settings")
    # Links and images in the demo's mail and pages must reach this server, on whatever port
    # it runs. The children read the variable when they start; this process read its
    # settings already (importing the package loads them for its Celery app), so they are
    # told too: the demo's sent issue is rendered here, by load_demo.
    site_url = os.environ.setdefault("SITE_URL", f"http://{args.host}:{args.port}")
    settings.SITE_URL = site_url.rstrip("/")
    django.setup()
    password = prepare()

    # SIGTERM stops the demo the way Ctrl-C does; so does SIGINT even when the demo was
    # started in the background, where the shell hands it down ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(KeyboardInterrupt))
    supervisor = Supervisor(
        child_commands(args.host, args.port),
        clock=time.monotonic,
        spawn=lambda command: spawn_in_own_group(command, cwd=settings.BASE_DIR),
        log=log,
    )
    try:
        supervisor.start()
        enqueue(HEARTBEAT, "demo")
        base = f"http://{args.host}:{args.port}"
        print(
            "\nSuperfast is running:\n"
            f"  public site   {base}/\n"
            f"  admin         {base}/admin/   login: {ADMIN_USERNAME} / {password}\n"
            f"  health        {base}/healthz\n"
            f"  demo mailbox  {settings.EMAIL_FILE_PATH}/  (one .eml file per message)\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while supervisor.check():
            time.sleep(0.5)
        log(supervisor.stopped_because)
        return 1
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        return 0
    finally:
        stop(supervisor.running())


if __name__ == "__main__":
    sys.exit(main())
