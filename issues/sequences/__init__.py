"""The welcome sequence: each new reader gets the newsletter's welcome emails in order.

``steps`` sets a sequence up and keeps each step's email frozen as it was last saved;
``planning`` is what beat runs: one set-based INSERT … SELECT per step writes the rows that
came due into the step's standing dispatch, and the ordinary sender takes it from there.
"""

from .planning import plan_due_steps, plan_sequence
from .steps import (
    StepCounts,
    add_step,
    is_live,
    newsletters_greeting_at_once,
    pause_sequence,
    refreeze_step_email,
    remove_step,
    resume_sequence,
    sequence_for,
    shows_in_live_welcome_email,
    step_counts,
)

__all__ = [
    "StepCounts",
    "add_step",
    "is_live",
    "newsletters_greeting_at_once",
    "pause_sequence",
    "plan_due_steps",
    "plan_sequence",
    "refreeze_step_email",
    "remove_step",
    "resume_sequence",
    "sequence_for",
    "shows_in_live_welcome_email",
    "step_counts",
]
