"""Real-time revenue windows: Kafka `shop.events` -> Iceberg realtime.revenue_5m, revenue_1h (per
product), realtime.category_revenue_5m, category_revenue_1h (per category) and realtime.late_events.

- Only events the contract admits count (the same decider as the landing job).
- Revenue per product is the value of `add_to_cart` events (price x quantity): the clickstream
  carries no order lines, which reach the lake through the CDC path (raw.shop_changes).
- Lateness: an event that arrives (Kafka timestamp) more than `lateness.minutes` after it
  happened is late: it is kept in realtime.late_events and not counted. Everything else is
  counted, out of order or not; the same delay is the watermark, so a window is written once,
  final, when the watermark passes its end (append mode).
- Re-sent events (same event_id) count once: deduplicated within the watermark.
- Category: the product's category as the lake knows it when the event's micro-batch runs, from
  the products' latest change in raw.shop_changes (the CDC path). The clickstream carries no
  category; an event whose product the lake has not seen yet counts under UNKNOWN_CATEGORY.
- Exactly once: each window table is Iceberg's own streaming sink, which commits every
  micro-batch with its query id and epoch and skips an epoch it already holds.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, LongType, StringType, StructField, StructType

from . import settings as settings_module
from .clickstream import decided
from .tables import ensure_raw
from .session import supervise_queries, spark_session

PAYLOAD = StructType(
    [
        StructField("event_type", StringType()),
        StructField("product_id", LongType()),
        StructField("price", DoubleType()),
        StructField("quantity", IntegerType()),
    ]
)

# Columns are nullable: a streaming write checks nullability strictly, and aggregates are typed nullable.
WINDOW_TABLE = """
create table if not exists {table} (
    window_start timestamp, window_end timestamp, product_id bigint,
    revenue decimal(14, 2), events bigint)
using iceberg partitioned by (days(window_start)) tblproperties ('format-version' = '2')
"""

LATE_TABLE = """
create table if not exists {table} (
    event_id string, event_type string, event_time timestamp,
    kafka_timestamp timestamp, product_id bigint, amount decimal(14, 2),
    delay_seconds bigint, topic string, kafka_partition int,
    kafka_offset bigint)
using iceberg partitioned by (days(event_time)) tblproperties ('format-version' = '2')
"""

CATEGORY_WINDOW_TABLE = """
create table if not exists {table} (
    window_start timestamp, window_end timestamp, category string,
    revenue decimal(14, 2), events bigint)
using iceberg partitioned by (days(window_start)) tblproperties ('format-version' = '2')
"""

WINDOWS = {"5m": "5 minutes", "1h": "1 hour"}
UNKNOWN_CATEGORY = "(unknown)"


def product_categories(spark, catalog: str) -> DataFrame:
    """Each product's category from its latest change in raw.shop_changes. Changes of one row share
    a Kafka key and so a partition, where their offsets are their binlog order. A static side of a
    stream-static join: read again for every micro-batch (the session's catalog does not cache)."""
    changes = spark.table(f"{catalog}.raw.shop_changes").where("table_name = 'products' and after_image is not null")
    images = changes.select(
        F.get_json_object("after_image", "$.product_id").cast("bigint").alias("product_id"),
        F.get_json_object("after_image", "$.category").alias("category"),
        "kafka_partition",
        "kafka_offset",
    ).where("product_id is not null")
    latest = F.max_by(F.struct("category"), F.struct("kafka_partition", "kafka_offset"))
    return images.groupBy("product_id").agg(latest.alias("c")).select("product_id", F.col("c.category").alias("category"))


def product_events(records: DataFrame, contract: dict, engine: str = "udf") -> DataFrame:
    rows = decided(records, contract, engine).where("v.ok")
    payload = F.from_json(F.col("value").cast("string"), PAYLOAD)
    return rows.select(
        F.col("v.event_id").alias("event_id"),
        F.timestamp_micros("v.event_time_us").alias("event_time"),
        "kafka_timestamp",
        "topic",
        "kafka_partition",
        "kafka_offset",
        payload.alias("p"),
    ).where("p.event_type = 'add_to_cart'").select(
        "event_id",
        "event_time",
        "kafka_timestamp",
        "topic",
        "kafka_partition",
        "kafka_offset",
        F.col("p.event_type").alias("event_type"),
        F.col("p.product_id").alias("product_id"),
        (F.col("p.price") * F.col("p.quantity")).cast("decimal(14,2)").alias("amount"),
    )


def main() -> None:
    s = settings_module.load()
    # Catalog caching off: the categories (a static side of the stream) are read fresh per batch.
    spark = spark_session(s, cache_tables=False)
    catalog = s["catalog"]["name"]
    ensure_raw(spark, catalog)
    spark.sql(f"create namespace if not exists {catalog}.realtime")
    for label in WINDOWS:
        spark.sql(WINDOW_TABLE.format(table=f"{catalog}.realtime.revenue_{label}"))
        spark.sql(CATEGORY_WINDOW_TABLE.format(table=f"{catalog}.realtime.category_revenue_{label}"))
    spark.sql(LATE_TABLE.format(table=f"{catalog}.realtime.late_events"))
    delay = f"{s['lateness']['minutes']} minutes"

    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", s["kafka"]["bootstrap"])
        .option("subscribe", s["kafka"]["topic"])
        .option("startingOffsets", s["kafka"]["startingOffsets"])
        .option("failOnDataLoss", "true")
        .load()
    )
    events = product_events(source, s["contract"], s.get("contractEngine", "udf")).withColumn(
        "delay_seconds", F.unix_seconds("kafka_timestamp") - F.unix_seconds("event_time")
    )
    limit = s["lateness"]["minutes"] * 60
    trigger = f"{s['triggerSeconds']} seconds"

    def deduplicated(frame: DataFrame) -> DataFrame:
        return frame.where(F.col("delay_seconds") <= limit).withWatermark("event_time", delay).dropDuplicatesWithinWatermark(["event_id"])

    on_time = deduplicated(events)
    categories = product_categories(spark, catalog)
    on_time_categorised = deduplicated(
        events.join(F.broadcast(categories), "product_id", "left").withColumn("category", F.coalesce("category", F.lit(UNKNOWN_CATEGORY)))
    )

    def sink(frame: DataFrame, name: str):
        def start():
            return (
                frame.writeStream.format("iceberg")
                .outputMode("append")
                .trigger(processingTime=trigger)
                .option("checkpointLocation", f"{s['checkpointDir']}/{name}")
                .queryName(name)
                .toTable(f"{catalog}.realtime.{name}")
            )

        return start

    starters = {}
    for label, size in WINDOWS.items():
        for name, stream, key in (("revenue_" + label, on_time, "product_id"), ("category_revenue_" + label, on_time_categorised, "category")):
            windows = (
                stream.groupBy(F.window("event_time", size), key)
                .agg(F.sum("amount").cast("decimal(14,2)").alias("revenue"), F.count("*").alias("events"))
                .select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"), key, "revenue", "events")
            )
            starters[name] = sink(windows, name)
    late = events.where(F.col("delay_seconds") > limit).select(
        "event_id", "event_type", "event_time", "kafka_timestamp", "product_id", "amount", "delay_seconds", "topic", "kafka_partition", "kafka_offset"
    )
    starters["late_events"] = sink(late, "late_events")
    supervise_queries(spark, starters, "windows")


if __name__ == "__main__":
    main()
