"""Clickstream landing: Kafka `shop.events` -> Iceberg raw.shop_events and raw.dead_letters.

Exactly once: Spark's checkpoint records the Kafka offsets of each micro-batch before it runs
and its completion after; Iceberg commits each table's rows atomically with the batch's id
(BatchLedger), so a batch replayed after a crash lands nowhere twice and nothing is skipped.
Every record is decided by the same contract as the TypeScript ingestor: by default with its
row-at-a-time Python UDF (contract.py); the settings' `contractEngine: "sql"` decides with its
form as Spark SQL expressions (contract_sql.py) in the executors' JVMs instead, which is slower
here so far (docs/lakehouse.md, "One contract").
"""

from __future__ import annotations

from typing import Any, Optional

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, LongType, StringType, StructField, StructType

from . import contract_sql, profile
from . import settings as settings_module
from .contract import Contract
from .session import await_with_restarts, spark_session
from .tables import BatchLedger, counts, ensure_raw

VERDICT = StructType(
    [
        StructField("ok", BooleanType(), False),
        StructField("code", StringType(), True),
        StructField("reason", StringType(), True),
        StructField("event_id", StringType(), True),
        StructField("event_type", StringType(), True),
        StructField("event_time_us", LongType(), True),
    ]
)


def decider(spec: dict[str, Any]):
    contract: list[Contract] = []

    def decide(key: Optional[bytearray], value: Optional[bytearray], timestamp_ms: Optional[int]):
        if not contract:  # once per Python worker, not per record
            contract.append(Contract(spec))
        v = contract[0].decide(None if key is None else bytes(key), None if value is None else bytes(value), timestamp_ms)
        return (v.ok, v.code, v.reason, v.event_id, v.event_type, v.event_time_us)

    return F.udf(decide, VERDICT)


def decided(records: DataFrame, spec: dict[str, Any], engine: str = "udf") -> DataFrame:
    """Kafka source rows with the Kafka envelope renamed as the raw tables name it, and `v` (VERDICT)."""
    if engine == "sql":
        return contract_sql.decided(records, spec)
    decide = decider(spec)
    return records.select(
        "topic",
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        "key",
        "value",
        F.col("timestamp").alias("kafka_timestamp"),
        decide("key", "value", F.unix_millis("timestamp")).alias("v"),
    )


def main() -> None:
    s = settings_module.load()
    spark = spark_session(s)
    profile.install(spark, "clickstream")
    catalog = s["catalog"]["name"]
    ensure_raw(spark, catalog)
    ledger = BatchLedger(spark, s["checkpointDir"] + "/ledger", "clickstream")
    events_table, dead_table = f"{catalog}.raw.shop_events", f"{catalog}.raw.dead_letters"

    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", s["kafka"]["bootstrap"])
        .option("subscribe", s["kafka"]["topic"])
        .option("startingOffsets", s["kafka"]["startingOffsets"])
        # A gap in the topic (retention ran ahead of us) must stop the job, not be skipped silently.
        .option("failOnDataLoss", "true")
        .option("maxOffsetsPerTrigger", str(s.get("maxOffsetsPerTrigger", 200_000)))
        .load()
    )

    engine = s.get("contractEngine", "udf")
    # The SQL contract is part of the streaming query, analysed once when it starts: each
    # micro-batch only re-optimises it (a DataFrame built inside foreachBatch would be analysed
    # again for every batch, seconds for the contract's expressions).
    stream = decided(source, s["contract"], engine) if engine == "sql" else source

    def land(batch: DataFrame, batch_id: int) -> None:
        clock = profile.BatchClock(spark, "clickstream", batch_id)
        rows = (batch if engine == "sql" else decided(batch, s["contract"], engine)).persist()
        try:
            # One action decides the batch into its cache and counts what is dead: the writes
            # below read the cache, and a batch without dead letters starts no job for them.
            with clock.phase("decide"):
                clock.rows, dead_rows = counts(rows, ~F.col("v.ok"))
            now = F.current_timestamp()
            events = rows.where("v.ok").select(
                "topic",
                "kafka_partition",
                "kafka_offset",
                F.col("key").cast("string").alias("message_key"),
                F.col("v.event_id").alias("event_id"),
                F.col("v.event_type").alias("event_type"),
                F.timestamp_micros("v.event_time_us").alias("event_time"),
                F.col("value").cast("string").alias("payload"),
                # Kafka's "no timestamp" (-1) lands as null, as in Postgres.
                F.when(F.unix_millis("kafka_timestamp") == -1, F.lit(None)).otherwise(F.col("kafka_timestamp")).alias("kafka_timestamp"),
                now.alias("_loaded_at"),
            )
            dead = rows.where("not v.ok").select(
                F.lit("kafka").alias("source"),
                "topic",
                "kafka_partition",
                "kafka_offset",
                F.lit(None).cast("string").alias("source_position"),
                F.col("key").alias("message_key"),
                F.col("value").alias("payload"),
                F.length("value").alias("payload_bytes"),
                F.col("v.code").alias("error_code"),
                F.col("v.reason").alias("reason"),
                now.alias("received_at"),
                now.alias("_loaded_at"),
            )
            with clock.phase("ledger"):
                ledger.last_batch(events_table)
            with clock.phase("write"):
                ledger.append(events, events_table, batch_id)
            if dead_rows > 0:
                with clock.phase("dead"):
                    ledger.append(dead, dead_table, batch_id)
        finally:
            rows.unpersist()
        clock.emit()

    def start() -> Any:
        return (
            stream.writeStream.foreachBatch(land)
            .option("checkpointLocation", s["checkpointDir"] + "/stream")
            .trigger(processingTime=f"{s['triggerSeconds']} seconds")
            .queryName("clickstream-landing")
            .start()
        )

    await_with_restarts(start, "clickstream")


if __name__ == "__main__":
    main()
