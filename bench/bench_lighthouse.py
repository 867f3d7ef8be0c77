"""Lighthouse on the public pages: 100 in every category on home, archive and an issue page.

Serves the demo's content (``load_demo``: what a new user sees first) as ``make demo`` does
(DEBUG on, so plain http on loopback is allowed; SQLite under a temporary ``VAR_DIR``), from
gunicorn on a free loopback port, and runs Lighthouse 12.2.3 from ``node_modules`` (package.json
pins it: later versions need a newer Node than Debian's) with its default mobile settings
against each page, in Debian's ``/usr/bin/chromium`` (``CHROME_PATH``; no browser is ever
downloaded). Prints per page:

    BENCH lighthouse page=... performance=... accessibility=... best_practices=... seo=...
        benchmark_index=... cpu_slowdown=... ok=yes|no

Lighthouse's mobile settings slow the CPU down 4 times, a factor meant for a desktop
machine (its ``benchmarkIndex`` about 1,500); on a slower or busier machine the same page
then looks slower than on the phone it stands for, and Lighthouse warns so. As its
throttling guide advises, the factor is calibrated: one warm-up run measures this machine's
``benchmarkIndex`` and Lighthouse's own calculator turns it into the slowdown (4 on that
desktop, less on a slower machine; ``LIGHTHOUSE_CPU_SLOWDOWN`` sets it instead). Both
figures are printed on every line.

Each page is measured ``LIGHTHOUSE_RUNS`` times (default 3) and the run with the median
performance score counts, as Lighthouse's own guidance on variance advises: on a shared
machine one run's blocking time swings with the neighbours' load. ``ok`` is 100 in all
four. The audits that cost points are printed under a failing line, and the counted
reports are kept as ``var/bench/lighthouse/<page>.json`` (open them in the Lighthouse
viewer).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_archive import free_port, wait_until_serving
from bench.soak_demo import demo_environment

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
RUNS = int(os.environ.get("LIGHTHOUSE_RUNS", "3"))
REPORTS = ROOT / "var" / "bench" / "lighthouse"
CATEGORIES = {
    "performance": "performance",
    "accessibility": "accessibility",
    "best-practices": "best_practices",
    "seo": "seo",
}


def seed():
    """Run inside the site's environment: migrate, load the demo."""
    import django

    django.setup()
    from django.core.management import call_command

    from issues.models import Issue

    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_demo")
    print(Issue.objects.filter(status=Issue.Status.SENT).first().get_absolute_url())


def cpu_slowdown(benchmark_index: float) -> float:
    """The CPU slowdown that makes a machine of ``benchmark_index`` stand for Lighthouse's
    mid-tier phone: its throttling guide's calculator (piecewise linear: 1 at 150, 2 at
    800, 3 at 1,300, one more per 233 above)."""
    if benchmark_index >= 1300:
        return 3 + (benchmark_index - 1300) / 233
    if benchmark_index >= 800:
        return 2 + (benchmark_index - 800) / 500
    return 1 + max(benchmark_index - 150, 0) / 650


def lighthouse(url: str, profile: Path, slowdown: float | None = None) -> dict:
    """Lighthouse's JSON report of ``url`` (``slowdown``: the CPU slowdown, else 4)."""
    command = [
        "node",
        str(LIGHTHOUSE),
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags=--headless=new --no-sandbox --disable-gpu --user-data-dir={profile}",
    ]
    env = {**os.environ, "CHROME_PATH": CHROME, "PUPPETEER_SKIP_DOWNLOAD": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if done.returncode:
        raise RuntimeError(f"lighthouse failed on {url}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def short_comings(report: dict) -> list[str]:
    """The audits of a category below 100 that weigh on its score, with their scores."""
    lines = []
    for category in report["categories"].values():
        if category["score"] == 1:
            continue
        for ref in category["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                value = audit.get("displayValue", "")
                lines.append(f"#   {category['id']}: {audit['id']} {audit['score']} {value}")
    return lines


def main() -> int:
    if not LIGHTHOUSE.exists():
        raise SystemExit("lighthouse is missing: run `npm install` (package.json pins it)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ok_everywhere = True
    with tempfile.TemporaryDirectory(prefix="superfast-lighthouse-") as tmp:
        # Links and images of the demo's issue must reach this server, as in the demo.
        env = {**demo_environment(Path(tmp) / "var"), "SITE_URL": base}
        env["DJANGO_SETTINGS_MODULE"] = "superfast.settings"
        seeded = subprocess.run(
            [sys.executable, "-m", "bench.bench_lighthouse", "--seed"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        issue_path = seeded.stdout.strip().splitlines()[-1]
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "superfast.wsgi:application", "--workers", "2"]
            + ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        try:
            wait_until_serving(base + "/", server)
            profile = Path(tmp) / "chromium"
            index = lighthouse(base + "/", profile)["environment"]["benchmarkIndex"]
            slowdown = float(os.environ.get("LIGHTHOUSE_CPU_SLOWDOWN") or cpu_slowdown(index))
            for name, path in [("home", "/"), ("archive", "/archive/"), ("issue", issue_path)]:
                runs = [lighthouse(base + path, profile, slowdown) for _ in range(RUNS)]
                runs.sort(key=lambda run: run["categories"]["performance"]["score"] or 0)
                report = runs[len(runs) // 2]
                REPORTS.mkdir(parents=True, exist_ok=True)
                (REPORTS / f"{name}.json").write_text(json.dumps(report))
                scores = {
                    key: round((report["categories"][category]["score"] or 0) * 100)
                    for category, key in CATEGORIES.items()
                }
                ok = all(score == 100 for score in scores.values())
                ok_everywhere &= ok
                figures = " ".join(f"{key}={score}" for key, score in scores.items())
                figures += f" benchmark_index={index:.0f} cpu_slowdown={slowdown:.2f}"
                verdict = "yes" if ok else "no"
                line = f"BENCH lighthouse page={name} path={path} {figures} ok={verdict}"
                print(line, flush=True)
                if not ok:
                    print("\n".join(short_comings(report)), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0 if ok_everywhere else 1


if __name__ == "__main__":
    if "--seed" in sys.argv:
        seed()
    else:
        sys.exit(main())
