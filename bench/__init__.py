"""Benchmarks: ``make bench`` runs each ``bench_*.py``; each prints one ``BENCH`` line.

They run on this machine's embedded development settings unless a benchmark sets its own
(the archive benchmark serves with DEBUG off): DEBUG is off by default, and production
settings would ask for secrets a throwaway benchmark site does not have.
"""

import os

os.environ.setdefault("DEBUG", "1")
