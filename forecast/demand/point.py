"""The published point forecast: the median of the day's demand, not its mean.

The models estimate expected units (the mean). Accuracy is judged by absolute error (WAPE, MAE:
docs/forecast.md), and absolute error is smallest at the median of what may happen, not at the
mean. Most products here sell well under one unit a day: their mean is, say, 0.3, their median
0, and a forecast of 0.3 on every such day is further from what sells, in absolute terms, than
0. Taking the Poisson median of the expected units turns a good mean into the forecast absolute
error asks for. The mean stays beside it (`expected_units`): it is what sums over days and
products, so stock cover, lead-time demand and category totals use it.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import poisson


def median_units(expected: np.ndarray) -> np.ndarray:
    """Median of a Poisson count with mean `expected` (0 where the mean is 0 or below)."""
    mean = np.asarray(expected, dtype=float)
    out = np.zeros_like(mean)
    positive = mean > 0
    out[positive] = poisson.median(mean[positive])
    return out
