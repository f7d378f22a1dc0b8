/**
 * Runs a generation: opens the sinks, drives the backfill (or live loop), writes each batch to
 * every sink while the next one is generated, and returns the summary. Library code: takes the
 * config, never reads the environment, never exits the process.
 */
import type { Config } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import { AnomalyInjector } from './anomalies/injector.ts';
import { Manifest } from './anomalies/manifest.ts';
import type { GenerateOptions } from './args.ts';
import { BREATHE, createBackfill } from './backfill.ts';
import { runLive } from './live.ts';
import { PROPORTIONS } from './params.ts';
import { BatchWriter, openSinks, Tally, type OpenSinks, type RunHooks } from './pipeline.ts';
import { createProgress } from './progress.ts';
import type { RunSummary } from './summary.ts';
import { DAY_MS, formatDay } from './world/calendar.ts';

/** How long generation runs before the sinks' replies get a turn of the event loop (see BREATHE). */
const BREATHE_EVERY_MS = 1;

export async function runGenerate(options: GenerateOptions, config: Config, logger: Logger, hooks: RunHooks = {}): Promise<RunSummary> {
  const manifest = options.anomalies ? new Manifest(options.manifest) : null;
  const opened = await openSinks(options, config, logger);
  try {
    if (options.mode === 'live') return await runLive(options, config, logger, opened, manifest, hooks);
    return await runBackfill(options, config, logger, opened, manifest, hooks);
  } finally {
    await opened.close();
    await manifest?.close();
  }
}

async function runBackfill(
  options: GenerateOptions,
  config: Config,
  logger: Logger,
  opened: OpenSinks,
  manifest: Manifest | null,
  hooks: RunHooks,
): Promise<RunSummary> {
  const started = process.hrtime.bigint();
  const injector = manifest
    ? new AnomalyInjector({ seed: options.seed, rate: options.anomalyRate, manifest, lateHoldSteps: [1, 3] })
    : undefined;
  const backfill = createBackfill({
    seed: options.seed,
    startMs: options.startMs,
    days: options.days,
    customers: options.customers,
    products: options.products,
    orders: options.orders,
    p: PROPORTIONS,
    next: { customer: 1, product: 1, order: 1, orderItem: 1, payment: 1, restock: 1 },
    ...(injector ? { anomalies: injector } : {}),
    // Nobody reads a message unless Kafka takes it, anomalies rework it, or a dry run measures
    // generation; otherwise events are counted, not built (a fifth of the generator's CPU in a MariaDB-only run).
    messageBodies: options.dryRun || options.sinks.includes('kafka') || injector !== undefined,
    breatheEveryMs: BREATHE_EVERY_MS,
  });
  logger.debug({ buyers: backfill.plan.buyers, browsingSessions: backfill.plan.browsingSessions }, 'plan ready');
  const progress = createProgress(options.days, 'days', { quiet: options.quiet, ci: config.CI ?? false });
  const writer = new BatchWriter(opened.sinks);
  const tally = new Tally();
  let done = 0;
  try {
    for (const batch of backfill.days) {
      if (batch === BREATHE) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      tally.add(batch);
      await writer.submit(batch);
      // A macrotask turn per batch: signals and socket replies are handled even when nothing waits on I/O (--dry-run).
      await new Promise((resolve) => setImmediate(resolve));
      if (batch.partial) continue;
      done++;
      progress.update(done, `${batch.label} ${tally.rowsTotal.toLocaleString('en')} rows ${tally.eventsTotal.toLocaleString('en')} events`);
      if (hooks.signal?.aborted) {
        logger.warn({ day: batch.label, daysDone: done }, 'stopping early on signal after the day in flight');
        break;
      }
    }
    await writer.flush();
  } finally {
    progress.stop();
  }
  return tally.summary(
    {
      mode: 'backfill',
      seed: options.seed,
      window: { from: formatDay(options.startMs), to: formatDay(options.startMs + (options.days - 1) * DAY_MS), days: options.days },
      sinks: opened.sinks.map((s) => s.name),
    },
    manifest,
    started,
  );
}
