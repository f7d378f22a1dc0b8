"""The product x day panel every model works on.

Rows come from the star schema (marts.fct_inventory_daily for units and stock, dim_products
for the SCD2 price and category, fct_order_items for line discounts) or from a CSV with the
same columns (tests, benchmarks). Arrays are indexed [product, day]; day 0 is the first date.

A day is censored when the product was out of stock at the start or the end of it: what sold
then is what the shelf allowed, not what was wanted. Censored days are kept as NaN in `clean`,
so levels, lags and training targets only see demand that was free to show itself.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

COLUMNS = ["product_id", "day", "units_sold", "quantity_on_hand", "price", "category", "is_active", "discount_share"]


@dataclass(frozen=True)
class Panel:
    product_ids: np.ndarray  # int64 [P]
    categories: np.ndarray  # object [P], category on the last day seen
    start: dt.date  # date of day index 0
    units: np.ndarray  # float [P, D], units sold (0 where the product had no row)
    exists: np.ndarray  # bool [P, D], the product had a stock row that day
    censored: np.ndarray  # bool [P, D]
    on_hand: np.ndarray  # float [P, D], end-of-day stock (NaN where no row)
    price: np.ndarray  # float [P, D], list price valid at the end of the day (NaN where no row)
    active: np.ndarray  # bool [P, D]
    discount: np.ndarray  # float [P, D], share of the day's gross line value given as line discount

    @property
    def days(self) -> int:
        return self.units.shape[1]

    def day_index(self, date: dt.date) -> int:
        return (date - self.start).days

    def date_of(self, index: int) -> dt.date:
        return self.start + dt.timedelta(days=int(index))

    @property
    def clean(self) -> np.ndarray:
        """Units where demand was observable (in stock, product on file), else NaN."""
        out = self.units.astype(float).copy()
        out[~self.exists | self.censored] = np.nan
        return out

    def upto(self, index: int) -> "Panel":
        """The panel cut after day `index` (inclusive): nothing later can leak into what is built from it."""
        end = index + 1
        return Panel(
            product_ids=self.product_ids,
            categories=self.categories,
            start=self.start,
            units=self.units[:, :end],
            exists=self.exists[:, :end],
            censored=self.censored[:, :end],
            on_hand=self.on_hand[:, :end],
            price=self.price[:, :end],
            active=self.active[:, :end],
            discount=self.discount[:, :end],
        )


def panel_from_frame(frame: pd.DataFrame) -> Panel:
    """Builds the arrays from one row per product and day (COLUMNS)."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"panel rows lack columns {missing}")
    if frame.empty:
        raise ValueError("the panel is empty: no product has a stock row in the warehouse (has dbt built marts.fct_inventory_daily?)")
    frame = frame.copy()
    stamps = pd.to_datetime(frame["day"])
    # The shop's history starts with its first sale: products on file for years before that
    # (a catalogue older than the data) add days with nothing to learn from.
    selling = stamps[frame["units_sold"].astype(float) > 0]
    first = selling.min() if len(selling) else stamps.min()
    keep = (stamps >= first).to_numpy()
    frame = frame[keep]
    stamps = stamps[keep]
    start = first.date()
    end = stamps.max().date()
    days = (end - start).days + 1
    product_ids = np.array(sorted(frame["product_id"].astype("int64").unique()), dtype="int64")
    row = np.searchsorted(product_ids, frame["product_id"].astype("int64").to_numpy())
    col = ((stamps - first).dt.days).to_numpy(dtype="int64")
    shape = (len(product_ids), days)

    def grid(values, fill, dtype=float):
        out = np.full(shape, fill, dtype=dtype)
        out[row, col] = values
        return out

    units = grid(frame["units_sold"].astype(float).to_numpy(), 0.0)
    exists = grid(True, False, bool)
    on_hand = grid(frame["quantity_on_hand"].astype(float).to_numpy(), np.nan)
    price = grid(frame["price"].astype(float).to_numpy(), np.nan)
    # From CSV the flag is text: "false" must not read as a truthy string.
    flags = frame["is_active"].map(lambda v: v is True or str(v).strip().lower() in ("true", "t", "1"))
    active = grid(flags.to_numpy(dtype=bool), False, bool)
    discount = grid(frame["discount_share"].fillna(0).astype(float).to_numpy(), 0.0)
    empty_shelf = exists & (np.nan_to_num(on_hand, nan=1.0) <= 0)
    started_empty = np.zeros(shape, dtype=bool)
    started_empty[:, 1:] = empty_shelf[:, :-1]
    censored = exists & (empty_shelf | started_empty)
    last = frame.assign(_stamp=stamps).sort_values("_stamp").groupby("product_id")["category"].last()
    categories = np.array([str(last.loc[p]) for p in product_ids], dtype=object)
    return Panel(product_ids, categories, start, units, exists, censored, on_hand, price, active, discount)
