/**
 * The gate's result as the report, the scheduler and ops.gate_results see it, parsed from the
 * JSON summary the Python runner writes (great_expectations/gate/run_gate.py).
 */
import { z } from 'zod';

import { GATE_SOURCE_NAMES, type GateSourceName } from '../lib/config/index.ts';
import type { GateWindow } from './window.ts';

export type GateName = 'raw' | 'marts';
export const GATE_NAMES: readonly GateName[] = ['raw', 'marts'];

export interface GateFailure {
  suite: string;
  expectation: string;
  column?: string;
  details: string;
}

/** One source of the shop and whether this gate checked it (great_expectations/gate/sources.py). */
export interface GateSource {
  source: GateSourceName;
  /** Named in GATE_SOURCES. */
  configured: boolean;
  /** Has ever landed a row; null when that could not be read (then it is checked). */
  landed: boolean | null;
  /** Its suites counted: configured or landed. */
  checked: boolean;
}

export interface GateSummary {
  gate: GateName;
  success: boolean;
  evaluated: number;
  failed: number;
  failures: GateFailure[];
  /** The JSON summary written under out/gate/. */
  summaryPath: string;
  /** GX Data Docs index (local HTML), when it was built. */
  dataDocsPath: string | null;
  checkedAt: string;
  /** The shop's sources as this gate saw them; absent in summaries written before it existed. */
  sources?: GateSource[];
  /** The data checked (great_expectations/data-version.ts), taken before the run started. */
  dataVersion?: string;
  /** Set when this result was not run now but reused: when it was checked, for the same data. */
  reusedFrom?: string;
  /** Raw gate: the rows it checked row by row (great_expectations/window.ts). */
  window?: GateWindow;
}

export const runnerSummarySchema = z.object({
  gate: z.enum(['raw', 'marts']),
  success: z.boolean(),
  evaluated: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  failures: z.array(
    z.object({
      suite: z.string(),
      expectation: z.string(),
      column: z.string().optional(),
      details: z.string(),
    }),
  ),
  validations: z.array(
    z.object({
      suite: z.string(),
      asset: z.string().nullable().optional(),
      success: z.boolean(),
      evaluated: z.number(),
      failed: z.number(),
      skipped: z.boolean().optional(),
    }),
  ),
  sources: z
    .array(
      z.object({
        source: z.enum(GATE_SOURCE_NAMES),
        configured: z.boolean(),
        landed: z.boolean().nullable(),
        checked: z.boolean(),
      }),
    )
    .optional(),
  checked_at: z.string(),
  data_docs_path: z.string().nullable().optional(),
});

export type RunnerSummary = z.infer<typeof runnerSummarySchema>;

export function toGateSummary(raw: RunnerSummary, summaryPath: string): GateSummary {
  return {
    gate: raw.gate,
    success: raw.success,
    evaluated: raw.evaluated,
    failed: raw.failed,
    failures: raw.failures.map((f) => ({
      suite: f.suite,
      expectation: f.expectation,
      ...(f.column ? { column: f.column } : {}),
      details: f.details,
    })),
    summaryPath,
    dataDocsPath: raw.data_docs_path ?? null,
    checkedAt: raw.checked_at,
    ...(raw.sources ? { sources: raw.sources } : {}),
  };
}

/** Did every gate pass? No gates at all is not a pass: the report needs a checked run. */
export function gatesPassed(gates: readonly GateSummary[]): boolean {
  return gates.length > 0 && gates.every((g) => g.success);
}
