"""Decide records read as JSON lines on stdin ({"key": b64|null, "value": b64|null, "timestampMs": n})
with the landing job's SQL contract, and write one verdict per line, in input order: what
tests/lakehouse/contract-sql.test.ts compares with the TypeScript ingestor's decisions.

It runs the same expressions as the jobs, in a one-core Spark session of its own (local mode:
only expressions are tested here, no cluster or table is involved); `--sql` prints the SQL the
contract generates instead.
"""

from __future__ import annotations

import base64
import json
import sys

from . import settings
from .contract_sql import SESSION_CONFIG, Contract, explain


def main() -> None:
    spec = settings.load()["contract"]
    if "--sql" in sys.argv:
        for text in explain(spec):
            sys.stdout.write(text + "\n")
        return

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import BinaryType, LongType, StructField, StructType

    decode = lambda v: None if v is None else base64.b64decode(v)  # noqa: E731
    records = [json.loads(line) for line in sys.stdin if line.strip()]
    builder = (
        SparkSession.builder.master("local[1]")
        .appName("shopflow-contract-check")
        .config("spark.driver.memory", "512m")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
    )
    for name, value in SESSION_CONFIG.items():
        builder = builder.config(name, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        schema = StructType(
            [StructField("i", LongType()), StructField("key", BinaryType()), StructField("value", BinaryType()), StructField("ts", LongType())]
        )
        rows = [(i, decode(r["key"]), decode(r["value"]), r.get("timestampMs")) for i, r in enumerate(records)]
        frame = spark.createDataFrame(rows, schema, verifySchema=False)
        verdicts = Contract(spec).decided(frame, timestamp_ms=F.col("ts")).orderBy("i").select("v").collect()
        for row in verdicts:
            v = row["v"]
            sys.stdout.write(json.dumps({"ok": v["ok"], "code": v["code"], "reason": v["reason"], "eventTimeUs": v["event_time_us"]}) + "\n")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
