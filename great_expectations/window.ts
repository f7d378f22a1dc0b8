/**
 * Which raw rows the gate checks row by row. Raw rows never change once landed, so a row a
 * passed gate checked holds until a full pass says otherwise: an incremental run checks the rows
 * loaded since the last passed raw gate started (less a slack), and the nightly job runs a full
 * pass over every row. At 10x the raw checks read 24M events on every run (136 s); the window
 * reads what landed since.
 *
 * The state is the gate's own record, ops.gate_results: each raw result carries the window it
 * checked (`window` in its summary). No second bookkeeping table to drift from what was run.
 */
import { roleUrl, type Config } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import { createPool } from '../lib/pg/pool.ts';
import { asUnavailable } from './data-version.ts';

export type GateScope = 'incremental' | 'full';

export interface GateWindow {
  /** What was asked for and what ran: an incremental run with nothing to start from runs full. */
  scope: GateScope;
  /** Rows loaded at or after this time were checked row by row; null: every row. */
  loadedFrom: string | null;
  /** Database time when the run started: the next incremental run starts from here, less the slack. */
  loadedUpTo: string;
  /** Why the window is what it is, in words (logged, kept in the summary). */
  reason: string;
}

/**
 * An ingest transaction stamps its rows (`_loaded_at default now()`) when it starts and commits
 * a moment later, so rows stamped just before a gate started may become visible after it read.
 * The same slack as the micro-batch's test window (scheduler/jobs/dbt-args.ts).
 */
export const WINDOW_SLACK_MS = 5 * 60_000;

interface WindowState {
  now: Date;
  lastPassedUpTo: Date | null;
  lastFullFailed: boolean;
}

const STATE_SQL = `
select
    now() as now,
    (select (summary -> 'window' ->> 'loadedUpTo')::timestamptz
       from ops.gate_results
      where gate = 'raw' and success and summary -> 'window' ->> 'loadedUpTo' is not null
      order by checked_at desc limit 1) as last_passed_up_to,
    coalesce((select not success
       from ops.gate_results
      where gate = 'raw' and summary -> 'window' ->> 'scope' = 'full'
      order by checked_at desc limit 1), false) as last_full_failed
`;

/** The window of a raw gate run asked for with `scope`, from the recorded results (pure). */
export function decideWindow(scope: GateScope, state: WindowState): GateWindow {
  const loadedUpTo = state.now.toISOString();
  if (scope === 'full') return { scope: 'full', loadedFrom: null, loadedUpTo, reason: 'full pass asked for' };
  if (state.lastFullFailed)
    // Rows a full pass found wrong are older than any window: only another full pass clears them.
    return { scope: 'full', loadedFrom: null, loadedUpTo, reason: 'the last full pass failed' };
  if (!state.lastPassedUpTo) return { scope: 'full', loadedFrom: null, loadedUpTo, reason: 'no passed raw gate to start from' };
  const from = new Date(state.lastPassedUpTo.getTime() - WINDOW_SLACK_MS).toISOString();
  return {
    scope: 'incremental',
    loadedFrom: from,
    loadedUpTo,
    reason: `rows loaded since the last passed raw gate (${state.lastPassedUpTo.toISOString()}) less ${WINDOW_SLACK_MS / 60_000} minutes`,
  };
}

/** The window a raw gate run starts with now (read as ops_writer, which records the results). */
export async function rawGateWindow(config: Config, scope: GateScope, logger?: Logger): Promise<GateWindow> {
  const pool = createPool({ connectionString: roleUrl(config, 'ops_writer'), applicationName: 'shopflow-gate-window', max: 1, logger });
  try {
    const { rows } = await pool
      .query<{ now: Date; last_passed_up_to: Date | null; last_full_failed: boolean }>(STATE_SQL)
      .catch((error: unknown) => {
        throw asUnavailable(error);
      });
    const row = rows[0]!;
    return decideWindow(scope, { now: row.now, lastPassedUpTo: row.last_passed_up_to, lastFullFailed: row.last_full_failed });
  } finally {
    await pool.end();
  }
}
