"""Segments and tags as sets of subscribers, evaluated inside the database.

A segment is a saved filter (``models.Segment``); ``SegmentRule`` is the same filter as plain
data, so the admin can count a form that is not saved yet. ``members(rule)`` turns a rule into
one queryset of EXISTS conditions (no subscriber passes through Python), which the admin
counts and the sender plans from.

Engagement ("clicked in the last N issues", "never clicked") is recorded by the newsletter's
side of the house, which this app never imports. That side registers a provider here when it
starts (``provide_engagement``, called from ``issues.apps``). Its answers only exist for
newsletters that keep per-subscriber history (``Newsletter.subscriber_history``): without
it a click is counted, never tied to a person, so a rule with an engagement condition on such
a newsletter is refused with the provider's reason instead of matching nobody (or everybody).
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from .models import Segment, Subscriber, Subscription, Tag
from .selectors import recipients

SubscriberTag = Subscriber.tags.through


@dataclass(frozen=True)
class EngagementProvider:
    """What the newsletter's records answer about clicks, as subscriber-id querysets.

    ``clicked(newsletter_id, last_issues)`` gives the ids of subscribers who clicked a link in
    one of the newsletter's last ``last_issues`` sent issues (``None``: in any issue ever).
    ``unavailable(newsletter_id)`` says why those answers would be wrong for this newsletter
    ("" when they are right).
    """

    clicked: Callable[[int, int | None], QuerySet]
    unavailable: Callable[[int], str]


_engagement: EngagementProvider | None = None


def provide_engagement(provider: EngagementProvider | None) -> None:
    """Register (or with ``None`` remove) the source of engagement conditions."""
    global _engagement
    _engagement = provider


def engagement_unavailable(newsletter_id: int | None) -> str:
    """Why engagement conditions cannot be used for this newsletter ("" when they can)."""
    if newsletter_id is None:
        return "Engagement conditions need a newsletter: clicks are recorded per newsletter."
    if _engagement is None:
        return "Engagement conditions need click data, which this installation does not record."
    return _engagement.unavailable(newsletter_id)


@dataclass(frozen=True)
class SegmentRule:
    """A segment's conditions as plain data; empty conditions match everyone."""

    newsletter_id: int | None = None
    tags_any: frozenset[int] = field(default_factory=frozenset)
    tags_all: frozenset[int] = field(default_factory=frozenset)
    tags_none: frozenset[int] = field(default_factory=frozenset)
    signed_up_after: date | None = None
    signed_up_before: date | None = None
    clicked_in_last_issues: int | None = None
    never_clicked: bool = False

    @classmethod
    def of(cls, segment: Segment) -> "SegmentRule":
        return cls(
            newsletter_id=segment.newsletter_id,
            tags_any=frozenset(segment.tags_any.values_list("pk", flat=True)),
            tags_all=frozenset(segment.tags_all.values_list("pk", flat=True)),
            tags_none=frozenset(segment.tags_none.values_list("pk", flat=True)),
            signed_up_after=segment.signed_up_after,
            signed_up_before=segment.signed_up_before,
            clicked_in_last_issues=segment.clicked_in_last_issues,
            never_clicked=segment.never_clicked,
        )

    @classmethod
    def from_form(cls, data: dict) -> "SegmentRule":
        """From a segment form's ``cleaned_data`` (model instances, querysets, dates)."""

        def ids(name):
            return frozenset(tag.pk for tag in data.get(name) or ())

        newsletter = data.get("newsletter")
        return cls(
            newsletter_id=newsletter.pk if newsletter else None,
            tags_any=ids("tags_any"),
            tags_all=ids("tags_all"),
            tags_none=ids("tags_none"),
            signed_up_after=data.get("signed_up_after"),
            signed_up_before=data.get("signed_up_before"),
            clicked_in_last_issues=data.get("clicked_in_last_issues"),
            never_clicked=bool(data.get("never_clicked")),
        )

    @property
    def uses_engagement(self) -> bool:
        return bool(self.clicked_in_last_issues) or self.never_clicked

    def problems(self) -> dict[str, str]:
        """Field name → why the conditions cannot hold together as written."""
        found = {}
        after, before = self.signed_up_after, self.signed_up_before
        if after and before and after >= before:
            found["signed_up_before"] = "This date must come after “signed up on or after”."
        both = (self.tags_any | self.tags_all) & self.tags_none
        if both:
            names = ", ".join(Tag.objects.filter(pk__in=both).values_list("name", flat=True))
            found["tags_none"] = f"A tag cannot be both required and excluded: {names}."
        if self.clicked_in_last_issues is not None and self.clicked_in_last_issues < 1:
            found["clicked_in_last_issues"] = "Count at least one issue, or leave it empty."
        if self.clicked_in_last_issues and self.never_clicked:
            found["never_clicked"] = "Nobody can both have clicked and never have clicked."
        if self.uses_engagement and "never_clicked" not in found:
            reason = engagement_unavailable(self.newsletter_id)
            if reason:
                name = "never_clicked" if self.never_clicked else "clicked_in_last_issues"
                found[name] = reason
        return found

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise ValidationError(problems)


