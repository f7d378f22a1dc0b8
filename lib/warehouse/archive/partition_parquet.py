"""One load day of raw.shop_events, or one slice of it by event time, to a Parquet file and back
(lib/warehouse/archive/index.ts drives it; docs/operations.md, "Raw retention", says when).

    python partition_parquet.py export  --day YYYY-MM-DD --file PATH   # rows of that load day -> PATH
    python partition_parquet.py inspect --file PATH                    # read PATH back: rows and key hash
    python partition_parquet.py restore --day D --file PATH --sha256 S --expect-rows N --expect-key-hash H

--events-from T and --events-before T (export, restore) narrow the day to its rows with
T <= event_time < T: a slice of a load day that holds old events (a backfill).

Connects with ARCHIVE_PG_URL. Each command prints one JSON object on its last line. The columns
and their types are read from the table itself, so the file follows the table's contract
(lib/events/columns.ts, migration 0150) without a second copy of it here.

The key hash is a sum, so row order does not matter, of the first 60 bits of
md5(topic/partition/offset/event_id/event_time/_loaded_at) per row, times in epoch
microseconds: the same number the warehouse computes in SQL (raw.shop_events_day_fingerprint),
so a file read back can be compared with the rows it was written from.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg2
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.compute as pc
import pyarrow.parquet as pq

BATCH_ROWS = 100_000
# zstd: about a third smaller than snappy on this data, and every Parquet reader has it.
COMPRESSION = "zstd"


def arrow_type(data_type: str, precision: int | None, scale: int | None) -> pa.DataType:
    if data_type == "text":
        return pa.string()
    if data_type == "integer":
        return pa.int32()
    if data_type == "bigint":
        return pa.int64()
    if data_type == "numeric" and precision is not None:
        return pa.decimal128(precision, scale or 0)
    if data_type == "timestamp with time zone":
        return pa.timestamp("us", tz="UTC")
    if data_type == "jsonb":
        # Kept as its JSON text; restore casts it back.
        return pa.string()
    raise ValueError(f"raw.shop_events has a column of type {data_type} the archive does not map")


def table_schema(cursor: Any) -> pa.Schema:
    cursor.execute("""
        select column_name, data_type, numeric_precision, numeric_scale
        from information_schema.columns
        where table_schema = 'raw' and table_name = 'shop_events'
        order by ordinal_position""")
    return pa.schema([pa.field(name, arrow_type(kind, precision, scale)) for name, kind, precision, scale in cursor.fetchall()])


def key_hash_of(batch: pa.RecordBatch) -> int:
    # The key text is built column-wise by Arrow (times as epoch microseconds: a timestamp[us]
    # read as int64); only the md5 of each key runs per row in Python.
    parts = [batch.column("topic"), batch.column("kafka_partition"), batch.column("kafka_offset"),
             batch.column("event_id"), batch.column("event_time"), batch.column("_loaded_at")]
    texts = [pc.cast(pc.cast(part, pa.int64()) if pa.types.is_timestamp(part.type) else part, pa.string())
             for part in parts]
    keys = pc.binary_join_element_wise(*texts, "/")
    md5 = hashlib.md5
    return sum(int(md5(key.encode()).hexdigest()[:15], 16) for key in keys.to_pylist())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def slice_filter(start: datetime, events_from: datetime | None, events_before: datetime | None) -> tuple[str, list[Any]]:
    """The rows of one load day (from `start`), narrowed to an event-time slice when bounds are given."""
    sql = "_loaded_at >= %s and _loaded_at < %s"
    params: list[Any] = [start, start + timedelta(days=1)]
    if events_from is not None:
        sql += " and event_time >= %s"
        params.append(events_from)
    if events_before is not None:
        sql += " and event_time < %s"
        params.append(events_before)
    return sql, params


def copy_csv_to(connection: Any, query: str, sink: Any, failure: list[BaseException]) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.copy_expert(f"copy ({query}) to stdout with (format csv)", sink)
    except BaseException as error:  # handed to the reading thread, which raises it
        failure.append(error)
    finally:
        try:
            sink.close()
        except BrokenPipeError:  # the reader stopped first; its own error is raised
            pass


def export(url: str, day: date, path: Path, events_from: datetime | None = None,
           events_before: datetime | None = None) -> dict[str, Any]:
    """Streams the rows out with COPY ... TO STDOUT (CSV) into Arrow's CSV reader and on to the
    Parquet writer, so no row becomes a Python object (a named cursor's fetch was 3x slower).
    Times leave Postgres as epoch microseconds (integers: exact) and become timestamp[us, UTC]."""
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    temporary = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with psycopg2.connect(url, application_name="shopflow-raw-archive") as connection:
        with connection.cursor() as cursor:
            schema = table_schema(cursor)
            where, params = slice_filter(start, events_from, events_before)
            select_list = ", ".join(
                f'"{f.name}"::text' if f.name == "payload"
                else f'(extract(epoch from "{f.name}") * 1000000)::bigint' if pa.types.is_timestamp(f.type)
                else f'"{f.name}"' for f in schema)
            query = cursor.mogrify(f"select {select_list} from raw.shop_events where {where}", params).decode()
        as_read = pa.schema([pa.field(f.name, pa.int64() if pa.types.is_timestamp(f.type) else f.type) for f in schema])
        read_end, write_end = os.pipe()
        failure: list[BaseException] = []
        source = os.fdopen(read_end, "rb")
        writer_thread = threading.Thread(target=copy_csv_to, args=(connection, query, os.fdopen(write_end, "wb"), failure))
        writer_thread.start()
        try:
            reader = pa_csv.open_csv(
                source,
                read_options=pa_csv.ReadOptions(column_names=as_read.names, block_size=8 << 20),
                # COPY's CSV: NULL is an unquoted empty field, an empty string a quoted one.
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(column_types=as_read, strings_can_be_null=True,
                                                      quoted_strings_can_be_null=False, null_values=[""]),
            )
            # Row groups of BATCH_ROWS rows whatever the size of the CSV reader's blocks.
            pending: list[pa.Table] = []
            pending_rows = 0
            with pq.ParquetWriter(temporary, schema, compression=COMPRESSION) as writer:
                def flush(final: bool) -> None:
                    nonlocal pending, pending_rows
                    table = pa.concat_tables(pending)
                    whole = table.num_rows if final else table.num_rows - table.num_rows % BATCH_ROWS
                    if whole:
                        writer.write_table(table.slice(0, whole), row_group_size=BATCH_ROWS)
                    pending = [table.slice(whole)]
                    pending_rows = table.num_rows - whole
                for batch in reader:
                    pending.append(pa.Table.from_batches([batch]).cast(schema))
                    pending_rows += batch.num_rows
                    rows += batch.num_rows
                    if pending_rows >= BATCH_ROWS:
                        flush(final=False)
                if pending_rows:
                    flush(final=True)
        finally:
            # Closing the read end first unblocks a COPY still writing when reading failed.
            source.close()
            writer_thread.join()
        if failure:
            raise failure[0]
    temporary.replace(path)
    # The key hash is taken by reading the file back (inspect), not from what was meant to be written.
    return {"rows": rows, "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def inspect(path: Path) -> dict[str, Any]:
    """Reads the file back, as a reader of the archive would: what it holds, not what was meant."""
    parquet = pq.ParquetFile(path)
    rows = key_hash = 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
        rows += batch.num_rows
        key_hash += key_hash_of(batch)
    return {"rows": rows, "key_hash": str(key_hash), "bytes": path.stat().st_size, "sha256": file_sha256(path),
            "metadata_rows": parquet.metadata.num_rows}


def restore(url: str, day: date, path: Path, sha256: str, expect_rows: int, expect_key_hash: str,
            events_from: datetime | None = None, events_before: datetime | None = None) -> dict[str, Any]:
    """COPYs the file's rows back into the day's partition in one transaction, committed only if
    the day (or its slice) then holds exactly the manifest's rows and key hash. CSV with every
    value quoted: an unquoted empty field is NULL to Postgres, a quoted one an empty string, so
    both survive."""
    found = file_sha256(path)
    if found != sha256:
        raise SystemExit(f"{path}: SHA-256 {found} is not the manifest's {sha256}; the file changed since it was archived")
    parquet = pq.ParquetFile(path)
    names = ", ".join(f'"{name}"' for name in parquet.schema_arrow.names)
    rows = 0
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    connection = psycopg2.connect(url, application_name="shopflow-raw-rehydrate")
    try:
        with connection.cursor() as cursor:
            cursor.execute("select raw.create_shop_events_partition(%s)", (day,))
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                buffer = io.BytesIO()
                pa_csv.write_csv(batch, buffer, options)
                buffer.seek(0)
                cursor.copy_expert(f"copy raw.shop_events ({names}) from stdin with (format csv)", buffer)
                rows += batch.num_rows
            cursor.execute("select row_count, key_hash::text from raw.shop_events_slice_fingerprint(%s, %s, %s)",
                           (day, events_from, events_before))
            found_rows, found_hash = cursor.fetchone()
        if found_rows != expect_rows or found_hash != expect_key_hash:
            connection.rollback()
            raise SystemExit(f"load day {day}: restored {found_rows} rows (key hash {found_hash}), the manifest says "
                             f"{expect_rows} ({expect_key_hash}); rolled back, nothing restored")
        connection.commit()
    finally:
        connection.close()
    return {"rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["export", "inspect", "restore"])
    parser.add_argument("--day", type=date.fromisoformat)
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--sha256", help="restore: the manifest's SHA-256 of the file")
    parser.add_argument("--expect-rows", type=int, help="restore: the manifest's row count")
    parser.add_argument("--expect-key-hash", help="restore: the manifest's key hash")
    parser.add_argument("--events-from", type=datetime.fromisoformat, help="export, restore: only events at or after this time")
    parser.add_argument("--events-before", type=datetime.fromisoformat, help="export, restore: only events before this time")
    args = parser.parse_args()
    url = os.environ.get("ARCHIVE_PG_URL", "")
    if args.command == "export":
        if args.day is None:
            parser.error("export needs --day")
        result = export(url, args.day, args.file, args.events_from, args.events_before)
    elif args.command == "inspect":
        result = inspect(args.file)
    else:
        if args.day is None or args.sha256 is None or args.expect_rows is None or args.expect_key_hash is None:
            parser.error("restore needs --day, --sha256, --expect-rows and --expect-key-hash (from the manifest)")
        result = restore(url, args.day, args.file, args.sha256, args.expect_rows, args.expect_key_hash,
                         args.events_from, args.events_before)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
