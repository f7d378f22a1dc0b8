"""Expectation suites for the raw landing tables (gate "raw", read as role `transformer`).

Dates in the data may be years old, so "recent days" is measured from the data's own latest
date; only timeliness of `_loaded_at` uses the wall clock, because load time is real time.
SQL in UnexpectedRowsExpectation is formatted by GX with `{batch}`: write no other braces.
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations as gx
import great_expectations.expectations as gxe

from volume import VOLUME_DESCRIPTION, volume_query

EVENT_TYPES = ["page_view", "product_view", "add_to_cart", "remove_from_cart", "checkout_started", "order_placed"]
ROW_OPERATIONS = ["snapshot", "insert", "update", "delete"]

# How stale the newest landed row may be before the gate fails (ingestors stream continuously).
LOAD_STALENESS = "24 hours"
# Kafka may redeliver; staging deduplicates, but a high rate means a producer or consumer bug.
MAX_DUPLICATE_EVENT_RATE = 0.01


def timeliness_query() -> str:
    return f"""
select max(_loaded_at) as newest_loaded_at, now() - max(_loaded_at) as staleness
from {{batch}}
having max(_loaded_at) is null or max(_loaded_at) < now() - interval '{LOAD_STALENESS}'
"""


# The gate's window over raw.shop_events: the rows loaded since the last passed raw gate (less a
# slack for ingest transactions still open then), as great_expectations/window.ts decides and
# run_gate.py hands to every connection as the setting below; unset, the window is every row
# (the nightly full pass, or the checkpoint run by hand). The view raw.shop_events_gate_window
# (migration 0285) applies it; current_setting is stable, so Postgres prunes the load-day
# partitions before the window is read: old days are not scanned. A view, not a query asset:
# GX learns a query asset's columns by executing the query and reading its rows, which moved the
# whole window into the gate's process on every run.
WINDOW_SETTING = "shopflow.gate_loaded_from"
SHOP_EVENTS_WINDOW_VIEW = "shop_events_gate_window"


@dataclass(frozen=True)
class QueryAsset:
    """An asset defined by a query instead of a table (the window above)."""

    name: str
    query: str


def shop_events_suite() -> gx.ExpectationSuite:
    """What holds for raw.shop_events as a whole, answered without reading its rows: the
    catalog (columns), one row (not empty), the newest load-day partitions (timeliness) and
    the daily summary ops.shop_events_daily_volume (volume; migration 0131)."""
    return gx.ExpectationSuite(
        name="raw_shop_events",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(
                column_set=["topic", "kafka_partition", "kafka_offset", "message_key", "event_id", "event_type",
                            "event_time", "session_id", "anonymous_id", "device", "country_code", "payload",
                            "kafka_timestamp", "_loaded_at"],
                exact_match=False,
                description="schema: raw.shop_events has the landing columns",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="""
select 'raw.shop_events has no row' as problem
where case
    -- Rows loaded in the last day (the newest partitions) answer it; only without them is the
    -- whole table asked, which then stops at its first row.
    when exists (select 1 from {batch} where _loaded_at >= now() - interval '1 day') then false
    else not exists (select 1 from {batch})
end
""",
                description="volume: raw.shop_events is not empty",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=volume_query(
                    "event_day",
                    "ops.shop_events_daily_volume /* the summary of {batch} by load day and event day */",
                    "sum(events)",
                ),
                description=f"volume: events on {VOLUME_DESCRIPTION}",
            ),
            # A range on the partition key: only the newest load days are read. The newest load
            # time is computed only when the check fails.
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=f"""
select (select max(_loaded_at) from {{batch}}) as newest_loaded_at
where not exists (select 1 from {{batch}} where _loaded_at >= now() - interval '{LOAD_STALENESS}')
""",
                description=f"timeliness: newest event landed within the last {LOAD_STALENESS}",
            ),
        ],
    )


def shop_events_window_suite() -> gx.ExpectationSuite:
    """Row by row, the events in the gate's window (see SHOP_EVENTS_WINDOW_VIEW): rows do not
    change once landed, so a row checked by a passed gate is not read again until the nightly
    full pass."""
    return gx.ExpectationSuite(
        name="raw_shop_events_window",
        expectations=[
            *[gxe.ExpectColumnValuesToNotBeNull(column=c, description=f"nulls: shop_events.{c} is never null")
              for c in ["event_id", "event_type", "event_time", "message_key"]],
            # An event's body is in its typed columns (the Kafka ingestor) or, for a row landed
            # as JSON, in payload (migration 0150); a row with neither has lost its event.
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="""
select event_id, event_type, _loaded_at
from {batch}
where payload is null
  and (session_id is null or anonymous_id is null or device is null or country_code is null or schema_version is null)
