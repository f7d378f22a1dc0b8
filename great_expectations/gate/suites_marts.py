"""Expectation suites for the marts (gate "marts", read as role `bi_reader`, which sees only
schema `marts`). Reconciliation checks compare marts built from different paths (facts vs
business marts); freshness and row-count change use the data's own latest date, never the
wall clock, because history can be years old. Column names follow the dbt contracts in
dbt/models/marts/**/_*__models.yml. SQL: write no braces other than `{batch}`.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from volume import VOLUME_DESCRIPTION, volume_query

ORDER_STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled", "returned"]
RFM_SEGMENTS = ["Champions", "Loyal", "Potential Loyalists", "New", "Promising", "Need Attention",
                "About to Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost"]
# Money compared across marts may differ by rounding only.
CENTS = "0.01"


def not_null(table: str, *columns: str) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToNotBeNull(column=c, description=f"nulls: {table}.{c} is never null") for c in columns]


def fct_orders_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name="marts_fct_orders", expectations=[
        gxe.ExpectTableRowCountToBeBetween(min_value=1, description="volume: fct_orders is not empty"),
        *not_null("fct_orders", "order_id", "customer_id", "order_status", "total_amount", "order_date", "placed_at"),
        gxe.ExpectColumnValuesToBeUnique(column="order_id", description="keys: one row per order_id"),
        gxe.ExpectColumnValuesToBeInSet(column="order_status", value_set=ORDER_STATUSES,
                                        description="values: order_status is a known lifecycle state"),
        gxe.ExpectColumnValuesToBeBetween(column="total_amount", min_value=0, description="ranges: total_amount >= 0"),
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=f"""
select order_id, subtotal_amount, items_line_total
from {{batch}}
where item_line_count > 0 and abs(subtotal_amount - items_line_total) > {CENTS}
""",
            description="reconciliation: each order's subtotal equals the sum of its lines in fct_order_items",
        ),
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=volume_query("order_date", "{batch}"),
            description=f"row-count change: orders on {VOLUME_DESCRIPTION}",
        ),
    ])


def fct_order_items_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name="marts_fct_order_items", expectations=[
        *not_null("fct_order_items", "order_item_id", "order_id", "product_id", "quantity", "line_total", "order_date"),
        gxe.ExpectColumnValuesToBeUnique(column="order_item_id", description="keys: one row per order_item_id"),
        gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=1, description="ranges: quantity >= 1"),
        gxe.ExpectColumnValuesToBeBetween(column="line_total", min_value=0, description="ranges: line_total >= 0"),
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query="""
select items.order_id
from {batch} as items
left join marts.fct_orders as orders on items.order_id = orders.order_id
where orders.order_id is null
""",
            description="reconciliation: every order line belongs to an order in fct_orders",
        ),
    ])


def revenue_daily_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name="marts_revenue_daily", expectations=[
        *not_null("revenue_daily", "revenue_date", "order_count", "gross_revenue", "net_revenue"),
        gxe.ExpectColumnValuesToBeUnique(column="revenue_date", description="keys: one row per day"),
        gxe.ExpectColumnValuesToBeBetween(column="gross_revenue", min_value=0, description="ranges: gross_revenue >= 0"),
        gxe.ExpectColumnValuesToBeBetween(column="average_order_value", min_value=0, description="ranges: AOV >= 0"),
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=f"""
select revenue_date, gross_revenue, net_revenue
from {{batch}}
where net_revenue > gross_revenue + {CENTS}
""",
            description="ranges: net revenue never exceeds gross revenue",
        ),
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=f"""
with from_orders as (
    select order_date, count(*) as order_count, sum(total_amount) as gross_revenue, sum(net_revenue) as net_revenue
    from marts.fct_orders
    group by 1
)
select coalesce(daily.revenue_date, from_orders.order_date) as day,
       daily.order_count, from_orders.order_count as fct_orders_count,
       daily.gross_revenue, from_orders.gross_revenue as fct_orders_gross
from {{batch}} as daily
full join from_orders on daily.revenue_date = from_orders.order_date
where coalesce(daily.order_count, 0) <> coalesce(from_orders.order_count, 0)
   or abs(coalesce(daily.gross_revenue, 0) - coalesce(from_orders.gross_revenue, 0)) > {CENTS}
   or abs(coalesce(daily.net_revenue, 0) - coalesce(from_orders.net_revenue, 0)) > {CENTS}
""",
            description="reconciliation: revenue_daily equals fct_orders summed per day (orders, gross, net)",
        ),
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query="""
select
    (select max(revenue_date) from {batch} where order_count > 0) as latest_revenue_date,
    (select (max(event_at) at time zone 'UTC')::date from marts.fct_events where event_type = 'order_placed') as latest_order_event_date
where (select max(revenue_date) from {batch} where order_count > 0)
    < (select (max(event_at) at time zone 'UTC')::date from marts.fct_events where event_type = 'order_placed') - 1
""",
            description="freshness: orders (CDC) are no more than a day behind the clickstream's latest order event",
        ),
    ])


def category_revenue_weekly_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name="marts_category_revenue_weekly", expectations=[
        *not_null("category_revenue_weekly", "week_start_date", "category", "net_revenue"),
        gxe.ExpectColumnValuesToBeBetween(column="share_of_net_revenue", min_value=0, max_value=1,
                                          description="ranges: category share of the week within 0-1"),
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=f"""
with weekly as (
    select week_start_date, sum(net_revenue) as net_revenue from {{batch}} group by 1
),
from_items as (
    select date_trunc('week', order_date)::date as week_start_date, sum(net_line_total) as net_revenue
    from marts.fct_order_items
    group by 1
)
select coalesce(weekly.week_start_date, from_items.week_start_date) as week_start_date,
       weekly.net_revenue, from_items.net_revenue as fct_order_items_net
