"""Rolling-origin backtest: forecast from each of several past as-of dates with only what was
known then, and score every model against what then happened.

Censored target days (out of stock) are left out of every score: their sales say how much the
shelf held, not how much was wanted, and the models forecast demand.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from .panel import Panel
from .pipeline import Settings, Timings, forecast_as_of


def backtest_origins(panel: Panel, weeks: int, horizon: int) -> list[int]:
    """Weekly origins whose whole horizon lies inside the panel, the latest first, `weeks` of them."""
    last = panel.days - 1 - horizon
    return sorted(last - 7 * k for k in range(weeks))


def run_backtest(panel: Panel, weeks: int, settings: Settings) -> tuple[pd.DataFrame, dict]:
    timings = Timings()
    clean = panel.clean
    scored = []
    started = time.perf_counter()
    origins = backtest_origins(panel, weeks, settings.horizon)
    for origin in origins:
        forecasts = forecast_as_of(panel, origin, settings, timings)
        products = forecasts[forecasts["grain"] == "product"].copy()
        index = np.searchsorted(panel.product_ids, products["product_id"].to_numpy(dtype="int64"))
        products["actual"] = clean[index, origin + products["horizon_days"].to_numpy()]
        scored.append(products[~products["actual"].isna()])
    frame = pd.concat(scored, ignore_index=True)
    return frame, {"timings": timings, "origins": origins, "seconds": time.perf_counter() - started}


def scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model: WAPE and MAE of the published forecast (the median), bias and WAPE of the mean
    (expected_units: a median of slow sellers is 0, so its bias says nothing about the model),
    squared error of the mean per actual unit (the loss the mean is best at), interval coverage."""

    def one(group: pd.DataFrame) -> pd.Series:
        error = group["forecast_units"] - group["actual"]
        expected_error = group["expected_units"] - group["actual"]
        actual = group["actual"].sum()
        inside = (group["actual"] >= group["lower_units"]) & (group["actual"] <= group["upper_units"])
        return pd.Series(
            {
                "wape": float(error.abs().sum() / actual) if actual else float("nan"),
                "mae": float(error.abs().mean()),
                "bias": float(expected_error.sum() / actual) if actual else float("nan"),
                "expected_wape": float(expected_error.abs().sum() / actual) if actual else float("nan"),
                "expected_mse": float((expected_error**2).sum() / actual) if actual else float("nan"),
                "coverage": float(inside.mean()),
                "rows": len(group),
            }
        )

    return frame.groupby("model").apply(one, include_groups=False)
