"""``make bench``: run every ``bench/bench_*.py`` in turn; each prints one ``BENCH`` line."""

import subprocess
import sys
from pathlib import Path


def main():
    scripts = sorted(Path(__file__).parent.glob("bench_*.py"))
    if not scripts:
        print("no benchmarks in bench/")
        return 0
    failed = []
    for script in scripts:
        module = f"bench.{script.stem}"
        print(f"# {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module]).returncode:
            failed.append(module)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
