"""The Nu HTML Checker (vnu-jar from npm, `make test` installs it), run with Java."""

import json
import subprocess
from pathlib import Path

from django.conf import settings

VNU = Path(settings.BASE_DIR) / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# A short run: the JVM's quick compiler only and the simple collector start it in about half
# the time; the schema's recursion needs a deeper stack than the quick compiler's default.
JAVA_OPTIONS = ["-Xss16m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


def nu_errors(documents: dict[str, str], folder: Path) -> dict[str, list[str]]:
    """The checker's errors in each named HTML document, all checked by one Java start
    (starting the JVM costs more than checking a page)."""
    assert VNU.exists(), f"{VNU} is missing: `make test` runs npm install"
    names = {}
    for number, (name, html) in enumerate(documents.items()):
        path = folder / f"page-{number}.html"
        path.write_text(html, encoding="utf-8")
        names[path.name] = name
    command = ["java", *JAVA_OPTIONS, "-jar", str(VNU), "--errors-only", "--format", "json"]
    result = subprocess.run(
        [*command, *sorted(str(folder / name) for name in names)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    try:
        messages = json.loads(result.stderr)["messages"]
    except ValueError:
        raise AssertionError(f"The checker did not run: {result.stderr[-2000:]}") from None
    found: dict[str, list[str]] = {}
    for message in messages:
        url = message.get("url", "?")
        name = names.get(url.rsplit("/", 1)[-1], url)
        text = f"line {message.get('lastLine', '?')}: {message['message']}"
        found.setdefault(name, []).append(f"{text} {message.get('extract', '')!r}")
    return found
