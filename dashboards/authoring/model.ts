/**
 * Compact definitions of datasets, charts and dashboards, turned into Superset's export format
 * by build.ts. A chart's `params` (what the UI edits) and `query_context` (what the chart data
 * API runs) are derived from the same definition here, so they cannot drift apart.
 */
import { createHash } from 'node:crypto';

/** A stable uuid (version-5 layout) from a name, so regenerating never changes identities. */
export function stableUuid(kind: string, key: string): string {
  const hex = createHash('sha1').update(`shopflow-dashboards/${kind}/${key}`).digest('hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A Postgres type as written in the dbt contract, upper case (NUMERIC(14,2), TIMESTAMP WITH TIME ZONE, ...). */
export type ColumnType = string;

export interface ColumnDef {
  name: string;
  type: ColumnType;
  label?: string;
  description?: string;
  /** A calculated column: SQL over the mart's own columns. */
  expression?: string;
}

export interface MetricDef {
  name: string;
  expression: string;
  label: string;
  format?: string;
}

export interface DatasetDef {
  /** Table in schema marts. */
  table: string;
  description: string;
  mainDttm?: string;
  columns: ColumnDef[];
  metrics: MetricDef[];
}

/** A column reference with an optional time grain (P1D, P1W, P1M, ...) for the x axis. */
export interface Axis {
  column: string;
  grain?: 'PT1H' | 'P1D' | 'P1W' | 'P1M' | 'P3M' | 'P1Y';
}

export type ChartDef =
  | { kind: 'big_number_total'; metric: string; subheader: string; format?: string }
  | { kind: 'big_number'; metric: string; x: Axis; subheader?: string; format?: string }
  | {
      kind: 'timeseries';
      style: 'line' | 'bar' | 'area';
      x: Axis;
      metrics: string[];
      groupby?: string[];
      stack?: boolean;
      format?: string;
      xTitle?: string;
      yTitle?: string;
    }
  | {
      kind: 'category_bar';
      x: string;
      metrics: string[];
      groupby?: string[];
      horizontal?: boolean;
      rowLimit?: number;
      stack?: boolean;
      format?: string;
      /**
       * The x axis order: by the first metric (largest first), by the x labels, or ascending by
       * another metric of the dataset that is fetched for sorting only and not drawn.
       */
      sortBy?: 'metric' | 'x' | { metric: string };
    }
  | { kind: 'pie'; groupby: string; metric: string; donut?: boolean; format?: string }
  | {
      kind: 'table';
      columns: string[];
      orderBy: [string, 'asc' | 'desc'][];
      rowLimit?: number;
      formats?: Record<string, string>;
      /** d3 time format of date and time columns (default smart_date, which prints a date column's midnight too). */
      timestampFormat?: string;
    }
  | { kind: 'table_agg'; groupby: string[]; metrics: string[]; orderBy?: [string, 'asc' | 'desc']; rowLimit?: number }
  | {
      kind: 'heatmap';
      x: string;
      y: string;
      metric: string;
      format?: string;
      showValues?: boolean;
      scheme?: string;
      normalizeAcross?: 'heatmap' | 'x' | 'y';
    };

export interface ChartSpec {
  key: string;
  title: string;
  description?: string;
  dataset: string;
  chart: ChartDef;
  /** A SQL condition on the dataset's physical columns (an adhoc WHERE filter; no sub-queries: Superset refuses them). */
  where?: string;
  /** A simple filter; unlike `where` it may name a calculated column of the dataset. */
  filter?: { column: string; op: '<' | '<=' | '>' | '>=' | '=='; value: number | string };
  /** Grid width out of 12. */
  width: number;
  /** Height in grid units of 8 px. */
  height?: number;
}

export interface DashboardSpec {
  slug: string;
  title: string;
  description: string;
  /** Rows of charts, top to bottom; a row's widths add up to at most 12. */
  rows: (ChartSpec | { markdown: string; width: number; height?: number })[][];
}
