/** `npm run scheduler`: the scheduler daemon, or `--once JOB` to run one job now and exit. */
import { EXIT } from '../lib/cli/exit-codes.ts';
import { runCli, type CliContext } from '../lib/cli/run.ts';
import { assertHeadroom, watchHeadroom } from '../lib/disk/headroom.ts';
import { abortOnStopSignals, handleShutdownSignals } from '../lib/lifecycle.ts';
import { createLogger } from '../lib/logger.ts';
import { HELP, parseSchedulerArgs } from './cli-args.ts';
import { createRegistry, serveMetrics } from '../lib/metrics/server.ts';
import { ingestorProcesses } from './ingestors.ts';
import { lakeJobProcesses } from './lake-jobs.ts';
import { schedulerMetrics } from './metrics.ts';
import { runOnceRetrying } from './once.ts';
import { realPipeline } from './pipeline.ts';
import { Scheduler } from './scheduler.ts';

const DRAIN_MS = 20_000;

async function main(argv: string[], context: CliContext): Promise<number> {
  const args = parseSchedulerArgs(argv);
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const config = context.config();
  const logger = createLogger('scheduler', config);
  const operations = realPipeline(config, logger);
  // A dbt build writes gigabytes of WAL at scale: never start one on a disk that is nearly full.
  await assertHeadroom(config, 'scheduler');

  if (args.once) {
    const abort = new AbortController();
    // First signal: interrupt the job (the ledger records it); a second one exits at once.
    abortOnStopSignals(abort, new Error('interrupted by signal'));
    const result = await runOnceRetrying({ config, logger, operations }, args.once, args.date, abort.signal);
    logger.info(
      { job: args.once, runId: result.runId, status: result.status, failedStep: result.failedStep, error: result.error },
      'run finished',
    );
    // A report withheld by a failed gate is a failure like any other (exit 1), as in `npm run report`.
    return result.status === 'succeeded' || result.status === 'skipped' ? EXIT.ok : EXIT.failed;
  }

  const endpoint = await serveMetrics(createRegistry('scheduler'), {
    enabled: config.METRICS_ENABLED,
    host: config.METRICS_HOST,
    port: config.METRICS_PORT_SCHEDULER,
    logger,
  });
  const scheduler = new Scheduler({
    ...(endpoint.port !== null ? { metrics: schedulerMetrics(endpoint.registry) } : {}),
    config,
    logger,
    operations,
    ...(args.jobs ? { jobs: args.jobs } : {}),
    // The lake's streaming jobs are supervised like the ingestors (docs/lakehouse.md).
    ingestors: args.ingestors ? [...ingestorProcesses(config), ...lakeJobProcesses(config, logger)] : [],
    standbyPollMs: config.SCHEDULER_STANDBY_POLL_MS,
    drainMs: DRAIN_MS,
  });
  // First SIGTERM: stop scheduling, let running jobs finish for DRAIN_MS, SIGTERM the ingestors
  // and wait for them to drain; a second signal (or the watchdog) exits at once.
  handleShutdownSignals({ logger, drain: () => scheduler.stop(), forceAfterMs: DRAIN_MS + 40_000 });
  await scheduler.start();
  logger.info({ role: scheduler.role, instance: scheduler.instanceId }, 'scheduler running');
  // Runs until a signal (handleShutdownSignals exits) or a watched disk gets nearly full: then it
  // drains like on SIGTERM (jobs, then the ingestors) and the runner prints the one sentence (exit 73).
  return new Promise<number>((_resolve, reject) => {
    watchHeadroom(
      config,
      'scheduler',
      (error) => {
        logger.warn({ code: error.code, path: error.headroom.path }, 'disk nearly full: draining');
        scheduler.stop().then(
          () => reject(error),
          () => reject(error),
        );
      },
      logger,
    );
  });
}

await runCli({ name: 'scheduler', help: HELP, main });
