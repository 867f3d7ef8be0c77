"""Delays as editors type them: "0", "90 s", "36 hours", "2 days", "1 day 6 hours"."""

import re
from datetime import timedelta

UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
    "week": 604800,
}
AMOUNT = re.compile(r"(\d+)\s*([a-z]*)")
LONGEST_DELAY = timedelta(days=365)


def parse_delay(raw: str) -> timedelta:
    """``0``, ``90`` (seconds), ``90 s``, ``36 hours``, ``2 days``, ``1 day 6 hours``."""
    text = raw.strip().lower().replace(",", " ")
    if not text:
        raise ValueError("Give a delay: 0 for at once, or e.g. “2 days”.")
    seconds, position = 0, 0
    for match in AMOUNT.finditer(text):
        if text[position : match.start()].strip():
            break
        unit = match.group(2).removesuffix("s") if len(match.group(2)) > 1 else match.group(2)
        if unit not in UNITS and match.group(2):
            raise ValueError(f"“{match.group(2)}” is not a unit: use seconds, hours, days, weeks.")
        seconds += int(match.group(1)) * UNITS.get(unit, 1)
        position = match.end()
    if position == 0 or text[position:].strip():
        raise ValueError(f"“{raw}” is not a delay: write e.g. “0”, “36 hours” or “2 days”.")
    delay = timedelta(seconds=seconds)
    if delay > LONGEST_DELAY:
        raise ValueError("A welcome email waits at most a year.")
    return delay


def format_delay(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    if seconds == 0:
        return "0"
    parts = []
    for name, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (name != "week" or seconds % size == 0):
            amount, seconds = divmod(seconds, size)
            parts.append(f"{amount} {name}{'s' if amount > 1 else ''}")
    if seconds:
        parts.append(f"{seconds} s")
    return " ".join(parts)
