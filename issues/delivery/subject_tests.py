"""A/B subject tests on the ledger: split, wait, decide, release the rest.

1. ``start_dispatch`` stores the test with the dispatch (``create_test``).
2. Planning writes every recipient's row as usual, then ``split_test_group`` picks the test
   group at random in one UPDATE: its rows get a variant (0..n-1, evenly) and stay
   ``pending``; the others become ``held``, which no claim ever takes. ``decide_at`` is set.
3. The sender serializes the message once per variant (only the subject differs) and
   substitutes per recipient as always.
4. Beat's sweep calls ``decide_due_tests``: once ``decide_at`` has passed, the variant with the
   best rate wins (unique human clicks, or estimated unique opens where they are measured),
   and one UPDATE turns every held row into a pending row of the winning variant.

Nothing waits in the broker: the wait is ``decide_at`` in a row, the split and the verdict are
conditional updates under the test's row lock. A worker killed at any point leaves rows that
the sweeper and the next beat take up; each recipient still has one row, sent once.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from superfast.validators import has_control_characters

from ..engagement import recorder
from ..engagement.variants import VariantFigures, variant_engagement
from ..models import Delivery, Dispatch, Issue, SubjectTest
from ..models.subject_tests import MAX_SUBJECTS
from .queue import enqueue_senders

Status = Delivery.Status
LONGEST_WAIT = timedelta(days=7)
LARGEST_TEST_PERCENT = 50


class SubjectTestRefused(ValueError):
    """The setup cannot be run; the message says what to change."""


@dataclass(frozen=True)
class SubjectTestSetup:
    subjects: list[str]
    test_percent: int
    wait: timedelta
    criterion: str


def validate_setup(
    issue: Issue, subjects: list[str], test_percent: int, wait: timedelta, criterion: str
) -> SubjectTestSetup:
    """A setup the editor asked for, checked; ``SubjectTestRefused`` names what is wrong."""
    if any(has_control_characters(s) for s in subjects):
        raise SubjectTestRefused("A subject is one line, without control characters.")
    subjects = [" ".join(s.split()) for s in subjects if s and s.strip()]
    if len(subjects) < 2:
        raise SubjectTestRefused("A subject test needs at least two subjects.")
    if len(subjects) > MAX_SUBJECTS:
        raise SubjectTestRefused(f"A subject test takes at most {MAX_SUBJECTS} subjects.")
    if len({s.casefold() for s in subjects}) < len(subjects):
        raise SubjectTestRefused("Each subject must differ from the others.")
    for subject in subjects:
        if len(subject) > 200:
            raise SubjectTestRefused("A subject is at most 200 characters.")
    if not 1 <= test_percent <= LARGEST_TEST_PERCENT:
        raise SubjectTestRefused(
            f"The test group is between 1% and {LARGEST_TEST_PERCENT}% of the list."
        )
    if not timedelta(seconds=1) <= wait <= LONGEST_WAIT:
        raise SubjectTestRefused("The wait is between one second and seven days.")
    if criterion not in SubjectTest.Criterion.values:
        raise SubjectTestRefused("Choose how the winner is decided: clicks or opens.")
    if criterion == SubjectTest.Criterion.OPENS and not issue.newsletter.track_opens:
        raise SubjectTestRefused(
            "Opens are not measured for this newsletter (open tracking is off): decide by clicks."
        )
    return SubjectTestSetup(subjects, test_percent, wait, criterion)


def create_test(dispatch: Dispatch, setup: SubjectTestSetup) -> SubjectTest:
    return SubjectTest.objects.create(
        dispatch=dispatch,
        subjects=setup.subjects,
        test_percent=setup.test_percent,
        wait_seconds=int(setup.wait.total_seconds()),
        criterion=setup.criterion,
    )


def split_test_group(dispatch: Dispatch) -> int:
    """Choose the test group at random among the dispatch's new rows, in one statement.

    Runs once per test (the test's status moves from planning to testing in the same
    transaction), so a planner that died and runs again never splits twice.
    """
    with transaction.atomic():
        test = (
            SubjectTest.objects.select_for_update()
            .filter(dispatch=dispatch, status=SubjectTest.Status.PLANNING)
            .first()
        )
        if test is None:
            return 0
        pending = dispatch.deliveries.filter(status=Status.PENDING, variant__isnull=True)
        total = pending.count()
        variants = len(test.subjects)
        size = min(total, max(variants, round(total * test.test_percent / 100)))
        table = connection.ops.quote_name(Delivery._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET "
                f"variant = CASE WHEN r.n < %s THEN r.n %% %s ELSE NULL END, "
                f"status = CASE WHEN r.n < %s THEN %s ELSE %s END "
                f"FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY random()) - 1 AS n FROM {table} "
                f"WHERE dispatch_id = %s AND status = %s AND variant IS NULL) AS r "
                f"WHERE {table}.id = r.id",
                [size, variants, size, Status.PENDING, Status.HELD, dispatch.pk, Status.PENDING],
            )
        now = timezone.now()
        test.status = SubjectTest.Status.TESTING
        test.test_size = size
        test.decide_at = now + timedelta(seconds=test.wait_seconds)
        test.save(update_fields=["status", "test_size", "decide_at"])
    return size


def decide_due_tests(now: datetime | None = None) -> list[int]:
    """Beat: decide every test whose wait is over (its dispatch sending, not paused)."""
    now = now or timezone.now()
    due = SubjectTest.objects.filter(
        status=SubjectTest.Status.TESTING,
        decide_at__lte=now,
        dispatch__status=Dispatch.Status.SENDING,
    ).select_related("dispatch__issue__newsletter")
    return [test.dispatch_id for test in due if decide(test, now)]


def decide(test: SubjectTest, now: datetime | None = None) -> bool:
    """Pick the winner and release the rest to it; False when another process did first."""
    now = now or timezone.now()
    recorder.flush()  # clicks still in the buffer count too
    with transaction.atomic():
        locked = SubjectTest.objects.select_for_update().filter(
            pk=test.pk, status=SubjectTest.Status.TESTING
        )
        if not locked.exists():
            return False
        figures = variant_engagement(test.dispatch.issue)
        winner = pick_winner(test, figures)
        Delivery.objects.filter(dispatch_id=test.dispatch_id, status=Status.HELD).update(
            status=Status.PENDING, variant=winner, next_attempt_at=now
        )
        locked.update(
            status=SubjectTest.Status.DECIDED,
            winner=winner,
            decided_at=now,
            figures={str(v): asdict(f) for v, f in figures.items()},
        )
        transaction.on_commit(lambda: enqueue_senders(test.dispatch_id))
    return True


def close_test(dispatch: Dispatch) -> bool:
    """The dispatch was cancelled before its test decided: the test closes with the figures
    its groups reached so far, and no winner (the rest, if sent later, gets subject A)."""
    with transaction.atomic():
        locked = SubjectTest.objects.select_for_update().filter(
            dispatch=dispatch,
            status__in=[SubjectTest.Status.PLANNING, SubjectTest.Status.TESTING],
        )
        test = locked.first()
        if test is None:
            return False
        recorder.flush()  # clicks still in the buffer count too
        figures = variant_engagement(dispatch.issue)
        locked.update(
            status=SubjectTest.Status.CANCELLED,
            decided_at=timezone.now(),
            figures={str(v): asdict(f) for v, f in figures.items()},
        )
    return True


def score(test: SubjectTest, figures: VariantFigures) -> float:
    """The variant's rate by the test's criterion (opens fall back to clicks if unmeasured)."""
    if not figures.sent:
        return 0.0
    return measure(test, figures) / figures.sent


def pick_winner(test: SubjectTest, figures: dict[int, VariantFigures]) -> int:
    """The best rate; on a tie the earlier subject (variant 0 is the issue's own)."""
    if not figures:
        return 0
    return max(sorted(figures), key=lambda v: (score(test, figures[v]), -v))


# A test whose figures were kept when it ended: decided, or closed by a cancel.
FIGURES_KEPT = {SubjectTest.Status.DECIDED, SubjectTest.Status.CANCELLED}


class VariantProgress(TypedDict):
    """One subject of a test and what its part of the audience did."""

    variant: int
    letter: str  # A, B, C, D as the admin names them
    subject: str
    sent: int
    unique_clickers: int
    unique_openers_estimated: int | None  # None: opens not measured
    click_rate_label: str  # unique clickers / sent: the variants differ in size
    open_rate_label: str  # "" when opens are not measured
    is_winner: bool


class SubjectTestProgress(TypedDict):
    """A subject test as the progress JSON and the delivery report show it."""

    status: str
    status_label: str
    criterion: str  # its label: what decides the winner
    test_percent: int
    test_size: int
    decide_at: str | None  # ISO 8601
    decide_at_label: str
    held: int  # the rest of the list, waiting for the winner
    winner: int | None
    variants: list[VariantProgress]
    tie_rule: str  # how a tie is decided, in words
    data_warning: str  # "" unless the verdict rests on no data or too little


def test_progress(dispatch: Dispatch) -> SubjectTestProgress | None:
    """The test for the progress JSON and the report: each variant's subject and figures."""
    test = SubjectTest.objects.filter(dispatch=dispatch).first()
    if test is None:
        return None
    figures = (
        {int(v): VariantFigures(**f) for v, f in test.figures.items()}
        if test.status in FIGURES_KEPT
        else variant_engagement(dispatch.issue)
    )
    measured = sum(measure(test, f) for f in figures.values())
    return {
        "status": test.status,
        "status_label": test.get_status_display(),
        "criterion": test.get_criterion_display(),
        "test_percent": test.test_percent,
        "test_size": test.test_size,
        "decide_at": test.decide_at.isoformat() if test.decide_at else None,
        "decide_at_label": f"{test.decide_at:%Y-%m-%d %H:%M:%S} UTC" if test.decide_at else "",
        "held": dispatch.deliveries.filter(status=Status.HELD).count(),
        "winner": test.winner,
        "variants": [
            {
                "variant": n,
                "letter": "ABCD"[n],
                "subject": subject,
                "sent": figures[n].sent if n in figures else 0,
                "unique_clickers": figures[n].unique_clickers if n in figures else 0,
                "unique_openers_estimated": (
                    figures[n].unique_openers_estimated if n in figures else None
                ),
                "click_rate_label": rate_label(figures.get(n), "unique_clickers"),
                "open_rate_label": rate_label(figures.get(n), "unique_openers_estimated"),
                "is_winner": test.winner == n,
            }
            for n, subject in enumerate(test.subjects)
        ],
        "tie_rule": TIE_RULE,
        "data_warning": data_warning(test, measured),
    }


TIE_RULE = (
    "Variants are compared by rate (readers who did it over messages sent); on a tie the "
    "earlier subject wins, so with no difference the issue's own subject (A) is kept."
)


def measure(test: SubjectTest, figures: VariantFigures) -> int:
    """The readers who count towards the verdict: clickers, or openers when it is opens."""
    openers = figures.unique_openers_estimated
    if test.criterion == SubjectTest.Criterion.OPENS and openers is not None:
        return openers
    return figures.unique_clickers


def rate_label(figures: VariantFigures | None, field: str) -> str:
    count = getattr(figures, field, None) if figures else 0
    if count is None:
        return ""
    sent = figures.sent if figures else 0
    return f"{100 * count / sent:.1f}%" if sent else "–"


def data_warning(test: SubjectTest, measured: int) -> str:
    """Why the verdict cannot be trusted, once it is in: nothing to go by, or too little
    (fewer readers than ``SUBJECT_TEST_MIN_CLICKERS`` did what decides it)."""
    if test.status != SubjectTest.Status.DECIDED:
        return ""
    did = "opened" if test.criterion == SubjectTest.Criterion.OPENS else "clicked"
    if not measured:
        return (
            f"Picked on no data: nobody {did} in the test, so the issue's own subject (A) was kept."
        )
    least = settings.SUBJECT_TEST_MIN_CLICKERS
    if measured < least:
        readers = "1 reader" if measured == 1 else f"{measured} readers"
        return (
            f"Picked on too little data: {readers} {did} in the test, fewer than the {least} "
            "a verdict needs (SUBJECT_TEST_MIN_CLICKERS). The difference may be chance."
        )
    return ""
