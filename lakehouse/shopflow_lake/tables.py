"""The Iceberg tables the jobs write, created on first start (idempotent), and the marker that
makes a micro-batch's commit idempotent."""

from __future__ import annotations

import os
import uuid
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

# Same columns as the Postgres raw tables (lib/warehouse/migrations/0002_raw_and_ingest.sql);
# payload is the message's JSON text, partitions are days of the event (hidden partitioning).
SHOP_EVENTS = """
create table if not exists {c}.raw.shop_events (
    topic string not null, kafka_partition int not null, kafka_offset bigint not null,
    message_key string, event_id string not null, event_type string not null,
    event_time timestamp not null, payload string not null, kafka_timestamp timestamp,
    _loaded_at timestamp not null)
using iceberg partitioned by (days(event_time))
tblproperties ('format-version' = '2', 'write.parquet.compression-codec' = 'zstd')
"""

DEAD_LETTERS = """
create table if not exists {c}.raw.dead_letters (
    source string not null, topic string, kafka_partition int, kafka_offset bigint,
    source_position string, message_key binary, payload binary, payload_bytes int,
    error_code string not null, reason string not null, received_at timestamp not null,
    _loaded_at timestamp not null)
using iceberg partitioned by (days(_loaded_at))
tblproperties ('format-version' = '2')
"""

SHOP_CHANGES = """
create table if not exists {c}.raw.shop_changes (
    change_key string not null, source_database string not null, table_name string not null,
    operation string not null, primary_key string, before_image string, after_image string,
    binlog_file string, binlog_position bigint, row_index int, gtid string, snapshot_id string,
    source_committed_at timestamp, ddl string, topic string not null, kafka_partition int not null,
    kafka_offset bigint not null, _loaded_at timestamp not null)
using iceberg partitioned by (table_name, days(_loaded_at))
tblproperties ('format-version' = '2')
"""


def ensure_raw(spark: SparkSession, catalog: str) -> None:
    spark.sql(f"create namespace if not exists {catalog}.raw")
    for ddl in (SHOP_EVENTS, DEAD_LETTERS, SHOP_CHANGES):
        spark.sql(ddl.format(c=catalog))
    # Tables created before the CDC path carried DDL text (Iceberg adds a column in place).
    if "ddl" not in spark.table(f"{catalog}.raw.shop_changes").columns:
        spark.sql(f"alter table {catalog}.raw.shop_changes add column ddl string after source_committed_at")


class BatchLedger:
    """Exactly-once commits for foreachBatch.

    Structured Streaming replays the last micro-batch after a crash when its commit was not
    recorded in the checkpoint, though its Iceberg commit may have happened. Each append records
    the sink's id and the batch id in the snapshot's summary (Iceberg's `snapshot-property.`
    write options, committed atomically with the data), and a replayed batch whose id a table
    already holds is skipped for that table. The sink id lives in the checkpoint folder, so a new
    checkpoint (a deliberate re-read) is a new sink.

    The lookup runs once per table and process, not per batch: after it, this process is the
    sink's only writer (one job per checkpoint), so the last batch it appended is the table's.
    It walks the table's snapshot lineage back from the current snapshot on the driver, through
    Iceberg's Java API, until it meets this sink's newest commit: no Spark job (a query of the
    `snapshots` metadata table cost a job of several seconds at every start and restart), and
    usually one step, since the sink is the table's usual writer.
    """

    def __init__(self, spark: SparkSession, checkpoint_dir: str, job: str):
        self.spark = spark
        self.key = f"shopflow.{job}"
        os.makedirs(checkpoint_dir, exist_ok=True)
        path = os.path.join(checkpoint_dir, "sink-id")
        if not os.path.exists(path):
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.write(str(uuid.uuid4()))
            os.replace(path + ".tmp", path)
        with open(path, encoding="utf-8") as f:
            self.sink_id = f.read().strip()
        self._last: dict[str, int] = {}

    def last_batch(self, table: str) -> int:
        if table not in self._last:
            self._last[table] = self._committed_batch(table)
        return self._last[table]

    def _committed_batch(self, table: str) -> int:
        jvm = self.spark.sparkContext._jvm  # type: ignore[attr-defined]
        iceberg = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(self.spark._jsparkSession, table)
        iceberg.refresh()
        snapshot = iceberg.currentSnapshot()
        while snapshot is not None:
            summary = snapshot.summary()
            if summary.get(f"{self.key}.sink") == self.sink_id:
                return int(summary.get(f"{self.key}.batch"))
            parent = snapshot.parentId()
            # An expired parent ends the lineage this table still knows.
            snapshot = None if parent is None else iceberg.snapshot(parent)
        return -1

    def append(self, frame: DataFrame, table: str, batch_id: int, extra: dict[str, Any] | None = None) -> bool:
        """Append unless this batch is already in the table; True when it wrote."""
        if self.last_batch(table) >= batch_id:
            return False
        writer = (
            frame.writeTo(table)
            .option(f"snapshot-property.{self.key}.sink", self.sink_id)
            .option(f"snapshot-property.{self.key}.batch", str(batch_id))
            # Each task writes its rows where they are, a file per partition (day) it holds, with
            # one open writer per partition (fanout) instead of sorting: Iceberg's default for a
            # partitioned table (hash distribution) shuffles the whole batch first, a second
            # stage that re-serialises every payload. More, smaller files: compaction's job.
            .option("distribution-mode", "none")
            .option("fanout-enabled", "true")
        )
        for k, v in (extra or {}).items():
            writer = writer.option(f"snapshot-property.{self.key}.{k}", str(v))
        writer.append()
        self._last[table] = batch_id
        return True


def counts(rows: DataFrame, dead: Column) -> tuple[int, int]:
    """The batch's rows and how many of them `dead` marks, in one Spark job (which also fills
    the batch's cache when `rows` is persisted)."""
    row = rows.agg(F.count(F.lit(1)).alias("n"), F.count(F.when(dead, 1)).alias("dead")).collect()[0]
    return int(row["n"]), int(row["dead"])
