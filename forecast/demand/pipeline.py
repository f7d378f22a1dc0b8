"""forecast_as_of(): the next `horizon` days for every active product and category.

Steps, all on the panel cut at the as-of day (Panel.upto), so nothing after it can reach a
forecast:
  1. feature rows at weekly training origins before the as-of day (targets up to it);
  2. the model trained on targets up to as-of - CALIBRATION_DAYS and scored on the targets
     after that: the conformal calibration set (rows it never saw);
  3. the same model predicting from the as-of day itself, its features built from everything
     up to it. Refitting on the last three weeks too would double the training time (the
     costliest step on a shared 2-core machine) for little: the features already carry them.
  4. intervals from the calibration scores; categories are the sums of their products, with
     intervals calibrated on category sums the same way;
  5. the published forecast is the median of each day's demand (point.py), the model's mean
     kept beside it as expected_units; the interval is widened, if need be, to hold the median.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .features import Rows, origin_rows
from .intervals import ConformalIntervals
from .models import MODEL_NAMES, make_model
from .panel import Panel
from .point import median_units

CALIBRATION_DAYS = 21
MIN_HISTORY_DAYS = 28


class NotEnoughHistory(ValueError):
    """The shop's history is too short to train on or to calibrate intervals (a new shop): the
    forecast is skipped with this reason, not failed; it starts once the history is long enough."""


@dataclass(frozen=True)
class Settings:
    horizon: int = 14
    models: tuple[str, ...] = MODEL_NAMES
    seed: int = 42
    interval_level: float = 0.8
    max_training_origins: int = 16
    threads: int = 2
    country: str = "US"


@dataclass
class Timings:
    train_seconds: dict[str, float] = field(default_factory=dict)
    predict_seconds: dict[str, float] = field(default_factory=dict)


def category_codes(panel: Panel) -> np.ndarray:
    names = sorted(set(panel.categories))
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[c] for c in panel.categories], dtype="int64")


def active_products(panel: Panel, day: int) -> np.ndarray:
    """Products on sale on `day`: a stock row that day and active in the product dimension."""
    return np.nonzero(panel.exists[:, day] & panel.active[:, day])[0]


def training_rows(panel: Panel, clean: np.ndarray, as_of: int, settings: Settings, codes: np.ndarray) -> Rows:
    parts = []
    for k in range(1, settings.max_training_origins + 1):
        origin = as_of - 7 * k
        if origin < MIN_HISTORY_DAYS:
            break
        products = np.nonzero(panel.exists[:, origin])[0]
        if len(products) == 0:
            continue
        rows = origin_rows(panel, clean, origin, settings.horizon, codes, settings.country, products)
        parts.append(rows.take(~np.isnan(rows.target)))
    if not parts:
        raise NotEnoughHistory(
            f"not enough history before the as-of date to train: need {MIN_HISTORY_DAYS + 7} days of stock rows, have {as_of + 1}"
        )
    return Rows.concat(parts)


def _category_sums(rows: Rows, forecast: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"origin": rows.origin, "horizon": rows.horizon, "category": codes[rows.product], "forecast": forecast, "actual": rows.target}
    )
    return frame.groupby(["origin", "horizon", "category"], as_index=False)[["forecast", "actual"]].sum()


def forecast_as_of(full: Panel, as_of: int, settings: Settings, timings: Timings | None = None) -> pd.DataFrame:
    panel = full.upto(as_of)
    clean = panel.clean
    codes = category_codes(panel)
    category_names = np.array(sorted(set(panel.categories)), dtype=object)
    train = training_rows(panel, clean, as_of, settings, codes)
    target_day = train.origin + train.horizon
    cutoff = as_of - CALIBRATION_DAYS
    early = train.take(target_day <= cutoff)
    calibration = train.take(target_day > cutoff)
    if len(early.target) == 0 or len(calibration.target) == 0:
        raise NotEnoughHistory(f"not enough history before the as-of date to calibrate intervals: need at least {MIN_HISTORY_DAYS + CALIBRATION_DAYS + 7} days")

    products = active_products(panel, as_of)
    if len(products) == 0:
        raise ValueError(f"no active product has a stock row on {panel.date_of(as_of)}")
    ahead = origin_rows(panel, clean, as_of, settings.horizon, codes, settings.country, products)
    as_of_date = panel.date_of(as_of)
    frames = []
    for name in settings.models:
        started = time.perf_counter()
        model = make_model(name, settings.seed, settings.threads).fit(early)
        trained = time.perf_counter()
        calibrated = model.predict(calibration)
        product_intervals = ConformalIntervals(settings.interval_level).calibrate(calibrated, calibration.target, calibration.horizon)
        sums = _category_sums(calibration, calibrated, codes)
        category_intervals = ConformalIntervals(settings.interval_level).calibrate(
            sums["forecast"].to_numpy(), sums["actual"].to_numpy(), sums["horizon"].to_numpy()
        )
        predicting = time.perf_counter()
        point = model.predict(ahead)
        predicted = time.perf_counter()
        if timings is not None:
            timings.train_seconds[name] = timings.train_seconds.get(name, 0.0) + trained - started
            timings.predict_seconds[name] = timings.predict_seconds.get(name, 0.0) + predicted - predicting
        lower, upper = product_intervals.bounds(point, ahead.horizon)
        median = median_units(point)
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "grain": "product",
                    "product_id": panel.product_ids[ahead.product],
                    "category": panel.categories[ahead.product],
                    "as_of_date": as_of_date,
                    "horizon_days": ahead.horizon,
                    "forecast_units": median,
                    "expected_units": point,
                    "lower_units": np.minimum(lower, median),
                    "upper_units": np.maximum(upper, median),
                }
            )
        )
        cat = _category_sums(ahead, point, codes)
        cat_expected = cat["forecast"].to_numpy()
        cat_median = median_units(cat_expected)
        cat_lower, cat_upper = category_intervals.bounds(cat_expected, cat["horizon"].to_numpy())
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "grain": "category",
                    "product_id": pd.array([None] * len(cat), dtype="Int64"),
                    "category": category_names[cat["category"].to_numpy()],
                    "as_of_date": as_of_date,
                    "horizon_days": cat["horizon"].to_numpy(),
                    "forecast_units": cat_median,
                    "expected_units": cat_expected,
                    "lower_units": np.minimum(cat_lower, cat_median),
                    "upper_units": np.maximum(cat_upper, cat_median),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["product_id"] = out["product_id"].astype("Int64")
    out["forecast_date"] = [as_of_date + pd.Timedelta(days=int(h)) for h in out["horizon_days"]]
    out["forecast_date"] = pd.to_datetime(out["forecast_date"]).dt.date
    out["interval_level"] = settings.interval_level
    out["seed"] = settings.seed
    return out
