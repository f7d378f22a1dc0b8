"""Iceberg maintenance for every lakehouse table: compact the small files that frequent
micro-batches leave (rewrite_data_files), then expire snapshots older than the retention
(expire_snapshots, which also deletes the files only they referenced). Safe while the jobs run:
both commit through the catalog's atomic swap, and a rewrite that conflicts with a landing
commit is retried by Iceberg or fails without effect."""

from __future__ import annotations

import datetime
import json
import sys

from . import settings as settings_module
from .session import spark_session


def main() -> None:
    s = settings_module.load()
    spark = spark_session(s)
    catalog = s["catalog"]["name"]
    hours = s["maintenance"]["snapshotRetentionHours"]
    older_than = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")
    for namespace in ("raw", "realtime"):
        try:
            tables = [r["tableName"] for r in spark.sql(f"show tables in {catalog}.{namespace}").collect()]
        except Exception:  # noqa: BLE001 - a namespace no job has created yet
            continue
        for table in tables:
            name = f"{namespace}.{table}"
            rewritten = spark.sql(f"call {catalog}.system.rewrite_data_files(table => '{name}', options => map('min-input-files', '5'))").collect()[0]
            expired = spark.sql(
                f"call {catalog}.system.expire_snapshots(table => '{name}', older_than => timestamp '{older_than}', retain_last => 10)"
            ).collect()[0]
            sys.stdout.write(
                json.dumps(
                    {
                        "table": name,
                        "rewrittenDataFiles": rewritten["rewritten_data_files_count"],
                        "addedDataFiles": rewritten["added_data_files_count"],
                        "expiredDataFiles": expired["deleted_data_files_count"],
                        "expiredManifests": expired["deleted_manifest_files_count"],
                    }
                )
                + "\n"
            )
    spark.stop()


if __name__ == "__main__":
    main()
