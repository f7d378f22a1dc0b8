"""Run SQL statements on the lakehouse and print each result as JSON lines: `npm run lake -- sql`
and the tests read the Iceberg tables through it."""

from __future__ import annotations

import json
import sys

from . import settings as settings_module
from .session import spark_session


def main() -> None:
    s = settings_module.load()
    spark = spark_session(s)
    for statement in sys.argv[1:]:
        for row in spark.sql(statement).collect():
            sys.stdout.write(json.dumps(row.asDict(recursive=True), default=str) + "\n")
        sys.stdout.write("--\n")
    spark.stop()


if __name__ == "__main__":
    main()
