"""Runs one gate's checkpoint and writes a JSON summary the report and the run ledger read.

    python great_expectations/gate/run_gate.py --gate raw|marts --summary PATH [--loaded-from ISO]

--loaded-from (raw gate): the window's start; the row-by-row clickstream checks read only rows
loaded since then (great_expectations/window.ts decides it). Without it they read every row.

Environment: GX_RAW_URL / GX_MARTS_URL (SQLAlchemy URLs of the read roles),
GATE_SOURCES (the sources the shop is configured to have, see sources.py; unset = all),
GX_ANALYTICS_ENABLED=false. Exit status: 0 every expectation passed, 1 some failed (the
summary lists them), 3 the warehouse could not be reached, 2 anything else went wrong.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sources import (  # noqa: E402
    SourceStatus, landed_sources, no_source_failure, parse_configured, skipped_suites, source_statuses,
)
from suites_raw import WINDOW_SETTING, QueryAsset, raw_suites  # noqa: E402

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

EXIT_PASSED, EXIT_FAILED, EXIT_CRASHED, EXIT_UNREACHABLE = 0, 1, 2, 3
PROJECT_DIR = Path(__file__).resolve().parent.parent
URL_VARS = {"raw": "GX_RAW_URL", "marts": "GX_MARTS_URL"}
MAX_DETAIL_CHARS = 600
# The raw gate's query assets by name: a failure's sample rows are read through the same query.
QUERY_ASSETS = {asset.name: asset.query for _, asset, _ in raw_suites() if isinstance(asset, QueryAsset)}
# Validation results kept per suite under gx/uncommitted/validations: the store (and the Data
# Docs built from it) would otherwise grow by one file per suite per run, forever.
KEEP_RESULTS_PER_SUITE = 10


def probe_warehouse(url: str) -> str | None:
    """None if the warehouse answers, else the reason: kept apart from data failures so the
    caller can retry an outage instead of reporting bad data."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        return None
    except Exception as error:  # noqa: BLE001 - any connect failure means "unreachable"
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        engine.dispose()


def with_window(url: str, loaded_from: str | None) -> str:
    """The URL with the window's start as a session setting of every connection GX opens
    (libpq's `options`), which the window asset's query reads."""
    if loaded_from is None:
        return url
    from urllib.parse import quote

    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-c {WINDOW_SETTING}={loaded_from}')}"


