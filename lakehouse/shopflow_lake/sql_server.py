"""The lake's SQL endpoint: Spark's Thrift JDBC/ODBC server (HiveServer2 protocol), which dbt's
`lakehouse` target (dbt-spark, method thrift) talks to. It is a Spark application on the
configured cluster, started with the jobs' session options (session.py), so the Iceberg
catalog `lake` is the one the landing jobs write, and `lake` is its default catalog: dbt's
two-part names (schema.table) resolve to Iceberg namespaces and tables.

Started by `npm run services:up` (scripts/services/spark-sql.ts) with the settings of
lib/lakehouse/settings.ts plus `sqlServer` (port, folder, Spark home); replaces itself with
Spark's launcher, whose JVM heap is the driver memory (-Xmx).
"""

from __future__ import annotations

import os

from . import settings as settings_module
from .session import session_conf

THRIFT_SERVER = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


def main() -> None:
    s = settings_module.load()
    server = s["sqlServer"]
    conf = session_conf(s)
    catalog = s["catalog"]["name"]
    conf.update(
        {
            "spark.sql.defaultCatalog": catalog,
            # The session catalog (unused by dbt) keeps its Derby metastore and warehouse in the
            # server's own folder instead of the working directory's.
            "spark.sql.warehouse.dir": os.path.join(server["dir"], "spark-warehouse"),
            "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={os.path.join(server['dir'], 'metastore_db')};create=true",
            # The Iceberg and JDBC jars on the driver's own class path: sessions of the Thrift
            # server run with their own context class loader, which otherwise fails to find
            # classes of jars added through spark.jars that the catalog loads lazily.
            "spark.driver.extraClassPath": ":".join(s["jars"]),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={server['dir']} -XX:+UseSerialGC",
            # Executors come and go with dbt's queries: an idle endpoint holds no slot of the
            # cluster, so the landing jobs always find theirs. Shuffle tracking stands in for an
            # external shuffle service, which the local workers do not run.
            "spark.dynamicAllocation.enabled": "true",
            "spark.dynamicAllocation.shuffleTracking.enabled": "true",
            "spark.dynamicAllocation.shuffleTracking.timeout": "120s",
            "spark.dynamicAllocation.minExecutors": "0",
            "spark.dynamicAllocation.initialExecutors": "0",
            "spark.dynamicAllocation.maxExecutors": str(s["maxCores"]),
            "spark.dynamicAllocation.executorIdleTimeout": "30s",
        }
    )
    properties = os.path.join(server["dir"], "spark-sql.conf")
    with open(properties + ".tmp", "w", encoding="utf-8") as f:
        for key, value in sorted(conf.items()):
            f.write(f"{key} {value}\n")
    os.replace(properties + ".tmp", properties)
    submit = os.path.join(server["sparkHome"], "bin", "spark-submit")
    os.execv(
        submit,
        [
            submit,
            "--class",
            THRIFT_SERVER,
            "--properties-file",
            properties,
            "--driver-memory",
            s["driverMemory"],
            "--hiveconf",
            f"hive.server2.thrift.port={server['port']}",
            "--hiveconf",
            f"hive.server2.thrift.bind.host={server['host']}",
            "spark-internal",
        ],
    )


if __name__ == "__main__":
    main()
