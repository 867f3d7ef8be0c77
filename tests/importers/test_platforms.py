"""Each platform's timestamps, as their exports write them, read as aware UTC times."""

from datetime import UTC, datetime

import pytest

from issues.importers.platforms import when


@pytest.mark.parametrize(
    "written, read",
    [
        ("2023-01-09T14:00:12.431Z", datetime(2023, 1, 9, 14, 0, 12, 431000, tzinfo=UTC)),
        ("2023-01-02 16:55:00+00:00", datetime(2023, 1, 2, 16, 55, tzinfo=UTC)),
        ("2023-01-01", datetime(2023, 1, 1, tzinfo=UTC)),
        ("2023-01-01 08:30", datetime(2023, 1, 1, 8, 30, tzinfo=UTC)),
        ("", None),
        ("yesterday", None),
    ],
)
def test_dates_as_platforms_write_them(written, read):
    assert when(written) == read