def refresh_volume_summary(url: str, loaded_from: str | None) -> int:
    """Brings ops.shop_events_daily_volume up to date, so the volume check reads a summary
    instead of every event: with a window, the events past the Kafka positions it has counted
    are added (each event counted once, whatever its load time); without one (the full pass),
    every load day raw holds is recounted (migration 0290)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.begin() as connection:
            return int(connection.execute(sa.text("select ops.refresh_shop_events_volume(cast(:since as timestamptz))"),
                                          {"since": loaded_from}).scalar_one())
    finally:
        engine.dispose()


def compact(value: Any) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 3] + "..."


def sample_unexpected_rows(url: str, asset: str | None, query: str) -> str:
    """The gate runs in SUMMARY mode, where a failed SQL expectation reports only a row count;
    re-running its query for a few rows makes the alert say what was wrong."""
    if not asset:
        return ""
    import sqlalchemy as sa

    if asset in QUERY_ASSETS:
        relation = f"({QUERY_ASSETS[asset]}) as batch"
    else:
        schema, _, table = asset.partition(".")
        relation = f'"{schema}"."{table}"' if table else f'"{schema}"'
    engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(f"select * from ({query.format(batch=relation)}) as unexpected limit 3"))
            return "rows=" + compact([dict(row._mapping) for row in rows])
    except Exception as error:  # noqa: BLE001 - the sample is a courtesy; the failure stands without it
        first_line = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return f"(could not sample rows: {first_line[:200]})"
    finally:
        engine.dispose()


def exception_message(result: dict[str, Any]) -> str | None:
    """The first error message of a result, if computing it raised: either flat
    ({raised_exception, exception_message}) or keyed by the metric that failed."""
    info = result.get("exception_info") or {}
    candidates = [info] + [v for v in info.values() if isinstance(v, dict)]
    for candidate in candidates:
        message = candidate.get("exception_message")
        if message and (candidate is not info or candidate.get("raised_exception", True)):
            lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
            return (lines[0] if lines else "expectation raised an exception")[:MAX_DETAIL_CHARS]
    return None


def describe_failure(result: dict[str, Any]) -> str:
    message = exception_message(result)
    if message:
        return "error: " + message
    detail = result.get("result") or {}
    parts = []
    for key in ("observed_value", "unexpected_count", "unexpected_percent", "partial_unexpected_list", "details"):
        if key in detail and detail[key] not in (None, [], {}):
            parts.append(f"{key}={compact(detail[key])}")
    return "; ".join(parts) or "failed"


def summarize(gate: str, checkpoint_result: Any, started: float, url: str,
              sources: list[SourceStatus], skipped: set[str]) -> dict[str, Any]:
    validations, failures = [], []
    evaluated = failed = 0
    for run_result in checkpoint_result.run_results.values():
        described = run_result.to_json_dict()
        suite = described.get("suite_name") or described.get("meta", {}).get("expectation_suite_name")
        asset = (described.get("meta", {}).get("active_batch_definition") or {}).get("data_asset_name")
        if suite in skipped:
            # A source the shop does not have: its suite ran (one checkpoint, committed) but
            # does not count; the summary says so instead of passing or failing it.
            validations.append({"suite": suite, "asset": asset, "success": True, "evaluated": 0, "failed": 0,
                                "skipped": True})
            continue
        results = described.get("results", [])
        suite_failed = 0
        for result in results:
            if result.get("success"):
                continue
            suite_failed += 1
            config = result.get("expectation_config") or {}
            kwargs = config.get("kwargs") or {}
            details = describe_failure(result)
            query = kwargs.get("unexpected_rows_query")
            if query and not details.startswith("error:"):
                details = f"{details}; {sample_unexpected_rows(url, asset, query)}"
            failures.append(
                {
                    "suite": suite,
                    "expectation": config.get("description") or config.get("type"),
                    "expectation_type": config.get("type"),
                    **({"column": kwargs["column"]} if "column" in kwargs else {}),
                    "details": details,
                }
            )
        evaluated += len(results)
        failed += suite_failed
        validations.append(
            {"suite": suite, "asset": asset, "success": bool(described.get("success")),
             "evaluated": len(results), "failed": suite_failed}
        )
    missing = no_source_failure(gate, sources)
    if missing:
        failures.append(missing)
        evaluated += 1
        failed += 1
    return {
        "gate": gate,
        "success": failed == 0,
        "evaluated": evaluated,
        "failed": failed,
        "failures": failures,
        "validations": validations,
        "sources": [status.as_json() for status in sources],
        "checked_at": datetime.now(timezone.utc).isoformat(),
        "duration_seconds": round(time.monotonic() - started, 3),
    }


def prune_validation_results(keep: int = KEEP_RESULTS_PER_SUITE) -> int:
    """Deletes all but the newest `keep` stored results of each suite; returns how many went."""
    store = PROJECT_DIR / "gx" / "uncommitted" / "validations"
    removed = 0
    if not store.is_dir():
        return removed
    for suite_dir in (d for d in store.iterdir() if d.is_dir()):
        results = sorted(suite_dir.rglob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in results[keep:]:
            stale.unlink(missing_ok=True)
            removed += 1
    return removed


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    temporary.replace(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gate", choices=sorted(URL_VARS), required=True)
    parser.add_argument("--summary", type=Path, required=True, help="where to write the JSON summary")
    parser.add_argument("--loaded-from", help="raw gate: check rows loaded since this time (ISO 8601) row by row; "
                                              "default every row")
    args = parser.parse_args()
    started = time.monotonic()
    if args.loaded_from is not None:
        try:
            datetime.fromisoformat(args.loaded_from.replace("Z", "+00:00"))
        except ValueError:
            print(f"--loaded-from must be an ISO 8601 time, got {args.loaded_from!r}", file=sys.stderr)
            return EXIT_CRASHED

    url = os.environ.get(URL_VARS[args.gate])
    if not url:
        print(f"{URL_VARS[args.gate]} is not set", file=sys.stderr)
        return EXIT_CRASHED
    unreachable = probe_warehouse(url)
    if unreachable:
        print(f"warehouse unreachable: {unreachable}", file=sys.stderr)
        return EXIT_UNREACHABLE

    try:
        configured = parse_configured(os.environ.get("GATE_SOURCES"))
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return EXIT_CRASHED
    landed, unknown_reason = landed_sources(url, args.gate)
    if unknown_reason:
        print(f"could not read which sources have landed, checking all: {unknown_reason}", file=sys.stderr)
    sources = source_statuses(configured, landed)
    skipped = skipped_suites(sources)
    if args.gate == "raw":
        refreshed = refresh_volume_summary(url, args.loaded_from)
        how = "new events since the counted Kafka positions" if args.loaded_from else "every load day recounted"
        print(f"volume summary: {refreshed} day counts updated ({how})")
        url = with_window(url, args.loaded_from)
        # The data source reads its URL from this variable when the context loads.
        os.environ[URL_VARS[args.gate]] = url

    import great_expectations as gx

    # Runs share the file store (stored results, Data Docs): one at a time per project, so a
    # docs build never reads a result file that another run is pruning.
    lock_path = PROJECT_DIR / "gx" / "uncommitted" / "gate.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        context = gx.get_context(mode="file", project_root_dir=str(PROJECT_DIR))
        checkpoint = context.checkpoints.get(f"{args.gate}_gate")
        result = checkpoint.run()
        summary = summarize(args.gate, result, started, url, sources, skipped)
        prune_validation_results()
        # Only this run's pages (plus the index): rebuilding every stored result's page, as
        # GX's UpdateDataDocsAction does, took most of a gate run's time. Skipped suites'
        # results are left out: they did not count.
        context.build_data_docs(resource_identifiers=[key for key, value in result.run_results.items()
                                                      if value.suite_name not in skipped])
    docs = PROJECT_DIR / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    summary["data_docs_path"] = str(docs) if docs.exists() else None
    summary["gx_version"] = gx.__version__
    write_json(args.summary, summary)
    print(f"gate {args.gate}: {'passed' if summary['success'] else 'FAILED'} "
          f"({summary['evaluated']} expectations, {summary['failed']} failed)")
    for status in sources:
        if not status.expected:
            print(f"  skipped {status.source}: not in GATE_SOURCES and never landed")
    for failure in summary["failures"]:
        print(f"  FAILED {failure['suite']}: {failure['expectation']} -- {failure['details']}")
    return EXIT_PASSED if summary["success"] else EXIT_FAILED


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # noqa: BLE001 - report every crash with its traceback and a distinct status
        traceback.print_exc()
        sys.exit(EXIT_CRASHED)
