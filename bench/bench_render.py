"""Rendering an issue once against filling one recipient's links into the frozen result.

Sending renders once per issue and substitutes per recipient; the ratio shows how much work
that saves per recipient (the limit: substituting must stay far cheaper than rendering).
"""

import os
import sys
import tempfile
import time


def per_call(function, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat


def main():
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="bench-render-")
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superfast.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("load_demo", stdout=quiet)

    from issues.compose.examples import example_links, fill
    from issues.compose.markers import Markers
    from issues.compose.rendering import render_issue
    from issues.models import Issue

    issue = Issue.objects.get(status=Issue.Status.SENT)
    rendered = render_issue(issue)
    values = example_links(Markers(rendered.marker_key))

    def substitute():
        fill(rendered.email_html, values, html=True)
        fill(rendered.text, values, html=False)

    render_s = per_call(lambda: render_issue(issue), 20)
    substitute_s = per_call(substitute, 2000)
    ratio = render_s / substitute_s
    size_kb = len(rendered.email_html.encode()) / 1024
    print(
        f"BENCH render render_ms={render_s * 1000:.2f} substitute_us={substitute_s * 1e6:.1f} "
        f"email_kb={size_kb:.1f} render_over_substitute={ratio:.0f}"
    )
    return 0 if ratio > 20 else 1


if __name__ == "__main__":
    sys.exit(main())
