"""Engagement: what readers did with a sent issue, counted honestly.

- ``links``: the link table and the rewriting of the email's links, at the render for sending;
- ``tokens``: the signed link and reader parts of a tracked URL;
- ``views``: the click redirect (the hot path) and the open pixel;
- ``machines``: the scanner rules that keep machines' clicks apart from people's;
- ``recorder``: the durable buffer of clicks and opens, and its flush into the database;
- ``esp``: the ESP's delivered, bounced, complained, opened and clicked events;
- ``history``: per-subscriber history where a newsletter opted in (export, erasure, opt-out);
- ``reports``: the selectors every report is built on.
"""
