"""Split-conformal prediction intervals.

Residuals on rows the model did not train on (the calibration weeks) are scaled by
sqrt(forecast) + 0.5, since count demand spreads roughly with the square root of its mean; the
score quantile at the nominal level (with the finite-sample correction) then widens every new
forecast by the same scaled amount. One quantile per horizon when the horizon has enough
calibration rows, else one for all.
"""
from __future__ import annotations

import math

import numpy as np

MIN_ROWS_PER_HORIZON = 50


def _scale(forecast: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(forecast, 0.0)) + 0.5


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    scores = np.sort(scores[np.isfinite(scores)])
    n = len(scores)
    if n == 0:
        return float("inf")
    rank = min(n, math.ceil((n + 1) * level))
    return float(scores[rank - 1])


class ConformalIntervals:
    def __init__(self, level: float) -> None:
        self.level = level
        self._by_horizon: dict[int, float] = {}
        self._pooled = float("inf")

    def calibrate(self, forecast: np.ndarray, actual: np.ndarray, horizon: np.ndarray) -> "ConformalIntervals":
        scores = np.abs(actual - forecast) / _scale(forecast)
        self._pooled = conformal_quantile(scores, self.level)
        for h in np.unique(horizon):
            mine = scores[horizon == h]
            if np.isfinite(mine).sum() >= MIN_ROWS_PER_HORIZON:
                self._by_horizon[int(h)] = conformal_quantile(mine, self.level)
        return self

    def bounds(self, forecast: np.ndarray, horizon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = np.array([self._by_horizon.get(int(h), self._pooled) for h in horizon])
        q = np.where(np.isfinite(q), q, 0.0)
        width = q * _scale(forecast)
        return np.maximum(forecast - width, 0.0), forecast + width
