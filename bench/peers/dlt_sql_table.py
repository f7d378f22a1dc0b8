"""dlt 1.31 `sql_table` with the connectorx backend: one MariaDB table into a typed Postgres table.

Run by bench/ingest-cdc.ts in the bench-only venv (bench/lib/bench-venv.ts). Prints one JSON
line: rows loaded, wall seconds of the whole pipeline run (extract, normalize, load).
Usage: python dlt_sql_table.py SOURCE_URL DESTINATION_URL TABLE PIPELINES_DIR
"""

import json
import sys
import time

import dlt
from dlt.sources.sql_database import sql_table


def main() -> None:
    source_url, destination_url, table, pipelines_dir = sys.argv[1:5]
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{table}",
        pipelines_dir=pipelines_dir,
        destination=dlt.destinations.postgres(credentials=destination_url),
        dataset_name="dlt_bench",
        progress=None,
    )
    resource = sql_table(credentials=source_url, table=table, backend="connectorx", chunk_size=100_000)
    started = time.perf_counter()
    info = pipeline.run(resource, write_disposition="replace")
    seconds = time.perf_counter() - started
    info.raise_on_failed_jobs()
    rows = pipeline.last_trace.last_normalize_info.row_counts.get(table, 0)
    formats = sorted({job.job_file_info.file_format for package in info.load_packages for job in package.jobs["completed_jobs"]})
    print(json.dumps({"rows": rows, "seconds": seconds, "file_formats": formats}))


if __name__ == "__main__":
    main()
