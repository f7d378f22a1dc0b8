"""Features of a (product, origin, horizon) row, built from data up to the origin only.

The origin t is the last day whose data is known (the as-of date); the target day is t + h.
Everything taken from the panel reads days <= t; everything about the target day is calendar
(known in advance). Values are divided by the product's level (its mean clean daily units over
the 28 days up to t), so one global model serves products that sell 0.1 and 40 units a day.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .calendar import calendar_features
from .panel import Panel

MIN_LEVEL = 0.05
MAX_COVER_DAYS = 90.0

PRODUCT_FEATURES = [
    "log_level",
    "ratio_mean_7",
    "ratio_mean_14",
    "ratio_last_day",
    "ratio_same_weekday_1",
    "ratio_same_weekday_4",
    "trend_28_vs_84",
    "censored_share_7",
    "censored_share_28",
    "clean_days_28",
    "cover_days",
    "log_price",
    "price_vs_90_day_max",
    "price_change_7",
    "days_since_price_change",
    "discount_share_7",
    "days_on_file",
]
CALENDAR_FEATURES = ["weekday", "month", "season_sin", "season_cos", "is_holiday", "is_black_friday_or_cyber_monday"]
FEATURES = ["horizon", *PRODUCT_FEATURES, *CALENDAR_FEATURES, "category_code"]


@dataclass
class Rows:
    """Feature rows for some origins and horizons, with what the baselines and metrics need beside them."""

    X: np.ndarray  # [N, len(FEATURES)]
    product: np.ndarray  # product index into the panel
    origin: np.ndarray  # origin day index
    horizon: np.ndarray
    level: np.ndarray  # scale the model's output is multiplied by
    seasonal_naive: np.ndarray  # same weekday, last observed week (units)
    moving_average: np.ndarray  # mean clean units, 28 days (units)
    target: np.ndarray  # clean units on the target day (NaN when unknown or censored)

    def take(self, mask: np.ndarray) -> "Rows":
        return Rows(*(getattr(self, f)[mask] for f in ("X", "product", "origin", "horizon", "level", "seasonal_naive", "moving_average", "target")))

    @staticmethod
    def concat(parts: list["Rows"]) -> "Rows":
        fields = ("X", "product", "origin", "horizon", "level", "seasonal_naive", "moving_average", "target")
        return Rows(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


def _window_mean(values: np.ndarray, end: int, width: int) -> np.ndarray:
    lo = max(0, end - width + 1)
    window = values[:, lo : end + 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return np.nanmean(window, axis=1) if window.shape[1] else np.full(values.shape[0], np.nan)


def _share(flags: np.ndarray, end: int, width: int) -> np.ndarray:
    lo = max(0, end - width + 1)
    return flags[:, lo : end + 1].mean(axis=1)


def origin_rows(panel: Panel, clean: np.ndarray, origin: int, horizons: int, category_codes: np.ndarray, country: str, products: np.ndarray) -> Rows:
    """Rows for `products` (panel indexes) at one origin, horizons 1..`horizons`.

    `clean` may run past the origin (training, backtests): only its target column is read there.
    """
    t = origin
    known = clean[products, : t + 1]
    # Black Friday and Cyber Monday sell ~2.5x: kept out of the level and the rolling means, or
    # they would lift every forecast of the four weeks after them (the target day's own flag
    # is a feature instead).
    lo = max(0, t - 90)
    events = calendar_features([panel.date_of(i) for i in range(lo, t + 1)], country)["is_black_friday_or_cyber_monday"] > 0
    if events.any():
        known = known.copy()
        known[:, lo + np.nonzero(events)[0]] = np.nan
    mean7 = _window_mean(known, t, 7)
    mean14 = _window_mean(known, t, 14)
    mean28 = _window_mean(known, t, 28)
    older = _window_mean(known[:, : max(0, t - 27)], t - 28, 56) if t >= 28 else np.full(len(products), np.nan)
    level = np.where(np.isnan(mean28), np.where(np.isnan(mean14), mean7, mean14), mean28)
    level = np.maximum(np.nan_to_num(level, nan=0.0), MIN_LEVEL)

    censored = panel.censored[products, : t + 1] | ~panel.exists[products, : t + 1]
    price = panel.price[products, : t + 1]
    price_t = price[:, t]
    lo90 = max(0, t - 89)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        max90 = np.nanmax(price[:, lo90 : t + 1], axis=1)
    price_week_ago = price[:, t - 7] if t >= 7 else np.full(len(products), np.nan)
    changed = np.zeros(len(products))
    for i in range(len(products)):
        row = price[i]
        same = row == price_t[i]
        # Days since the price last differed from today's (capped at the history seen).
        diff = np.nonzero(~same[::-1])[0]
        changed[i] = diff[0] if len(diff) else min(t + 1, 365)
    on_file = panel.exists[products, : t + 1].sum(axis=1).astype(float)
    on_hand = np.nan_to_num(panel.on_hand[products, t], nan=0.0)

    base = {
        "log_level": np.log(level),
        "ratio_mean_7": mean7 / level,
        "ratio_mean_14": mean14 / level,
        "ratio_last_day": known[:, t] / level,
        "trend_28_vs_84": np.log((np.nan_to_num(mean28, nan=0.0) + MIN_LEVEL) / (np.nan_to_num(older, nan=0.0) + MIN_LEVEL)),
        "censored_share_7": _share(censored, t, 7),
        "censored_share_28": _share(censored, t, 28),
        "clean_days_28": (~np.isnan(known[:, max(0, t - 27) : t + 1])).sum(axis=1).astype(float),
        "cover_days": np.minimum(on_hand / level, MAX_COVER_DAYS),
        "log_price": np.log(np.maximum(np.nan_to_num(price_t, nan=1.0), 0.01)),
        "price_vs_90_day_max": price_t / max90,
        "price_change_7": price_t / price_week_ago,
        "days_since_price_change": np.minimum(changed, 365.0),
        "discount_share_7": panel.discount[products, max(0, t - 6) : t + 1].mean(axis=1),
        "days_on_file": np.minimum(on_file, 365.0),
    }

    parts = []
    target_dates = [panel.date_of(t + h) for h in range(1, horizons + 1)]
    cal = calendar_features(target_dates, country)
    for h in range(1, horizons + 1):
        d = t + h
        k = math.ceil(h / 7)
        lags = [d - 7 * (k + j) for j in range(4)]
        same1 = known[:, lags[0]] if lags[0] >= 0 else np.full(len(products), np.nan)
        same4 = np.stack([known[:, i] if i >= 0 else np.full(len(products), np.nan) for i in lags], axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            same4_mean = np.nanmean(same4, axis=1)
        # Seasonal naive: the same weekday in the latest week observed; a censored or missing
        # day falls back to the weeks before it, then to the 7-day mean.
        naive = same1.copy()
        for j in range(1, 4):
            naive = np.where(np.isnan(naive), same4[:, j], naive)
        naive = np.where(np.isnan(naive), np.nan_to_num(mean7, nan=0.0), naive)
        columns = {"horizon": np.full(len(products), float(h)), **base}
        columns["ratio_same_weekday_1"] = same1 / level
        columns["ratio_same_weekday_4"] = same4_mean / level
        for name in CALENDAR_FEATURES:
            columns[name] = np.full(len(products), cal[name][h - 1])
        columns["category_code"] = category_codes[products].astype(float)
        X = np.column_stack([columns[f] for f in FEATURES])
        target = clean[products, d] if d < clean.shape[1] else np.full(len(products), np.nan)
        parts.append(
            Rows(
                X=X,
                product=products.copy(),
                origin=np.full(len(products), t),
                horizon=np.full(len(products), h),
                level=level,
                seasonal_naive=naive,
                moving_average=np.nan_to_num(mean28, nan=0.0),
                target=target,
            )
        )
    return Rows.concat(parts)
