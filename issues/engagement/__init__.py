"""Engagement: what readers did with a sent issue, counted honestly.

- ``links``: the link table and the rewriting of the email's links, at the render for sending;
- ``tokens``: the signed link and reader parts of a tracked URL;
- ``middleware`` and ``views``: the click redirect (the hot path) and the open pixel;
- ``machines``: the scanner rules that keep machines' clicks apart from people's;
- ``recorder``: the durable buffer of clicks and opens, and its flush into the database;
- ``esp``: the ESP's delivered, bounced, complained, opened and clicked events;
- ``pseudonyms``: readers' per-issue pseudonyms, and the end of them once counts are final;
- ``history``: what is kept about one person, for their download, erasure and opt-out
  (which detach their clicks and opens, keeping every count);
- ``reports``: the selectors every report is built on.
"""
