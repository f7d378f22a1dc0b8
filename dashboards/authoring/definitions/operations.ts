/** Data operations: is the data fresh, did the runs and the gate pass, what was rejected. */
import type { DashboardSpec } from '../model.ts';

export const OPERATIONS: DashboardSpec = {
  slug: 'data-operations',
  title: 'Data operations',
  description: 'Source freshness, ingest throughput and lag, dead letters, the pipeline run ledger and quality gate results.',
  rows: [
    [
      {
        key: 'ops_freshness',
        title: 'Source freshness: newest row per raw table',
        dataset: 'ops_source_freshness',
        width: 7,
        chart: {
          kind: 'table',
          columns: ['source_table', 'loader', 'row_count', 'last_loaded_at', 'age', 'last_source_event_at'],
          orderBy: [['last_loaded_at', 'asc']],
          rowLimit: 50,
        },
      },
      {
        key: 'ops_gate_latest',
        title: 'Quality gate results, latest first',
        dataset: 'ops_gate_results',
        width: 5,
        chart: {
          kind: 'table',
          columns: ['checked_at', 'gate_name', 'is_success', 'expectations_evaluated', 'expectations_failed'],
          orderBy: [['checked_at', 'desc']],
          rowLimit: 30,
        },
      },
    ],
    [
      {
        key: 'ops_runs_by_status',
        title: 'Pipeline runs per day by status',
        dataset: 'ops_pipeline_runs',
        width: 6,
        chart: {
          kind: 'timeseries',
          style: 'bar',
          x: { column: 'started_at', grain: 'P1D' },
          metrics: ['runs'],
          groupby: ['run_status'],
          stack: true,
          format: ',d',
        },
      },
      {
        key: 'ops_run_ledger',
        title: 'Run ledger, latest first',
        dataset: 'ops_pipeline_runs',
        width: 6,
        chart: {
          kind: 'table',
          columns: ['started_at', 'job_name', 'run_trigger', 'run_status', 'duration_seconds', 'failed_steps', 'error_message'],
          orderBy: [['started_at', 'desc']],
          rowLimit: 50,
        },
      },
    ],
    [
      {
        key: 'ops_rows_loaded',
        title: 'Rows loaded per hour by ingestor',
        dataset: 'ops_ingest_metrics',
        width: 6,
        chart: {
          kind: 'timeseries',
          style: 'bar',
          x: { column: 'hour_start_at', grain: 'PT1H' },
          metrics: ['rows_loaded'],
          groupby: ['component'],
          stack: true,
          format: ',d',
        },
      },
      {
        key: 'ops_ingest_lag',
        title: 'Max ingest lag per hour (ms)',
        dataset: 'ops_ingest_metrics',
        width: 6,
        chart: {
          kind: 'timeseries',
          style: 'bar',
          x: { column: 'hour_start_at', grain: 'PT1H' },
          metrics: ['max_lag_ms'],
          groupby: ['component'],
          format: ',.0f',
        },
      },
    ],
    [
      {
        key: 'ops_dead_letters',
        title: 'Dead letters per day by error code',
        dataset: 'ops_dead_letters_daily',
        width: 6,
        chart: {
          kind: 'timeseries',
          style: 'bar',
          x: { column: 'received_date', grain: 'P1D' },
          metrics: ['dead_letters'],
          groupby: ['error_code'],
          stack: true,
          format: ',d',
        },
      },
      {
        key: 'ops_dead_letter_reasons',
        title: 'Dead letters by source and error code',
        dataset: 'ops_dead_letters_daily',
        width: 6,
        chart: { kind: 'table_agg', groupby: ['ingest_source', 'error_code', 'example_reason'], metrics: ['dead_letters'], rowLimit: 30 },
      },
    ],
  ],
};