def start_of_day(day: date) -> datetime:
    """Midnight of ``day`` in the site's time zone: dates mean the editor's days."""
    return timezone.make_aware(datetime.combine(day, time.min))


def members(rule: SegmentRule, ids: range | None = None) -> QuerySet[Subscriber]:
    """The active subscribers matching ``rule``: one query, every condition an EXISTS; with
    ``ids``, only those whose id is in that range, each condition bounded by it too (see
    ``selectors.recipients``).

    Raises ValidationError for a rule that cannot be evaluated (see ``SegmentRule.problems``):
    a send must never go to "everyone" because a condition was silently dropped.
    """
    rule.validate()
    chunk = {"subscriber_id__gte": ids.start, "subscriber_id__lt": ids.stop} if ids else {}
    subscription = Subscription.objects.filter(
        subscriber=OuterRef("pk"), status=Subscription.Status.ACTIVE, **chunk
    )
    if rule.newsletter_id:
        subscription = subscription.filter(newsletter_id=rule.newsletter_id)
    if rule.signed_up_after:
        subscription = subscription.filter(created_at__gte=start_of_day(rule.signed_up_after))
    if rule.signed_up_before:
        subscription = subscription.filter(created_at__lt=start_of_day(rule.signed_up_before))
    found = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).filter(Exists(subscription))
    if ids:
        found = found.filter(id__gte=ids.start, id__lt=ids.stop)
    tagged = SubscriberTag.objects.filter(subscriber_id=OuterRef("pk"), **chunk)
    if rule.tags_any:
        found = found.filter(Exists(tagged.filter(tag_id__in=rule.tags_any)))
    for tag_id in sorted(rule.tags_all):
        found = found.filter(Exists(tagged.filter(tag_id=tag_id)))
    if rule.tags_none:
        found = found.exclude(Exists(tagged.filter(tag_id__in=rule.tags_none)))
    if rule.clicked_in_last_issues:
        found = found.filter(
            pk__in=_engagement.clicked(rule.newsletter_id, rule.clicked_in_last_issues)
        )
    if rule.never_clicked:
        found = found.exclude(pk__in=_engagement.clicked(rule.newsletter_id, None))
    return found


def segment_members(segment: Segment) -> QuerySet[Subscriber]:
    return members(SegmentRule.of(segment))


def find_segment(name: str) -> Segment | None:
    return Segment.objects.filter(name__iexact=name.strip()).first()


def find_tag(name: str) -> Tag | None:
    return Tag.objects.filter(name__iexact=name.strip()).first()


def tags_named(names) -> dict[str, Tag]:
    """Tags by case-folded name, created when missing; an existing tag matches in any case."""
    found: dict[str, Tag] = {}
    for name in names:
        key = name.casefold()
        if key not in found:
            existing = Tag.objects.filter(name__iexact=name).first()
            found[key] = existing or Tag.objects.create(name=name)
    return found


def audience(
    newsletter_id: int,
    *,
    segment: Segment | None = None,
    tag: Tag | None = None,
    ids: range | None = None,
) -> QuerySet[Subscriber]:
    """Who may receive an issue of this newsletter, narrowed to a segment or a tag (and with
    ``ids``, to that range of subscriber ids: a chunk of a send plan).

    The same set of people ``members`` counts in the segment's admin page, so its live count
    is what a send delivers (less anyone who already received the issue).
    """
    if segment is None and tag is None:
        return recipients(newsletter_id, ids)
    rule = SegmentRule.of(segment) if segment else SegmentRule(tags_any=frozenset([tag.pk]))
    if rule.newsletter_id not in (None, newsletter_id):
        raise ValidationError(f"The segment “{segment}” is for another newsletter.")
    return members(replace(rule, newsletter_id=newsletter_id), ids)
