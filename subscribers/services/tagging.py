"""Putting tags on many subscribers at once, inside the database.

An editor may select every one of 100,000 subscribers in the admin and tag them: one
``INSERT … SELECT`` (skipping those who have the tag) and one ``DELETE``, never a row at a
time.
"""

from django.db import connection
from django.db.models import QuerySet

from ..models import Subscriber, Tag

SubscriberTag = Subscriber.tags.through


def add_tag(subscribers: QuerySet[Subscriber], tag: Tag) -> int:
    """Tag every subscriber of the queryset; returns how many did not have the tag yet."""
    select, params = subscribers.order_by().values_list("id").distinct().query.sql_with_params()
    table = connection.ops.quote_name(SubscriberTag._meta.db_table)
    # "WHERE true" keeps SQLite from reading ON CONFLICT as part of the SELECT's join.
    sql = (
        f"INSERT INTO {table} (subscriber_id, tag_id) SELECT s.id, %s FROM ({select}) AS s "
        f"WHERE true ON CONFLICT (subscriber_id, tag_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tag.pk, *params])
        return int(cursor.rowcount)


def remove_tag(subscribers: QuerySet[Subscriber], tag: Tag) -> int:
    """Take the tag off every subscriber of the queryset; returns how many had it."""
    chosen = subscribers.order_by().values("pk")
    removed, _ = SubscriberTag.objects.filter(tag=tag, subscriber_id__in=chosen).delete()
    return removed