""",
                description="nulls: every event has its body, typed or as JSON",
            ),
            gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=EVENT_TYPES,
                                            description="values: event_type is one of the clickstream contract's types"),
            # Redeliveries land close together (a producer retry, a consumer replaying its last
            # batch), so the window sees them; the nightly full pass compares every row.
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=f"""
select total, duplicates, round(duplicates::numeric / total, 4) as duplicate_rate
from (select count(*) as total, count(*) - count(distinct event_id) as duplicates from {{batch}}) as counts
where total > 0 and duplicates::numeric / total > {MAX_DUPLICATE_EVENT_RATE}
""",
                description=f"duplicates: at most {MAX_DUPLICATE_EVENT_RATE:.0%} of events are redelivered copies",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="""
select event_id, event_type, price, quantity
from (
    select
        event_id,
        event_type,
        coalesce(price, (payload ->> 'price')::numeric) as price,
        coalesce(quantity, (payload ->> 'quantity')::numeric) as quantity,
        coalesce(order_total, (payload ->> 'order_total')::numeric) as order_total,
        coalesce(cart_value, (payload ->> 'cart_value')::numeric) as cart_value
    from {batch}
) as amounts
where price < 0
   or quantity not between 1 and 1000
   or order_total < 0
   or cart_value < 0
""",
                description="ranges: prices and totals >= 0, quantities 1-1000",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="""
select event_id, event_time, _loaded_at
from {batch}
where event_time > _loaded_at + interval '1 hour'
   or event_time < timestamptz '2000-01-01'
""",
                description="ranges: event_time is not in the future of its load time nor before 2000",
            ),
        ],
    )


def shop_orders_suite() -> gx.ExpectationSuite:
    """The CDC change log of shop.orders (raw_shop.orders, the typed layout, docs/cdc.md): the table the
    orders volume and the order totals come from. Values a column could not hold are in _unmapped."""
    return gx.ExpectationSuite(
        name="raw_shop_orders",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(
                column_set=["change_id", "operation", "binlog_file", "binlog_position", "row_index", "gtid",
                            "snapshot_id", "source_committed_at", "_loaded_at", "_key", "_unmapped",
                            "order_id", "customer_id", "status", "total_amount", "placed_at"],
                exact_match=False,
                description="schema: raw_shop.orders has the change-log columns and the order's key, total and times",
            ),
            gxe.ExpectTableRowCountToBeBetween(min_value=1, description="volume: raw_shop.orders is not empty"),
            *[gxe.ExpectColumnValuesToNotBeNull(column=c, description=f"nulls: raw_shop.orders.{c} is never null")
              for c in ["operation", "_loaded_at", "_key"]],
            gxe.ExpectColumnValuesToBeInSet(column="operation", value_set=ROW_OPERATIONS,
                                            description="values: operation is a row change kind"),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="""
select change_id, operation, _key
from {batch}
where order_id is null and (_unmapped ->> 'order_id') is null
""",
                description="nulls: every change carries its order_id (in its column, or in _unmapped)",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=volume_query(
                    "(placed_at at time zone 'UTC')::date",
                    "(select distinct on (order_id) placed_at from {batch} "
                    "where placed_at is not null and operation <> 'delete' "
                    "order by order_id, change_id desc) as latest_orders",
                ),
                description=f"volume: orders placed on {VOLUME_DESCRIPTION}",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=timeliness_query(),
                description=f"timeliness: newest change landed within the last {LOAD_STALENESS}",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="""
select binlog_file, binlog_position, row_index, count(*) as copies
from {batch}
where binlog_file is not null and operation <> 'snapshot'
group by binlog_file, binlog_position, row_index
having count(*) > 1
""",
                description="duplicates: no binlog row event landed twice (exactly-once CDC)",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="""
