/**
 * A bench's stand-in for the scheduler ledger's record of a step start (ops.run_steps): the
 * database's now() and ops.loads_settled_before() (migration 0295), so a bench's cycles scope
 * their tests exactly as the scheduler's do (scheduler/jobs/dbt-args.ts).
 */
import pg from 'pg';

import type { StepStart } from '../../scheduler/jobs/dbt-args.ts';

export async function stepStartNow(url: string): Promise<StepStart> {
  const client = new pg.Client({ connectionString: url, application_name: 'shopflow-bench-step-start' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ started_at: Date; settled_before: Date }>(
      'select now() as started_at, ops.loads_settled_before() as settled_before',
    );
    return { startedAt: rows[0]!.started_at, settledBefore: rows[0]!.settled_before };
  } finally {
    await client.end();
  }
}
