"""Where a landing job's micro-batches spend their time, one JSON line per batch on stdout.

- `{"lake_batch": ...}` from inside foreachBatch: the batch's rows and its phases in ms
  (`decide`: Kafka read plus the contract, materialised once into the batch's cache; `ledger`:
  the exactly-once lookup; `write`: the Iceberg append of each table, its data files and the
  catalog commit; `dead`: the dead-letter check and append).
- `{"lake_progress": ...}` from Structured Streaming's own progress report after the batch:
  `latestOffset` (asking Kafka for its ends), `walCommit` (the offset log in the checkpoint),
  `addBatch` (all of foreachBatch), `commitOffsets` (the commit log), `triggerExecution` (all).
- `{"lake_commit": ...}` from Iceberg's commit report (its LoggingMetricsReporter, switched to
  INFO for that class only): each table commit's duration and attempts, i.e. the JDBC catalog's
  compare-and-swap with the metadata files it writes first.

bench lake-landing reads these lines back from the job's log (bench/lib/lake-profile.ts).
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Any, Iterator

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQueryListener


def emit(kind: str, job: str, fields: dict[str, Any]) -> None:
    print(json.dumps({kind: job, **fields}, separators=(",", ":")), flush=True)


class BatchClock:
    """Times foreachBatch's phases, and names the Spark jobs each phase starts after it (the
    event log's job description), so a profile can add up their stages and tasks per phase."""

    def __init__(self, spark: SparkSession, job: str, batch_id: int):
        self.spark = spark
        self.job = job
        self.batch_id = batch_id
        self.phases: dict[str, float] = {}
        self.rows = 0

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        self.spark.sparkContext.setJobDescription(f"{self.job} {name}")
        try:
            yield
        finally:
            self.spark.sparkContext.setJobDescription(None)  # type: ignore[arg-type]
            self.phases[name] = self.phases.get(name, 0.0) + (time.perf_counter() - started) * 1000

    def emit(self) -> None:
        emit("lake_batch", self.job, {"batch": self.batch_id, "rows": self.rows, "ms": {k: round(v, 1) for k, v in self.phases.items()}})


class _Progress(StreamingQueryListener):
    def __init__(self, job: str):
        self.job = job

    def onQueryStarted(self, event: Any) -> None:
        pass

    def onQueryProgress(self, event: Any) -> None:
        p = event.progress
        emit("lake_progress", self.job, {"query": p.name, "batch": p.batchId, "rows": p.numInputRows, "ms": dict(p.durationMs)})

    def onQueryIdle(self, event: Any) -> None:
        pass

    def onQueryTerminated(self, event: Any) -> None:
        pass


def install(spark: SparkSession, job: str) -> None:
    """Progress lines for every query of this session, and Iceberg's commit reports in the log."""
    spark.streams.addListener(_Progress(job))
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    level = jvm.org.apache.logging.log4j.Level.INFO
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel("org.apache.iceberg.metrics.LoggingMetricsReporter", level)
