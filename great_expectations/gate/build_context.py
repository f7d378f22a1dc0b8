"""(Re)writes the committed GX file context under great_expectations/gx/ from the suite
definitions in suites_raw.py and suites_marts.py: data sources, table assets, suites,
validation definitions and one checkpoint per gate. Idempotent; run it after editing a suite:

    GX_ANALYTICS_ENABLED=false .venv/bin/python great_expectations/gate/build_context.py

With --check it builds into a temporary copy instead and exits 1, naming the files, when the
committed context differs from what the suite modules define (`npm run check` runs it: an
edited suite whose context was not rebuilt would still run its old queries).

It does not connect to the warehouse. GX probes every asset when it is declared; here that
probe is skipped because the marts may not exist yet when the context is built. The gate run
itself reads every table, and a missing one fails its expectations with the database's error.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.datasource.fluent import sql_datasource  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suites_marts import marts_suites  # noqa: E402
from suites_raw import QueryAsset, raw_suites  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent

# gate -> (data source name, env var holding its SQLAlchemy URL, suites)
GATES = {
    "raw": ("warehouse_raw", "GX_RAW_URL", raw_suites),
    "marts": ("warehouse_marts", "GX_MARTS_URL", marts_suites),
}


# Fixed ids derived from names keep the committed JSON stable across rebuilds.
ID_NAMESPACE = uuid.UUID("6d3c7f0e-5b1a-4c2e-9f47-2a8e0d51c3b9")


def stable_id(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(str(p) for p in parts)))


def with_stable_ids(suite: gx.ExpectationSuite) -> gx.ExpectationSuite:
    suite.id = stable_id("suite", suite.name)
    for index, expectation in enumerate(suite.expectations):
        expectation.id = stable_id("expectation", suite.name, index, expectation.expectation_type)
    return suite


def _skip_probe(*_args: object, **_kwargs: object) -> None:
    return None


def declare_asset(source: Any, schema: str, table: str | QueryAsset) -> Any:
    """The table asset `schema.table`, or the query asset, declared anew when its kind or
    query changed (an asset's definition lives in great_expectations.yml)."""
    name = table.name if isinstance(table, QueryAsset) else f"{schema}.{table}"
    asset = next((a for a in source.assets if a.name == name), None)
    if isinstance(table, QueryAsset):
        if asset is not None and getattr(asset, "query", None) != table.query:
            source.delete_asset(name)
            asset = None
        return asset or source.add_query_asset(name=name, query=table.query)
    if asset is not None and getattr(asset, "table_name", None) != table:
        source.delete_asset(name)
        asset = None
    return asset or source.add_table_asset(name=name, table_name=table, schema_name=schema)


def build(project_dir: Path = PROJECT_DIR) -> None:
    # Declaring assets must not need the tables to exist (see the module docstring).
    sql_datasource.SQLDatasource.test_connection = _skip_probe  # type: ignore[method-assign]
    sql_datasource.TableAsset.test_connection = _skip_probe  # type: ignore[method-assign]
    sql_datasource.QueryAsset.test_connection = _skip_probe  # type: ignore[method-assign]
    for _, url_var, _ in GATES.values():
        os.environ.setdefault(url_var, "postgresql+psycopg2://unused@127.0.0.1:1/unused")

    context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    context.enable_analytics(False)
    # Progress bars go to stderr, which the gate streams into the logs line by line.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.variables.save()

    wanted_suites: set[str] = set()
    wanted_definitions: set[str] = set()
    for gate, (source_name, url_var, suites_of) in GATES.items():
        source = next((d for d in context.data_sources.all().values() if d.name == source_name), None)
        if source is None:
            source = context.data_sources.add_postgres(
                name=source_name, connection_string="${" + url_var + "}", create_temp_table=False
            )
        definitions = []
        for schema, table, suite in suites_of():
            asset = declare_asset(source, schema, table)
            batch = next((b for b in asset.batch_definitions if b.name == "whole_table"), None)
            if batch is None:
                batch = asset.add_batch_definition_whole_table("whole_table")
            saved_suite = context.suites.add_or_update(with_stable_ids(suite))
            wanted_suites.add(suite.name)
            wanted_definitions.add(f"{gate}__{suite.name}")
            definitions.append(
                context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(name=f"{gate}__{suite.name}", data=batch, suite=saved_suite,
                                            id=stable_id("validation", gate, suite.name))
                )
            )
        context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"{gate}_gate",
                id=stable_id("checkpoint", gate),
                validation_definitions=definitions,
                # Data Docs are built by the runner for this run's results only: GX's
                # UpdateDataDocsAction re-renders every stored result on every run.
                actions=[],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
            )
        )
        print(f"gate {gate}: {len(definitions)} suites")
    prune(project_dir, wanted_suites, wanted_definitions)


def prune(project_dir: Path, wanted_suites: set[str], wanted_definitions: set[str]) -> None:
    """Removes suites and validation definitions no longer defined in code, so the committed
    context never runs a check that was deleted from the suite modules."""
    for path in (project_dir / "gx" / "validation_definitions").glob("*.json"):
        if path.stem not in wanted_definitions:
            path.unlink()
            print(f"removed validation definition {path.stem}")
    for path in (project_dir / "gx" / "expectations").glob("*.json"):
        if path.stem not in wanted_suites:
            path.unlink()
            print(f"removed suite {path.stem}")


def committed_files(gx_dir: Path) -> set[str]:
    """The context's files as committed: everything under gx/ but its uncommitted/ folder."""
    return {str(p.relative_to(gx_dir)) for p in gx_dir.rglob("*")
            if p.is_file() and p.relative_to(gx_dir).parts[0] != "uncommitted"}


def check() -> int:
    """Builds the context in a temporary copy and lists what differs from the committed one."""
    committed = PROJECT_DIR / "gx"
    with tempfile.TemporaryDirectory(prefix="shopflow-gx-check-") as scratch:
        copy = Path(scratch) / "gx"
        shutil.copytree(committed, copy, ignore=shutil.ignore_patterns("uncommitted"))
        build(Path(scratch))
        before, after = committed_files(committed), committed_files(copy)
        stale = sorted((before ^ after) | {f for f in before & after
                                            if not filecmp.cmp(committed / f, copy / f, shallow=False)})
    if stale:
        print("the committed GX context differs from the suite definitions:", file=sys.stderr)
        for name in stale:
            print(f"  great_expectations/gx/{name}", file=sys.stderr)
        return 1
    print("the committed GX context matches the suite definitions")
    return 0


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        sys.exit(check())
    build()
