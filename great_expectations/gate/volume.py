"""The volume check the gate applies to daily counts (events, orders placed, order facts).

A fixed band around "the 7 days before" withheld a small shop's report on about a third of
ordinary days: with three orders a day, an empty day or a busy one is chance, and a weekend
shop's Monday looks like a collapse next to its Saturday. So the check:

- counts **every calendar day**, an empty day as 0 (a day without rows is data, not a gap),
  from the first day present to the checked day;
- checks the **last complete day** (the day before the latest day present, so a half-loaded
  latest day never trips it) against the **same weekday** of the 4 weeks before, and the
  **last 7 days** against the 4 seven-day blocks before them; each baseline is the median,
  so one sale day or one outage in the history does not move it;
- fails a window only when its count is outside VOLUME_MIN_RATIO..VOLUME_MAX_RATIO of the
  baseline **and** differs from it by at least max(VOLUME_MIN_CHANGE, 3 x sqrt(baseline)) rows:
  the absolute floor. For a count that varies like a Poisson count, 3 x sqrt(mean) is a change
  that chance produces well under 1 time in 100; for a shop of three orders a day, only the
  7-day window can show a collapse (a week with none fails, one empty day does not).

With fewer than 2 earlier same weekdays (or 2 earlier 7-day blocks) a window has no baseline
and passes. A source that stops altogether is caught by the timeliness checks, not here: its
latest day stops moving. SQL is formatted by GX with `{batch}`: write no other braces.
"""

from __future__ import annotations

VOLUME_MIN_RATIO = 0.3
# Sale days reach several times an ordinary day; ten times the baseline is more likely a
# replayed load or a runaway producer than trade.
VOLUME_MAX_RATIO = 10.0
# Changes smaller than this many rows never fail, whatever the ratio.
VOLUME_MIN_CHANGE = 10
# Earlier weeks the baselines look at, and how many of them must exist.
BASELINE_WEEKS = 4
MIN_BASELINE_WEEKS = 2

VOLUME_DESCRIPTION = (
    f"the last complete day and its 7 days within {VOLUME_MIN_RATIO}x-{VOLUME_MAX_RATIO:g}x of the "
    f"{BASELINE_WEEKS} weeks before (same weekday, median; changes under {VOLUME_MIN_CHANGE} rows pass)"
)


def volume_query(day_expression: str, source: str, rows_expression: str = "count(*)") -> str:
    """Rows (one per failing window) when the checked day's or week's volume is out of band.
    `rows_expression` counts a day's rows: count(*) over rows, or sum(...) over a summary."""
    return f"""
with daily as (
    select {day_expression} as day, {rows_expression} as rows_on_day
    from {source}
    group by 1
),
bounds as (
    select min(day) as first_day, max(day) - 1 as checked_day from daily
),
days as (
    select calendar.day::date as day, coalesce(daily.rows_on_day, 0) as rows_on_day
    from bounds
    cross join lateral generate_series(bounds.first_day, bounds.checked_day, interval '1 day') as calendar (day)
    left join daily on daily.day = calendar.day::date
),
weeks as (
    select (bounds.checked_day - days.day) / 7 as weeks_back, sum(days.rows_on_day) as rows_in_week, count(*) as days_in_week
    from days
    cross join bounds
    group by 1
),
windows as (
    select
        'day' as window_checked,
        bounds.checked_day as day,
        (select rows_on_day from days where days.day = bounds.checked_day) as observed,
        (select percentile_cont(0.5) within group (order by rows_on_day) from days
          where days.day in (select bounds.checked_day - 7 * w from generate_series(1, {BASELINE_WEEKS}) as w)) as baseline,
        (select count(*) from days
          where days.day in (select bounds.checked_day - 7 * w from generate_series(1, {BASELINE_WEEKS}) as w)) as baseline_weeks
    from bounds
    union all
    select
        '7 days',
        bounds.checked_day,
        (select rows_in_week from weeks where weeks_back = 0 and days_in_week = 7),
        (select percentile_cont(0.5) within group (order by rows_in_week) from weeks
          where weeks_back between 1 and {BASELINE_WEEKS} and days_in_week = 7),
        (select count(*) from weeks where weeks_back between 1 and {BASELINE_WEEKS} and days_in_week = 7)
    from bounds
)
select window_checked, day, observed, round(baseline::numeric, 1) as baseline_median
from windows
where baseline_weeks >= {MIN_BASELINE_WEEKS}
  and observed is not null
  and (observed < {VOLUME_MIN_RATIO} * baseline or observed > {VOLUME_MAX_RATIO} * baseline)
  and abs(observed - baseline) >= greatest({VOLUME_MIN_CHANGE}, 3 * sqrt(baseline))
"""
