/**
 * Which raw rows the gate checks row by row. Raw rows never change once landed, so a row a
 * passed gate checked holds until a full pass says otherwise: an incremental run checks the rows
 * loaded since the last passed raw gate started (exactly: see settledBefore), and the nightly job runs a full
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
  /** Database time when the run started. */
  loadedUpTo: string;
  /**
   * Every row stamped before this time was committed when the run started, so it checked them
   * (ops.loads_settled_before(), migration 0295): the next incremental run starts here. Results
   * recorded before it existed have none; the next run then starts at loadedUpTo less the slack.
   */
  settledBefore?: string;
  /** Why the window is what it is, in words (logged, kept in the summary). */
  reason: string;
}

/**
 * What a passed result without settledBefore left open: an ingest transaction stamps its rows
 * (`_loaded_at default now()`) when it starts and commits a moment later, so rows stamped just
 * before such a gate started may have become visible after it read.
 */
export const WINDOW_SLACK_MS = 5 * 60_000;

interface WindowState {
  now: Date;
  /** ops.loads_settled_before() now: where this run's own checked rows end. */
  settledBefore: Date;
  /** Where the last passed raw gate's checked rows end (its settledBefore, or loadedUpTo less the slack). */
  lastPassedSettledBefore: Date | null;
  lastFullFailed: boolean;
}

const STATE_SQL = `
select
    now() as now,
    ops.loads_settled_before() as settled_before,
    (select coalesce((summary -> 'window' ->> 'settledBefore')::timestamptz,
                     (summary -> 'window' ->> 'loadedUpTo')::timestamptz - interval '${WINDOW_SLACK_MS / 1000} seconds')
       from ops.gate_results
      where gate = 'raw' and success and summary -> 'window' ->> 'loadedUpTo' is not null
      order by checked_at desc limit 1) as last_passed_settled_before,
    coalesce((select not success
       from ops.gate_results
      where gate = 'raw' and summary -> 'window' ->> 'scope' = 'full'
      order by checked_at desc limit 1), false) as last_full_failed
`;

/** The window of a raw gate run asked for with `scope`, from the recorded results (pure). */
export function decideWindow(scope: GateScope, state: WindowState): GateWindow {
  const loadedUpTo = state.now.toISOString();
  const settledBefore = state.settledBefore.toISOString();
  const full = (reason: string): GateWindow => ({ scope: 'full', loadedFrom: null, loadedUpTo, settledBefore, reason });
  if (scope === 'full') return full('full pass asked for');
  // Rows a full pass found wrong are older than any window: only another full pass clears them.
  if (state.lastFullFailed) return full('the last full pass failed');
  if (!state.lastPassedSettledBefore) return full('no passed raw gate to start from');
  const from = state.lastPassedSettledBefore.toISOString();
  return {
    scope: 'incremental',
    loadedFrom: from,
    loadedUpTo,
    settledBefore,
    reason: `rows loaded since ${from}: every row stamped earlier was committed when the last passed raw gate started`,
  };
}

/** The window a raw gate run starts with now (read as ops_writer, which records the results). */
export async function rawGateWindow(config: Config, scope: GateScope, logger?: Logger): Promise<GateWindow> {
  const pool = createPool({ connectionString: roleUrl(config, 'ops_writer'), applicationName: 'shopflow-gate-window', max: 1, logger });
  try {
    const { rows } = await pool
      .query<{ now: Date; settled_before: Date; last_passed_settled_before: Date | null; last_full_failed: boolean }>(STATE_SQL)
      .catch((error: unknown) => {
        throw asUnavailable(error);
      });
    const row = rows[0]!;
    return decideWindow(scope, {
      now: row.now,
      settledBefore: row.settled_before,
      lastPassedSettledBefore: row.last_passed_settled_before,
      lastFullFailed: row.last_full_failed,
    });
  } finally {
    await pool.end();
  }
}
