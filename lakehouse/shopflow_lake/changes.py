"""CDC landing: the change topic (Kafka, written by the CDC ingestor in transactions,
ingest/cdc/change-topic.ts) -> Iceberg raw.shop_changes.

- Reads committed records only (`isolation.level=read_committed`): a publisher's aborted or
  fenced transaction never lands.
- Ordered per key: all changes of one row share the Kafka key `<db>.<table>:<primary key>`, so
  one partition, where their offsets are their binlog order; each lands with its topic,
  partition and offset, and its binlog coordinate (file, position, row index) gives the order
  across keys.
- Exactly once as the clickstream job: Spark's checkpoint plus BatchLedger's batch id in each
  Iceberg commit. A record that is not a change message goes to raw.dead_letters (source 'cdc').
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, LongType, StringType, StructField, StructType

from . import profile
from . import settings as settings_module
from .session import await_with_restarts, spark_session
from .tables import BatchLedger, counts, ensure_raw

# ingest/cdc/change-topic.ts's ChangeMessage.
CHANGE = StructType(
    [
        StructField("source_database", StringType()),
        StructField("table_name", StringType()),
        StructField("operation", StringType()),
        StructField("primary_key", StringType()),
        StructField("before_image", StringType()),
        StructField("after_image", StringType()),
        StructField("binlog_file", StringType()),
        StructField("binlog_position", LongType()),
        StructField("row_index", IntegerType()),
        StructField("gtid", StringType()),
        StructField("snapshot_id", StringType()),
        StructField("source_committed_at", StringType()),
        StructField("ddl", StringType()),
    ]
)
OPERATIONS = ("snapshot", "insert", "update", "delete", "truncate", "schema_change")


def main() -> None:
    s = settings_module.load()
    spark = spark_session(s)
    profile.install(spark, "changes")
    catalog = s["catalog"]["name"]
    ensure_raw(spark, catalog)
    ledger = BatchLedger(spark, s["checkpointDir"] + "/ledger", "changes")
    changes_table, dead_table = f"{catalog}.raw.shop_changes", f"{catalog}.raw.dead_letters"

    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", s["kafka"]["bootstrap"])
        .option("subscribe", s["kafka"]["changesTopic"])
        .option("startingOffsets", s["kafka"]["startingOffsets"])
        .option("kafka.isolation.level", "read_committed")
        .option("failOnDataLoss", "true")
        .option("maxOffsetsPerTrigger", str(s.get("maxOffsetsPerTrigger", 200_000)))
        .load()
    )

    def land(batch: DataFrame, batch_id: int) -> None:
        clock = profile.BatchClock(spark, "changes", batch_id)
        rows = batch.select(
            "topic",
            F.col("partition").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            "key",
            "value",
            F.from_json(F.col("value").cast("string"), CHANGE).alias("c"),
        ).persist()
        try:
            # Null-safe: `isin` of a missing operation is null, and a null condition would send
            # the record to neither table.
            readable = F.coalesce(
                F.col("c.source_database").isNotNull() & F.col("c.table_name").isNotNull() & F.col("c.operation").isin(*OPERATIONS), F.lit(False)
            )
            # One action reads the batch into its cache and counts what is dead (see clickstream.py).
            with clock.phase("decide"):
                clock.rows, dead_rows = counts(rows, ~readable | F.col("key").isNull())
            now = F.current_timestamp()
            changes = rows.where(readable).select(
                F.col("key").cast("string").alias("change_key"),
                "c.source_database",
                "c.table_name",
                "c.operation",
                "c.primary_key",
                "c.before_image",
                "c.after_image",
                "c.binlog_file",
                "c.binlog_position",
                "c.row_index",
                "c.gtid",
                "c.snapshot_id",
                F.to_timestamp("c.source_committed_at").alias("source_committed_at"),
                "c.ddl",
                "topic",
                "kafka_partition",
                "kafka_offset",
                now.alias("_loaded_at"),
            )
            dead = rows.where(~readable | F.col("key").isNull()).select(
                F.lit("cdc").alias("source"),
                "topic",
                "kafka_partition",
                "kafka_offset",
                F.lit(None).cast("string").alias("source_position"),
                F.col("key").alias("message_key"),
                F.col("value").alias("payload"),
                F.length("value").alias("payload_bytes"),
                F.lit("CHANGE_UNREADABLE").alias("error_code"),
                F.lit("not a change message (ingest/cdc/change-topic.ts)").alias("reason"),
                now.alias("received_at"),
                now.alias("_loaded_at"),
            )
            with clock.phase("ledger"):
                ledger.last_batch(changes_table)
            with clock.phase("write"):
                ledger.append(changes.where("change_key is not null"), changes_table, batch_id)
            if dead_rows > 0:
                with clock.phase("dead"):
                    ledger.append(dead, dead_table, batch_id)
        finally:
            rows.unpersist()
        clock.emit()

    def start():
        return (
            source.writeStream.foreachBatch(land)
            .option("checkpointLocation", s["checkpointDir"] + "/stream")
            .trigger(processingTime=f"{s['triggerSeconds']} seconds")
            .queryName("changes-landing")
            .start()
        )

    await_with_restarts(start, "changes")


if __name__ == "__main__":
    main()
