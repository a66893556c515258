"""Clock helpers: what "now" and "today" mean (R6).

Times are stored as aware UTC; calendar questions ("is the event upcoming?", "which school year?")
are answered in the configured zone (``POLARIS_TIMEZONE``, America/Chicago by default).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def local_today(zone: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """The calendar date in ``zone`` at ``now`` (default: the current time)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(zone).date()
