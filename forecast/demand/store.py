"""Reading the panel from the star schema and writing marts.demand_forecast.

The forecaster connects as its own role (forecast_writer): it reads the marts and may write
only marts.demand_forecast (lib/warehouse/migrations/0160_demand_forecast.sql). A run replaces
the rows of its as-of date in one transaction, so re-running a date is idempotent and a reader
never sees half a forecast.
"""
from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import psycopg2

PANEL_SQL = """
with daily_discounts as (
    select
        product_id,
        order_date,
        sum(discount_amount) / nullif(sum(quantity * unit_price), 0) as discount_share
    from marts.fct_order_items
    where not is_cancelled
    group by 1, 2
)

select
    inventory.product_id,
    inventory.inventory_date as day,
    inventory.units_sold,
    inventory.quantity_on_hand,
    version.price,
    version.category,
    version.is_active,
    coalesce(daily_discounts.discount_share, 0) as discount_share
from marts.fct_inventory_daily as inventory
left join lateral (
    select products.price, products.category, products.is_active
    from marts.dim_products as products
    where
        products.product_id = inventory.product_id
        and products.valid_from < ((inventory.inventory_date + 1)::timestamp at time zone 'UTC')
    order by products.valid_from desc
    limit 1
) as version on true
left join daily_discounts
    on
        inventory.product_id = daily_discounts.product_id
        and inventory.inventory_date = daily_discounts.order_date
where inventory.inventory_date <= %(through)s
order by inventory.product_id, inventory.inventory_date
"""

COLUMNS = [
    "as_of_date",
    "model",
    "grain",
    "product_id",
    "category",
    "forecast_date",
    "horizon_days",
    "forecast_units",
    "expected_units",
    "lower_units",
    "upper_units",
    "interval_level",
    "seed",
]


def connect(url: str):
    return psycopg2.connect(url, application_name="shopflow-forecast")


def latest_day(connection) -> dt.date | None:
    with connection.cursor() as cursor:
        cursor.execute("select max(inventory_date) from marts.fct_inventory_daily")
        return cursor.fetchone()[0]


def read_panel_rows(connection, through: dt.date) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(PANEL_SQL, {"through": through})
        names = [d.name for d in cursor.description]
        frame = pd.DataFrame(cursor.fetchall(), columns=names)
    # Products with no version valid yet at a day (none in practice) keep a row: price unknown.
    frame["is_active"] = frame["is_active"].fillna(False).astype(bool)
    frame["category"] = frame["category"].fillna("Unknown")
    return frame


def write_forecasts(connection, forecasts: pd.DataFrame, run_id: str | None) -> int:
    frame = forecasts[COLUMNS].copy()
    for column in ("forecast_units", "expected_units", "lower_units", "upper_units"):
        frame[column] = frame[column].round(3)
    frame["run_id"] = run_id
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    dates = sorted(set(frame["as_of_date"]))
    with connection:
        with connection.cursor() as cursor:
            cursor.execute("delete from marts.demand_forecast where as_of_date = any(%s)", (dates,))
            cursor.copy_expert(
                f"copy marts.demand_forecast ({', '.join([*COLUMNS, 'run_id'])}) from stdin with (format csv, null '\\N')",
                buffer,
            )
    return len(frame)
