"""The four forecasters. Each fits on feature rows and predicts units for rows.

Ridge and XGBoost learn y / level (weighted by level, so each product counts in proportion to
its units, as WAPE counts them) from the same features: one global model across products and
horizons. The baselines read the columns the feature builder computes beside the features.
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


class XGBoostModel:
    name = "xgboost"

    def __init__(self, seed: int, threads: int) -> None:
        self._model = XGBRegressor(
            n_estimators=150,
            max_depth=5,
            learning_rate=0.1,
            max_bin=64,
            subsample=0.8,
            colsample_bytree=0.8,
            min_child_weight=5.0,
            tree_method="hist",
            random_state=seed,
            n_jobs=threads,
        )

    def fit(self, rows: Rows) -> "XGBoostModel":
        y, weight = _scaled_target(rows)
        X = np.where(np.isfinite(rows.X), rows.X, np.nan)
        self._model.fit(X, y, sample_weight=weight)
        return self

    def predict(self, rows: Rows) -> np.ndarray:
        X = np.where(np.isfinite(rows.X), rows.X, np.nan)
        return np.maximum(self._model.predict(X), 0.0) * rows.level


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
