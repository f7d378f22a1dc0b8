"""Publish marts built on the lake to the Postgres warehouse, where the report, the alerts, the
gate and Superset read them (docs/lakehouse.md, "Serving the marts").

Each mart is first copied as it is into a load table of its own (Spark's JDBC writer, from the
executors), timestamps as UTC text so no JVM's time zone can shift them. Then ONE Postgres
transaction replaces every published mart's rows from its load table, casting each column to
the type the mart's dbt contract declares (the TypeScript side reads them from dbt's manifest):
a reader sees all marts of one build or all of the previous one, never a mix. The load tables
are dropped after.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import functions as F

from . import settings as settings_module
from .session import spark_session


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _connect(spark: Any, publish: dict[str, Any]) -> Any:
    """A JDBC connection to the warehouse from the driver JVM. The Postgres driver is one of
    spark.jars, which java.sql.DriverManager's class loader does not see: it is asked directly."""
    jvm = spark._jvm
    properties = jvm.java.util.Properties()
    properties.setProperty("user", publish["user"])
    properties.setProperty("password", publish["password"])
    return jvm.org.postgresql.Driver().connect(publish["url"], properties)


def _execute(spark: Any, publish: dict[str, Any], statements: list[str]) -> None:
    """Statements outside a transaction, each on its own."""
    connection = _connect(spark, publish)
    try:
        for statement in statements:
            connection.createStatement().execute(statement)
    finally:
        connection.close()


def _load(spark: Any, catalog: str, publish: dict[str, Any], table: dict[str, Any]) -> str:
    """Copies one mart into its load table; returns the load table's name."""
    frame = spark.table(f"{catalog}.{table['source']}")
    types = dict(frame.dtypes)
    columns = []
    for column in table["columns"]:
        name = column["name"]
        if name not in types:
            raise SystemExit(f"{table['source']} has no column {name}, which its contract declares: build it again with dbt")
        # Timestamps as UTC text, read back with the contract's type inside Postgres.
        columns.append(F.date_format(F.col(name), "yyyy-MM-dd HH:mm:ss.SSSSSSXXX").alias(name) if types[name] == "timestamp" else F.col(name))
    load_table = f"{publish['loadSchema']}.{table['name']}"
    frame.select(*columns).write.jdbc(
        publish["url"],
        load_table,
        mode="overwrite",
        properties={"user": publish["user"], "password": publish["password"], "driver": "org.postgresql.Driver"},
    )
    return load_table


def _swap(spark: Any, publish: dict[str, Any], loaded: list[tuple[dict[str, Any], str]]) -> None:
    """One transaction: every target's rows replaced by its load table's, cast to the contract's types."""
    connection = _connect(spark, publish)
    try:
        connection.setAutoCommit(False)
        statement = connection.createStatement()
        statement.execute("set local time zone 'UTC'")
        statement.execute(f"create schema if not exists {_quote(publish['targetSchema'])}")
        for table, load_table in loaded:
            target = f"{_quote(publish['targetSchema'])}.{_quote(table['name'])}"
            names = ", ".join(_quote(c["name"]) for c in table["columns"])
            declared = ", ".join(f"{_quote(c['name'])} {c['type']}" for c in table["columns"])
            casts = ", ".join(f"{_quote(c['name'])}::{c['type']}" for c in table["columns"])
            statement.execute(f"create table if not exists {target} ({declared})")
            statement.execute(f"truncate {target}")
            statement.execute(f"insert into {target} ({names}) select {casts} from {load_table}")
        connection.commit()
    except Exception:
        connection.rollback()
        raise
    finally:
        connection.close()


def main() -> None:
    s = settings_module.load()
    publish = s["publish"]
    spark = spark_session(s)
    # One publish at a time: a second one waits here rather than overwrite the load tables the
    # first is about to swap in (the lock ends with this connection, whatever happens).
    lock = _connect(spark, publish)
    try:
        lock.createStatement().execute("select pg_advisory_lock(hashtext('shopflow-lake-publish'))")
        _execute(spark, publish, [f"create schema if not exists {_quote(publish['loadSchema'])}"])
        loaded = [(table, _load(spark, s["catalog"]["name"], publish, table)) for table in publish["tables"]]
        _swap(spark, publish, loaded)
        _execute(spark, publish, [f"drop table if exists {load_table}" for _, load_table in loaded])
    finally:
        lock.close()
    for table, _ in loaded:
        print(f"published {table['source']} -> {publish['targetSchema']}.{table['name']}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
