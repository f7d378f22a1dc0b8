/**
 * The demo records itself in the run ledger (ops.runs, ops.run_steps) as job `demo`, the way the
 * scheduler records its jobs, so the Data operations dashboard's run charts and `npm run status`
 * show the pipeline the demo just ran instead of nothing. Written as ops_writer, like the scheduler.
 */
import { randomUUID } from 'node:crypto';

import pg from 'pg';

import { roleUrl, type Config } from '../../lib/config/index.ts';
import { coerceError } from '../../lib/errors.ts';
import { RunLedger } from '../../scheduler/ledger.ts';

export const DEMO_JOB = 'demo';

export class DemoRun {
  readonly #runId = randomUUID();
  #finished = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly ledger: RunLedger,
  ) {}

  static async start(config: Config): Promise<DemoRun> {
    const pool = new pg.Pool({ connectionString: roleUrl(config, 'ops_writer'), max: 1, application_name: 'shopflow-demo' });
    pool.on('error', () => undefined);
    const run = new DemoRun(pool, new RunLedger(pool));
    try {
      await run.ledger.startRun({
        runId: run.#runId,
        job: DEMO_JOB,
        trigger: 'manual',
        businessDate: null,
        scheduledFor: null,
        instanceId: `demo-${process.pid}`,
        at: new Date(),
      });
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return run;
  }

  /** `work` as one recorded step: its attempt row says when it ran and whether it failed, and why. */
  step<T>(name: string, work: () => Promise<T>): () => Promise<T> {
    return async () => {
      await this.ledger.startStep(this.#runId, name, 1, new Date(), null);
      try {
        const result = await work();
        await this.ledger.finishStep(this.#runId, name, 1, 'succeeded', new Date(), undefined);
        return result;
      } catch (error) {
        await this.ledger
          .finishStep(this.#runId, name, 1, 'failed', new Date(), undefined, coerceError(error).message)
          .catch(() => undefined);
        throw error;
      }
    };
  }

  async finish(status: 'succeeded' | 'failed', error?: string): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    await this.ledger.finishRun(this.#runId, DEMO_JOB, status, new Date(), error);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
