"""Welcome sequences for the tests: one step per delay, each email a real stream of blocks."""

from datetime import timedelta

from issues import sequences
from issues.models import Newsletter, WelcomeSequence

from .factories import add_blocks


def welcome_sequence(
    newsletter: Newsletter, *delays: timedelta, title: str = "Welcome"
) -> WelcomeSequence:
    """The newsletter's sequence with one step per delay, titled "``title`` 1", "2"..."""
    sequence = sequences.sequence_for(newsletter)
    for n, delay in enumerate(delays, start=1):
        step = sequences.add_step(sequence, title=f"{title} {n}", delay=delay)
        add_blocks(step.issue, sections=3)
    return sequence