select change_id, order_id, total_amount
from {batch}
where total_amount < 0
""",
                description="ranges: order totals >= 0",
            ),
        ],
    )


# The range rules over every typed change-log table (raw_shop.<table>) live in one function
# (migration 0220): a table exists only once its first change landed, and a query naming a
# missing one would fail the whole gate for a shop that never had, say, payments.
SHOP_RANGES_ASSET = "raw_shop_ranges"
SHOP_RANGES_QUERY = "select * from ops.raw_shop_range_violations()"


def shop_ranges_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="raw_shop_ranges",
        expectations=[
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="select table_name, change_id, column_name, value, rule from {batch}",
                description="ranges: item quantities >= 1; order totals, unit and list prices, payment amounts >= 0",
            ),
        ],
    )


# Dead letters against the clickstream messages landed since the start of yesterday (UTC). The
# events come from the volume summary (ops.shop_events_daily_volume, by load day; run_gate.py
# refreshes it before the checkpoint), not from counting raw's rows by load time: on the day of
# a backfill that count read every event of the history (21 s of the 10x 08:00 job, GX running
# it twice). Whole UTC days on both sides, so the two counts cover the same window.
CLICKSTREAM_DEAD_LETTER_RATE_QUERY = """
select recent_dead_letters, recent_events, round(recent_dead_letters::numeric / recent_events, 4) as rate
from (
    select
        (select count(*) from {batch}
         where _loaded_at >= (date_trunc('day', now() at time zone 'UTC') - interval '1 day') at time zone 'UTC')
            as recent_dead_letters,
        (select coalesce(sum(events), 0) from ops.shop_events_daily_volume
         where load_day >= (now() at time zone 'UTC')::date - 1) as recent_events
) as counts
where recent_events > 0 and recent_dead_letters::numeric / recent_events > 0.05
"""


def dead_letters_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="raw_dead_letters",
        expectations=[
            *[gxe.ExpectColumnValuesToNotBeNull(column=c, description=f"nulls: dead_letters.{c} is never null")
              for c in ["source", "error_code", "reason"]],
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=CLICKSTREAM_DEAD_LETTER_RATE_QUERY,
                description="rejects: under 5% of the messages landed since the start of yesterday (UTC) were dead-lettered",
            ),
        ],
    )


# A file or an API may refuse a few records (kept as dead letters); more than this share of the
# last 24 hours' records means the sender changed its format or broke its data.
MAX_REJECTED_RECORD_RATE = 0.05


def files_suite() -> gx.ExpectationSuite:
    """The file ingestor's manifest (raw.file_manifest, docs/files.md): one row per landed
    version of a file with its landed and dead-lettered row counts, committed with its rows.
    Files arrive when their senders send them, so there is no timeliness check."""
    return gx.ExpectationSuite(
        name="raw_files",
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1, description="volume: at least one file has landed"),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="""
select source_name, file_name, version, rows_landed, rows_dead
from {batch}
where landed_at > now() - interval '24 hours' and rows_landed = 0 and rows_dead = 0
""",
                description="volume: no file landed in the last 24 hours is empty (a truncated upload, a wrong export)",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=f"""
select source_name, file_name, version, rows_landed, rows_dead,
       round(rows_dead::numeric / (rows_landed + rows_dead), 4) as rate
from {{batch}}
where landed_at > now() - interval '24 hours' and rows_dead > {MAX_REJECTED_RECORD_RATE} * (rows_landed + rows_dead)
""",
                description=f"rejects: under {MAX_REJECTED_RECORD_RATE:.0%} of the rows of each file landed in the last 24 hours were dead-lettered",
            ),
        ],
    )


def api_records_suite() -> gx.ExpectationSuite:
    """The REST puller's records (raw.api_records, docs/api.md) and its cursors (ingest.api_cursors,
    committed with each page). A pull re-reads the records at its cursor, so a source's cursor row
    moves on every pass that reached its API."""
    return gx.ExpectationSuite(
        name="raw_api_records",
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1, description="volume: raw.api_records is not empty"),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=f"""
select source_name, cursor_value, updated_at as last_landed_at
from ingest.api_cursors
where updated_at < now() - interval '{LOAD_STALENESS}' and exists (select 1 from {{batch}})
""",
                description=f"timeliness: every API source's last pull landed within the last {LOAD_STALENESS}",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query="""
select source_name, record_key, updated_at, count(*) as versions
from {batch}
group by source_name, record_key, updated_at
having count(*) > 1
""",
                description="consistency: no record changed without a new updated-at (an incremental pull misses such changes)",
            ),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=f"""
select recent_dead_letters, recent_records, round(recent_dead_letters::numeric / recent_records, 4) as rate
from (
    select
        (select count(*) from raw.dead_letters where source = 'api' and _loaded_at > now() - interval '24 hours') as recent_dead_letters,
        (select count(*) from {{batch}} where _loaded_at > now() - interval '24 hours') as recent_records
) as counts
where recent_records > 0 and recent_dead_letters::numeric / (recent_records + recent_dead_letters) > {MAX_REJECTED_RECORD_RATE}
""",
                description=f"rejects: under {MAX_REJECTED_RECORD_RATE:.0%} of the last 24 hours' API records were dead-lettered",
            ),
        ],
    )


def raw_suites() -> list[tuple[str, str | QueryAsset, gx.ExpectationSuite]]:
    """(schema, table or query asset, suite) for every raw asset the gate checks."""
    return [
        ("raw", "shop_events", shop_events_suite()),
        ("raw", SHOP_EVENTS_WINDOW_VIEW, shop_events_window_suite()),
        ("raw_shop", "orders", shop_orders_suite()),
        ("raw_shop", QueryAsset(SHOP_RANGES_ASSET, SHOP_RANGES_QUERY), shop_ranges_suite()),
        ("raw", "dead_letters", dead_letters_suite()),
        ("raw", "file_manifest", files_suite()),
        ("raw", "api_records", api_records_suite()),
    ]
