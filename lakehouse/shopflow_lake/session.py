"""A SparkSession on the configured cluster with the Iceberg catalog `lake` (JDBC catalog in
Postgres, tables on the S3 API through Iceberg's S3FileIO)."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

from .contract_sql import SESSION_CONFIG


def session_conf(settings: dict[str, Any], cache_tables: bool = True) -> dict[str, str]:
    """Every Spark option of a lake session: the cluster, the heaps and the Iceberg catalog.
    The SQL endpoint (sql_server.py) is started with the same options, so dbt's tables and the
    jobs' tables live in one catalog configured in one place."""
    catalog = settings["catalog"]
    s3 = settings["s3"]
    prefix = f"spark.sql.catalog.{catalog['name']}"
    return {
        "spark.app.name": settings["appName"],
        "spark.master": settings["master"],
        "spark.jars": ",".join(settings["jars"]),
        "spark.driver.memory": settings["driverMemory"],
        "spark.executor.memory": settings["executorMemory"],
        "spark.executor.cores": "1",
        "spark.cores.max": str(settings["maxCores"]),
        # Executors run the contract (a Python UDF) with the same interpreter and modules.
        "spark.pyspark.python": settings["python"],
        "spark.executorEnv.PYTHONPATH": settings["pythonPath"],
        # Checksums only where S3 requires them: S3-compatible stores refuse the SDK's default
        # streaming checksum trailer (the driver gets the same from lib/lakehouse/jobs.ts).
        "spark.executorEnv.AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
        "spark.executorEnv.AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        "spark.sql.session.timeZone": "UTC",
        # Small batches on a small cluster: a few partitions, not Spark's default 200.
        "spark.sql.shuffle.partitions": str(max(2, 2 * settings["maxCores"])),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.type": "jdbc",
        f"{prefix}.uri": catalog["jdbcUrl"],
        f"{prefix}.jdbc.user": catalog["user"],
        f"{prefix}.jdbc.password": catalog["password"],
        # Iceberg's own schema version of the catalog tables (V1 also tracks views).
        f"{prefix}.jdbc.schema-version": "V1",
        f"{prefix}.warehouse": catalog["warehouse"],
        f"{prefix}.cache-enabled": "true" if cache_tables else "false",
        f"{prefix}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        f"{prefix}.s3.endpoint": s3["endpoint"],
        f"{prefix}.s3.path-style-access": "true" if s3["pathStyle"] else "false",
        f"{prefix}.s3.access-key-id": s3["accessKeyId"],
        f"{prefix}.s3.secret-access-key": s3["secretAccessKey"],
        f"{prefix}.client.region": s3["region"],
    }


def spark_session(settings: dict[str, Any], cache_tables: bool = True) -> SparkSession:
    """cache_tables=False makes every read load the table's current snapshot from the catalog,
    which a stream-static join needs: Iceberg's catalog cache would keep serving the snapshot of
    the first read for as long as the job keeps reading it."""
    builder = SparkSession.builder
    # The contract's parse reads a duplicated key as JSON.parse does (contract_sql.py).
    for key, value in {**session_conf(settings, cache_tables), **SESSION_CONFIG}.items():
        builder = builder.config(key, value)
    if settings.get("eventLogDir"):
        # Spark's event log (every job, stage and task with its timings) for profiling runs.
        builder = builder.config("spark.eventLog.enabled", "true").config("spark.eventLog.dir", settings["eventLogDir"]).config("spark.eventLog.compress", "false")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


# Spark 4.1.1's Kafka source fails progress reporting on the first micro-batch after a restart
# when that batch is replayed from the offset log (SPARK-55271: its latest offsets are still
# null). The batch has been written and committed by then (the commit log is written before
# progress is reported), so starting the query again from its checkpoint resumes correctly.
_KAFKA_METRICS_BUG = 'because the return value of "scala.Option.get()" is null'


def _is_kafka_metrics_bug(error: Any) -> bool:
    return error is not None and _KAFKA_METRICS_BUG in str(error)


def await_with_restarts(start: Any, name: str, attempts: int = 5) -> None:
    """Runs start() (a function that starts a streaming query) until it ends, starting it again
    after the known Kafka-source progress failure above, at most `attempts` times in a row."""
    from pyspark.errors import StreamingQueryException

    restarts = 0
    while True:
        query = start()
        try:
            query.awaitTermination()
            return
        except StreamingQueryException as error:
            if not _is_kafka_metrics_bug(error) or restarts >= attempts:
                raise
            restarts += 1
            print(f"{name}: restarting the query after Spark's Kafka progress failure (SPARK-55271), attempt {restarts}", flush=True)


def supervise_queries(spark: SparkSession, starters: dict[str, Any], job: str, attempts: int = 5) -> None:
    """The same as await_with_restarts for a job of several queries (each a name and a function
    that starts it): a query that failed with the known Kafka-source progress failure is started
    again from its checkpoint, at most `attempts` times each; any other failure ends the job."""
    from pyspark.errors import StreamingQueryException

    queries = {name: start() for name, start in starters.items()}
    restarts = dict.fromkeys(starters, 0)
    while True:
        try:
            spark.streams.awaitAnyTermination()
        except StreamingQueryException:
            pass
        spark.streams.resetTerminated()
        for name, query in list(queries.items()):
            if query.isActive:
                continue
            error = query.exception()
            if error is None:
                return  # stopped on purpose
            if not _is_kafka_metrics_bug(error) or restarts[name] >= attempts:
                raise error
            restarts[name] += 1
            print(f"{job}: restarting query {name} after Spark's Kafka progress failure (SPARK-55271), attempt {restarts[name]}", flush=True)
            queries[name] = starters[name]()