from weekly
full join from_items on weekly.week_start_date = from_items.week_start_date
where abs(coalesce(weekly.net_revenue, 0) - coalesce(from_items.net_revenue, 0)) > {CENTS}
""",
            description="reconciliation: category revenue per week sums to fct_order_items' net line totals",
        ),
    ])


def conversion_funnel_daily_suite() -> gx.ExpectationSuite:
    rates = ["view_rate", "view_to_cart_rate", "cart_to_checkout_rate", "checkout_to_order_rate", "conversion_rate"]
    return gx.ExpectationSuite(name="marts_conversion_funnel_daily", expectations=[
        *not_null("conversion_funnel_daily", "session_date", "session_count"),
        *[gxe.ExpectColumnValuesToBeBetween(column=r, min_value=0, max_value=1, description=f"ranges: {r} within 0-1")
          for r in rates],
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query="""
select session_date, session_count, product_view_sessions, add_to_cart_sessions, checkout_sessions, order_sessions
from {batch}
where product_view_sessions > session_count or add_to_cart_sessions > product_view_sessions
   or checkout_sessions > add_to_cart_sessions or order_sessions > checkout_sessions
""",
            description="ranges: each funnel stage is at most the stage before",
        ),
    ])


def cohorts_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name="marts_customer_cohorts_monthly", expectations=[
        *not_null("customer_cohorts_monthly", "cohort_month", "months_since_first_order", "cohort_size", "retention_rate"),
        gxe.ExpectColumnValuesToBeBetween(column="retention_rate", min_value=0, max_value=1,
                                          description="ranges: retention_rate within 0-1"),
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query="""
select cohort_month, retention_rate from {batch}
where months_since_first_order = 0 and cohort_size > 0 and retention_rate <> 1
""",
            description="ranges: every cohort retains 100% in its first month",
        ),
    ])


def rfm_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name="marts_customer_rfm_segments", expectations=[
        *not_null("customer_rfm_segments", "customer_id", "rfm_segment"),
        gxe.ExpectColumnValuesToBeUnique(column="customer_id", description="keys: one row per customer"),
        gxe.ExpectColumnValuesToBeInSet(column="rfm_segment", value_set=RFM_SEGMENTS,
                                        description="values: rfm_segment is one of the 11 R x F segments"),
        *[gxe.ExpectColumnValuesToBeBetween(column=c, min_value=1, max_value=5, description=f"ranges: {c} within 1-5")
          for c in ["r_score", "f_score", "m_score"]],
    ])


def staging_rejects_suite() -> gx.ExpectationSuite:
    """Source rows staging could not type are left out of the marts (dbt/macros/rejects.sql):
    the build goes on, and this check makes the gap loud until each is resolved upstream."""
    return gx.ExpectationSuite(name="marts_ops_staging_rejects", expectations=[
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query="""
select source_name, count(*) as unresolved_rejects, string_agg(distinct source_table, ', ') as source_tables,
       min(source_position) as first_position, left(min(reject_reason), 160) as example_reason
from {batch}
where not is_resolved
group by source_name
""",
            description="rejects: every source row staging could not type is resolved",
        ),
    ])


def small_marts_suites() -> list[tuple[str, str, gx.ExpectationSuite]]:
    """The report's remaining marts: present, keyed and in range."""
    return [
        ("marts", "top_products", gx.ExpectationSuite(name="marts_top_products", expectations=[
            *not_null("top_products", "product_id", "product_name", "net_revenue"),
            gxe.ExpectColumnValuesToBeUnique(column="product_id", description="keys: one row per product"),
        ])),
        ("marts", "low_stock_products", gx.ExpectationSuite(name="marts_low_stock_products", expectations=[
            *not_null("low_stock_products", "product_id", "quantity_on_hand", "reorder_point"),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="select product_id from {batch} where quantity_on_hand > reorder_point",
                description="ranges: only products at or below their reorder point are listed",
            ),
        ])),
        ("marts", "suspected_fraud_orders", gx.ExpectationSuite(name="marts_suspected_fraud_orders", expectations=[
            *not_null("suspected_fraud_orders", "order_id", "reasons"),
            gxe.ExpectColumnValuesToBeUnique(column="order_id", description="keys: one row per order"),
            gxe.ExpectColumnValuesToBeBetween(column="rules_triggered", min_value=1, max_value=3,
                                              description="ranges: 1-3 fraud rules matched"),
        ])),
        ("marts", "ops_source_freshness", gx.ExpectationSuite(name="marts_ops_source_freshness", expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1, description="volume: freshness lists the raw tables"),
        ])),
    ]


def marts_suites() -> list[tuple[str, str, gx.ExpectationSuite]]:
    """(schema, table, suite) for every mart the gate checks."""
    return [
        ("marts", "fct_orders", fct_orders_suite()),
        ("marts", "fct_order_items", fct_order_items_suite()),
        ("marts", "revenue_daily", revenue_daily_suite()),
        ("marts", "category_revenue_weekly", category_revenue_weekly_suite()),
        ("marts", "conversion_funnel_daily", conversion_funnel_daily_suite()),
        ("marts", "customer_cohorts_monthly", cohorts_suite()),
        ("marts", "customer_rfm_segments", rfm_suite()),
        ("marts", "ops_staging_rejects", staging_rejects_suite()),
        *small_marts_suites(),
    ]
