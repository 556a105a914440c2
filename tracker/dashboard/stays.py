"""The median stay per rung, read off the maintained histogram of finished stays.

Two reads whatever the register's size: the 30-day buckets ("stays_30") say which bucket
holds each rung's median, then only that bucket's days ("stays") are read by primary key.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select, union_all

from tracker.dashboard.aggregates import STAY_BUCKET_DAYS, usable, zone_rows
from tracker.dashboard.models import DashboardAggregate
from tracker.extensions import db


def _walk(buckets: list[tuple[int, int]], position: int) -> tuple[int, int]:
    """(the bucket holding the `position`-th value, values before it) of sorted buckets."""
    seen = 0
    for value, n in sorted(buckets):
        if seen + n >= position:
            return value, seen
        seen += n
    raise ValueError(position)


def median_stays(user: Any) -> dict[str, tuple[int, int]] | None:
    """The shape of history.median_stays (lower median), from the summed histogram: the
    coarse buckets say which bucket holds each rung's median, and only that bucket's days are
    read — each rung's by the primary key (measure, zone, key, sub), every zone named — not
    every length there is.

    The buckets are read per zone (a primary-key range each) and summed here: the same rows
    the database would sum, and they name the zones with stays for the second read (no query
    of their own)."""
    if not usable(user):
        return None
    figures = DashboardAggregate
    summed: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    zones: set[str] = set()
    for zone, rung, bucket, n in db.session.execute(
            select(figures.zone, figures.key, figures.sub, figures.value)
            .where(figures.measure == "stays_30", zone_rows(user))):
        if n:
            zones.add(zone)
            summed[rung][int(bucket)] += int(n)
    by_rung = {rung: list(buckets.items()) for rung, buckets in summed.items()}
    wanted: dict[str, tuple[int, int, int]] = {}  # rung -> (total, position in bucket, bucket)
    for rung, buckets in by_rung.items():
        total = sum(n for _b, n in buckets)
        bucket, before = _walk(buckets, (total + 1) // 2)
        wanted[rung] = (total, (total + 1) // 2 - before, bucket)
    if not wanted:
        return {}
    # the zones with stays (usually every one): named, so each read is a primary-key range
    parts = [select(figures.key, figures.sub, figures.value)
             .where(figures.measure == "stays", figures.zone.in_(sorted(zones)),
                    figures.key == rung,
                    figures.sub.in_([str(d) for d in range(bucket * STAY_BUCKET_DAYS,
                                                           (bucket + 1) * STAY_BUCKET_DAYS)]),
                    zone_rows(user))
             for rung, (_t, _p, bucket) in sorted(wanted.items())]
    fine: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for rung, day, n in db.session.execute(union_all(*parts)):
        fine[rung][int(day)] += n
    return {rung: (_walk(list(fine[rung].items()), position)[0], total)
            for rung, (total, position, _b) in wanted.items()}
