"""What is known about a date before it comes: weekday, season and the main country's holidays.

Holidays come from the `holidays` package (rules computed offline). Black Friday and Cyber
Monday are retail events, not public holidays: they are derived from Thanksgiving, which is.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
import numpy as np


@lru_cache(maxsize=8)
def _holidays(country: str, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays(country, years=year).keys())


def _thanksgiving(year: int) -> dt.date:
    november_first = dt.date(year, 11, 1)
    first_thursday = 1 + (3 - november_first.weekday()) % 7
    return dt.date(year, 11, first_thursday + 21)


def calendar_features(dates: list[dt.date], country: str) -> dict[str, np.ndarray]:
    weekday = np.array([d.weekday() for d in dates], dtype=float)
    day_of_year = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    angle = 2 * np.pi * day_of_year / 365.25
    is_holiday = np.array([d in _holidays(country, d.year) for d in dates], dtype=float)
    retail = []
    for d in dates:
        thanksgiving = _thanksgiving(d.year)
        retail.append(d in (thanksgiving + dt.timedelta(days=1), thanksgiving + dt.timedelta(days=4)))
    return {
        "weekday": weekday,
        "month": np.array([d.month for d in dates], dtype=float),
        "season_sin": np.sin(angle),
        "season_cos": np.cos(angle),
        "is_holiday": is_holiday,
        "is_black_friday_or_cyber_monday": np.array(retail, dtype=float),
    }
