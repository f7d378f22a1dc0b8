"""The four forecasters. Each fits on feature rows and predicts the expected units of rows (the
mean demand); the pipeline turns that into the published point forecast and interval.

Ridge learns y / level (weighted by level, so each product counts in proportion to its units).
XGBoost learns the units themselves with a Poisson objective and log(level) as its starting
margin: the trees fit a multiplicative correction to the product's own level, in the loss that
fits counts of a few units a day (squared error on y / level let a handful of one-unit days of
slow sellers, at 20x their level, steer the trees). Both are one global model across products
and horizons. The baselines read the columns the feature builder computes beside the features.
"""
from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from xgboost import XGBRegressor

from .features import FEATURES, Rows

MODEL_NAMES = ("seasonal_naive", "moving_average", "ridge", "xgboost")
CATEGORICAL = ["weekday", "month", "category_code", "horizon"]


class SeasonalNaive:
    """Same weekday last week (the latest observed one)."""

    name = "seasonal_naive"

    def fit(self, rows: Rows) -> "SeasonalNaive":
        return self

    def predict(self, rows: Rows) -> np.ndarray:
        return rows.seasonal_naive


class MovingAverage:
    """Mean daily units of the 28 days up to the origin (in-stock days only)."""

    name = "moving_average"

    def fit(self, rows: Rows) -> "MovingAverage":
        return self

    def predict(self, rows: Rows) -> np.ndarray:
        return rows.moving_average


def _scaled_target(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    return rows.target / rows.level, rows.level


class RidgeModel:
    name = "ridge"

    def __init__(self, alpha: float = 3.0) -> None:
        categorical = [FEATURES.index(c) for c in CATEGORICAL]
        numeric = [i for i in range(len(FEATURES)) if i not in categorical]
        self._pipeline: Pipeline = make_pipeline(
            ColumnTransformer(
                [
                    ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical),
                    ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
                ]
            ),
            Ridge(alpha=alpha),
        )

    def fit(self, rows: Rows) -> "RidgeModel":
        y, weight = _scaled_target(rows)
        X = np.where(np.isfinite(rows.X), rows.X, np.nan)
        self._pipeline.fit(X, y, ridge__sample_weight=weight)
        return self

    def predict(self, rows: Rows) -> np.ndarray:
        X = np.where(np.isfinite(rows.X), rows.X, np.nan)
        return np.maximum(self._pipeline.predict(X), 0.0) * rows.level


# Chosen on 4 weekly origins before the benchmark's 8 (never on the weeks it scores): with the
# Poisson objective, depth 4 and 150 rounds at 0.1 had a lower squared error of the mean (2.33
# per actual unit) than the 28-day moving average (2.41) and than depth 2 or 3, or the same
# model without the calendar features (2.40-2.57), whose growth and season it then missed.
XGBOOST_PARAMS = dict(
    objective="count:poisson",
    n_estimators=150,
    max_depth=4,
    learning_rate=0.1,
    max_bin=64,
    subsample=0.8,
    colsample_bytree=0.8,
    min_child_weight=5.0,
    tree_method="hist",
)


class XGBoostModel:
    name = "xgboost"

    def __init__(self, seed: int, threads: int) -> None:
        self._model = XGBRegressor(**XGBOOST_PARAMS, random_state=seed, n_jobs=threads)

    def fit(self, rows: Rows) -> "XGBoostModel":
        X = np.where(np.isfinite(rows.X), rows.X, np.nan)
        self._model.fit(X, rows.target, base_margin=np.log(rows.level))
        return self

    def predict(self, rows: Rows) -> np.ndarray:
        X = np.where(np.isfinite(rows.X), rows.X, np.nan)
        return self._model.predict(X, base_margin=np.log(rows.level))


def make_model(name: str, seed: int, threads: int):
    if name == "seasonal_naive":
        return SeasonalNaive()
    if name == "moving_average":
        return MovingAverage()
    if name == "ridge":
        return RidgeModel()
    if name == "xgboost":
        return XGBoostModel(seed, threads)
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
