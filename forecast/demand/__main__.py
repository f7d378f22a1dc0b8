"""python -m demand (run by `npm run forecast`, forecast/run.ts): forecast or backtest.

  forecast  [--as-of DATE] [--history N] ...   writes marts.demand_forecast (or --output CSV)
  backtest  [--weeks N] ...                     prints per-model scores as JSON

The panel comes from the warehouse (FORECAST_WAREHOUSE_URL, role forecast_writer) or, with
--panel CSV, from a file with the panel's columns (demand/panel.py). The last stdout line is a
JSON summary. Exit status: 0 done, 1 failed, 2 bad arguments, 3 warehouse unreachable.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time

import pandas as pd

from .backtest import run_backtest, scores
from .models import MODEL_NAMES
from .panel import panel_from_frame
from .pipeline import NotEnoughHistory, Settings, forecast_as_of

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from error


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m demand")
    parser.add_argument("command", choices=["forecast", "backtest"])
    parser.add_argument("--panel", help="read the panel from this CSV instead of the warehouse")
    parser.add_argument("--output", help="write forecasts to this CSV instead of the warehouse")
    parser.add_argument("--as-of", type=_date, help="last day whose data is used (default: the latest day in the panel)")
    parser.add_argument("--history", type=int, default=0, help="also forecast from the N weekly as-of dates before it")
    parser.add_argument("--weeks", type=int, default=8, help="backtest: weekly origins")
    parser.add_argument("--horizon", type=int, default=14)
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--interval-level", type=float, default=0.8)
    parser.add_argument("--max-training-origins", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--country", default="US")
    parser.add_argument("--run-id")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown or not models:
        raise ValueError(f"--models: unknown {unknown}; choose from {', '.join(MODEL_NAMES)}")
    if not 0 < args.interval_level < 1:
        raise ValueError("--interval-level must be between 0 and 1")
    if args.horizon < 1 or args.horizon > 60:
        raise ValueError("--horizon must be 1..60 days")
    return Settings(
        horizon=args.horizon,
        models=models,
        seed=args.seed,
        interval_level=args.interval_level,
        max_training_origins=args.max_training_origins,
        threads=args.threads,
        country=args.country,
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        settings = _settings(args)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else 0
    except ValueError as error:
        print(f"forecast: {error}", file=sys.stderr)
        return EXIT_USAGE

    connection = None
    started = time.perf_counter()
    if args.panel:
        rows = pd.read_csv(args.panel)
    else:
        from . import store

        url = os.environ.get("FORECAST_WAREHOUSE_URL")
        if not url:
            print("forecast: FORECAST_WAREHOUSE_URL is not set", file=sys.stderr)
            return EXIT_USAGE
        try:
            connection = store.connect(url)
        except Exception as error:  # psycopg2.OperationalError: refused, unknown host, bad password
            print(f"forecast: cannot connect to the warehouse: {error}", file=sys.stderr)
            return EXIT_UNREACHABLE
        through = args.as_of or store.latest_day(connection)
        if through is None:
            print("forecast: marts.fct_inventory_daily is empty: build the warehouse first (npm run dbt -- build)", file=sys.stderr)
            return EXIT_FAILED
        rows = store.read_panel_rows(connection, through if args.command == "forecast" else store.latest_day(connection))
    loaded = time.perf_counter()
    panel = panel_from_frame(rows)

    if args.command == "backtest":
        frame, info = run_backtest(panel, args.weeks, settings)
        table = scores(frame)
        summary = {
            "command": "backtest",
            "weeks": args.weeks,
            "products": int(len(panel.product_ids)),
            "days": int(panel.days),
            "scores": {m: {k: float(v) for k, v in row.items()} for m, row in table.iterrows()},
            "train_seconds": info["timings"].train_seconds,
            "predict_seconds": info["timings"].predict_seconds,
            "fits": len(info["origins"]),
            "load_seconds": loaded - started,
            "seconds": time.perf_counter() - started,
            "peak_rss_mb": _peak_rss_mb(),
        }
        print(json.dumps(summary))
        return 0

    as_of = panel.day_index(args.as_of) if args.as_of else panel.days - 1
    if as_of < 0 or as_of >= panel.days:
        print(f"forecast: --as-of {args.as_of} is outside the data ({panel.start} .. {panel.date_of(panel.days - 1)})", file=sys.stderr)
        return EXIT_USAGE
    frames = []
    for k in range(args.history, -1, -1):
        try:
            frames.append(forecast_as_of(panel, as_of - 7 * k, settings))
        except NotEnoughHistory as error:
            if k == 0:
                # A shop younger than the forecaster needs: nothing to write, and not a failure
                # (the nightly run and the demo go on; the report's Demand section is left out).
                print(f"forecast: skipped as of {panel.date_of(as_of)}: {error}", file=sys.stderr)
                print(json.dumps({"command": "forecast", "as_of_date": panel.date_of(as_of).isoformat(), "as_of_dates": 0,
                                  "products": 0, "rows_written": 0, "models": list(settings.models),
                                  "seconds": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb(),
                                  "skipped": str(error)}))
                return 0
            print(f"forecast: skipped as-of {panel.date_of(as_of - 7 * k)}: {error}", file=sys.stderr)
    forecasts = pd.concat(frames, ignore_index=True)
    if args.output:
        forecasts.to_csv(args.output, index=False)
        written = len(forecasts)
    else:
        written = store.write_forecasts(connection, forecasts, args.run_id)
    products = forecasts[(forecasts["grain"] == "product") & (forecasts["as_of_date"] == panel.date_of(as_of))]
    print(
        json.dumps(
            {
                "command": "forecast",
                "as_of_date": panel.date_of(as_of).isoformat(),
                "as_of_dates": len(frames),
                "products": int(products["product_id"].nunique()),
                "rows_written": int(written),
                "models": list(settings.models),
                "seconds": time.perf_counter() - started,
                "peak_rss_mb": _peak_rss_mb(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ValueError as error:
        print(f"forecast: {error}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
