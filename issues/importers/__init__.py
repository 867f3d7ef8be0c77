"""Moving in from another platform: its export read into issues (and, by the readers side,
subscribers), and the one HTML → blocks converter that the paste in the editor reuses.

A layer above ``archive`` (old addresses become redirects there) and below ``admin``.
"""
