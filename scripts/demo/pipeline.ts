/**
 * The demo's stages, in order. Ingestors and the generator run as their own CLIs (exactly as a
 * data engineer runs them); dbt, the gate and the report are called as the scheduler calls them.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { runGate, type GateSummary } from '../../great_expectations/run.ts';
import { KAFKA_INGESTOR_NODE_FLAGS } from '../../ingest/kafka/node-flags.ts';
import type { Config } from '../../lib/config/index.ts';
import { runDbt } from '../../lib/dbt/run.ts';
import { runForecast } from '../../forecast/run.ts';
import { DBT_FORECAST_ARGS } from '../../scheduler/jobs/dbt-args.ts';
import { coerceError, ServiceUnavailableError, ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { sendDailyReport } from '../../report/send.ts';
import { servicesFor, upServices } from '../services/index.ts';
import { compareCounts, landInLake, resetLake } from './lake.ts';
import { assertResetAllowed, resetShopDatabase, resetTopic, resetWarehouse } from './reset.ts';
import { runCli, startCli, type CliOptions } from './run-cli.ts';
import { DemoRun } from './ledger.ts';
import { HISTORY_ID_OFFSET, pullShopApi, resetShopPostgres, writeHistoryExport, writeSupplierPrices } from './more-sources.ts';
import { describeSources, gateSources, generatorRuns, parseDemoSources, type DemoSources } from './sources.ts';
import { countLayers } from './summary.ts';
import { bold, dim, green, red, StepPrinter, table, yellow } from './ui.ts';

export interface DemoOptions {
  customers: number;
  products: number;
  orders: number;
  days: number;
  seed: number;
  allowExternalReset: boolean;
  /** Last day of the history (YYYY-MM-DD); default yesterday. History can be any year. */
  to?: string;
  /** The shop's sources (scripts/demo/sources.ts); default MariaDB and the clickstream. */
  sources?: DemoSources;
}

export interface DemoContext {
  logger: Logger;
  logDir: string;
}

const DAY_MS = 86_400_000;
/** Weekly as-of dates forecast before the latest day (npm run forecast -- --history N). */
const DEMO_FORECAST_HISTORY = 3;
const isoDate = (date: Date) => date.toISOString().slice(0, 10);

export async function runDemo(config: Config, options: DemoOptions, context: DemoContext): Promise<number> {
  assertResetAllowed(config, options.allowExternalReset);
  const cli: CliOptions = { rootDir: config.rootDir, logDir: context.logDir };
  const sources = options.sources ?? parseDemoSources(undefined);
  const live = sources.database !== null;
  // A history alone has no live shop: no CDC ingestor, generator or lake landing (3 + 1 steps).
  const steps = new StepPrinter(
    (live ? 11 : 8) +
      (sources.clickstream ? 1 : 0) +
      (sources.files ? 1 : 0) +
      (sources.api ? 1 : 0) +
      (sources.history ? 1 : 0) +
      (config.LAKEHOUSE_ENABLED && live ? 1 : 0),
  );
  const to = options.to ? new Date(`${options.to}T00:00:00Z`) : new Date(Date.now() - DAY_MS);
  const from = new Date(to.getTime() - (options.days - 1) * DAY_MS);

  const world = live
    ? `${options.customers} customers, ${options.products} products, ${options.orders} orders, ${isoDate(from)} → ${isoDate(to)}, seed ${options.seed}; `
    : '';
  process.stdout.write(`${bold('ShopFlow demo')} ${dim(`— ${world}sources: ${describeSources(sources)}`)}\n\n`);
  // What a shop with these sources configures (docs/quality-gate.md): the gate expects exactly them.
  const gateConfig: Config = { ...config, GATE_SOURCES: gateSources(sources) };

  // A history alone needs the warehouse and the mail sink only.
  const needed = live ? servicesFor(config) : servicesFor(config).filter((s) => s.name === 'postgres' || s.name === 'smtp');
  await steps.step(
    !live
      ? 'Starting local services (Postgres, SMTP sink)'
      : config.LAKEHOUSE_ENABLED
        ? 'Starting local services (Postgres, MariaDB, Kafka, SMTP sink, S3Proxy, Spark)'
        : 'Starting local services (Postgres, MariaDB, Kafka, SMTP sink)',
    async () => {
      const outcomes = await upServices(config, needed);
      const failed = outcomes.filter((o) => !o.ok);
      if (failed.length > 0) throw new ServiceUnavailableError(failed.map((o) => `${o.service}: ${o.message}`).join('\n'));
      return outcomes;
    },
    (outcomes) => outcomes.map((o) => `${o.service} ${o.message}`).join('; '),
  );

  await steps.step(
    live
      ? `Resetting demo data (shop database${sources.database === 'postgres' ? 's' : ''}, Kafka topic, warehouse)`
      : 'Resetting demo data (warehouse)',
    async () => {
      await Promise.all([
        ...(live ? [resetShopDatabase(config), resetTopic(config)] : []),
        ...(sources.database === 'postgres' ? [resetShopPostgres(config)] : []),
        resetWarehouse(config),
        ...(config.LAKEHOUSE_ENABLED && live ? [resetLake(config)] : []),
      ]);
    },
  );

  // From here on the demo is a run in the ledger, step by step, like a scheduler job.
  const run = await DemoRun.start(config);
  try {
    const outcome = await runPipeline(config, options, context, { steps, run, cli, from, to, gateConfig, sources });
    await run.finish(
      outcome.gatePassed ? 'succeeded' : 'failed',
      outcome.gatePassed ? undefined : 'the quality gate failed: report withheld, alert sent',
    );
    await run.close();

    // The data-operations marts read the gate results, ingest metrics and this run, which exist only now.
    await steps.step('Refreshing the data-operations marts (runs, gate results, freshness, dead letters)', () =>
      runDbt(config, ['run', '--select', 'path:models/marts/operations'], { logger: context.logger }),
    );

    const layers = await steps.step('Counting rows per layer', () => countLayers(config.WAREHOUSE_URL));

    printSummary(config, { layers, ...outcome });
    return outcome.gatePassed ? 0 : 1;
  } catch (error) {
    await run.finish('failed', coerceError(error).message).catch(() => undefined);
    await run.close();
    throw error;
  }
}

interface PipelineParts {
  steps: StepPrinter;
  run: DemoRun;
  cli: CliOptions;
  from: Date;
  to: Date;
  gateConfig: Config;
  sources: DemoSources;
}

/** The recorded part of the demo: ingest, build, gate and report. */
async function runPipeline(config: Config, options: DemoOptions, context: DemoContext, parts: PipelineParts) {
  const { steps, run, cli, from, to, gateConfig, sources } = parts;
  const onPostgres = sources.database === 'postgres';
  const cdcEntry = onPostgres ? 'ingest/pg-cdc/cli.ts' : 'ingest/cdc/cli.ts';
  const cdcLog = onPostgres ? 'demo-ingest-pg-cdc.log' : 'demo-ingest-cdc.log';

  // The CDC ingestor starts before the shop is written, so the whole history (every insert and
  // update, in order) reaches the warehouse through the binlog or the replication slot, as it
  // would in production.
  const cdc = !sources.database
    ? null
    : await steps.step(
        onPostgres
          ? 'Starting the Postgres CDC ingestor (snapshot from the replication slot, then pgoutput)'
          : 'Starting the CDC ingestor (consistent snapshot, then binlog)',
        run.step('cdc-snapshot', async () => {
          const running = startCli(cdcEntry, [], cli);
          running.done.catch(() => undefined);
          await waitForSnapshot(config, running.done, cdcLog);
          return running;
        }),
        () => (onPostgres ? 'snapshot done, following the replication slot' : 'snapshot done, following the binlog'),
      );

  // A failure below must not leave the CDC ingestor running (it would hold the slot or the binlog).
  try {
    if (cdc) {
      const generatorRunsPlanned = generatorRuns(sources);
      await steps.step(
        `Generating the shop into ${generatorRunsPlanned.map((g) => g.what).join(', then ')}${sources.clickstream ? '' : ' (no clickstream)'}`,
        run.step('generate', async () => {
          for (const [index, planned] of generatorRunsPlanned.entries())
            await runCli(
              'generator/cli.ts',
              [
                '--backfill',
                '--from',
                isoDate(from),
                '--to',
                isoDate(to),
                '--customers',
                String(options.customers),
                '--products',
                String(options.products),
                '--orders',
                String(options.orders),
                '--seed',
                String(options.seed),
                '--anomalies',
                '--manifest',
                // One world from one seed: a second run (MariaDB for the shop API) writes the same anomalies again.
                join(config.dataDir, 'generator', index === 0 ? 'demo-anomalies.jsonl' : `demo-anomalies-${planned.sourceDb}.jsonl`),
                '--source-db',
                planned.sourceDb,
                '--sinks',
                planned.sinks.join(','),
              ],
              { ...cli, inherit: true, logName: index === 0 ? 'generator' : `generator-${planned.sourceDb}` },
            );
        }),
      );

      if (sources.clickstream) {
        await steps.step(
          'Ingesting the clickstream (Kafka → Postgres, until caught up)',
          run.step('ingest-kafka', () =>
            runCli('ingest/kafka/cli.ts', ['--until-idle', '3000'], { ...cli, nodeFlags: KAFKA_INGESTOR_NODE_FLAGS }),
          ),
          () => 'raw.shop_events, raw.dead_letters',
        );
      }

      await steps.step(
        onPostgres
          ? 'Draining the Postgres CDC ingestor (SIGTERM), then catching up to the WAL head'
          : 'Draining the CDC ingestor (SIGTERM), then catching up to the binlog head',
        run.step(onPostgres ? 'ingest-pg-cdc' : 'ingest-cdc', async () => {
          cdc.child.kill('SIGTERM');
          await cdc.done;
          // A fresh process resumes from the position committed in Postgres.
          await runCli(cdcEntry, ['--until-idle', '3000'], { ...cli, logName: `${onPostgres ? 'ingest-pg-cdc' : 'ingest-cdc'}-catch-up` });
        }),
        () => 'raw_shop.<table>',
      );
    }

    if (sources.files) {
      await steps.step(
        "Landing a supplier price list for the shop's products (files → Postgres)",
        run.step('ingest-files', async () => {
          const written = await writeSupplierPrices(config, join(config.dataDir, 'demo', 'files'), isoDate(to));
          await runCli('ingest/files/cli.ts', ['--config', written.configPath], cli);
          return written;
        }),
        (written) => `${written.rows} prices from ${written.configPath}: raw.file_manifest, raw.file_rows`,
      );
    }

    if (sources.api) {
      await steps.step(
        'Pulling orders and products from the shop API (REST → Postgres)',
        run.step('ingest-api', () => pullShopApi(config, cli, join(config.dataDir, 'demo', 'api'))),
        () => 'raw.api_records, ingest.api_cursors',
      );
    }

    if (sources.history) {
      const renumber = sources.database !== null;
      await steps.step(
        `Landing a shop's history export (Velo Bern, 2011: customers, orders, order lines; files → Postgres)${renumber ? `, ids moved up by ${HISTORY_ID_OFFSET.toLocaleString('en-US')} beside the live shop` : ''}`,
        run.step('ingest-history', async () => {
          const written = await writeHistoryExport(config.rootDir, join(config.dataDir, 'demo', 'history'), renumber);
          await runCli('ingest/files/cli.ts', ['--config', written.configPath], { ...cli, logName: 'ingest-history' });
          return written;
        }),
        (written) => `${written.rows} rows from ${written.configPath}: raw_files.history_customers, history_orders, history_order_lines`,
      );
    }

    if (config.LAKEHOUSE_ENABLED && cdc) {
      await steps.step(
        'Landing both paths in the lake (Spark: clickstream and changes jobs, until caught up)',
        run.step('lake-landing', async () => {
          await landInLake(config, cli.logDir);
          const counts = await compareCounts(config);
          for (const [what, { lake, postgres }] of Object.entries(counts))
            if (lake !== postgres)
              throw new ShopflowError('SHOPFLOW_DEMO', `the lake holds ${lake} ${what} rows where Postgres raw holds ${postgres}`);
          return counts;
        }),
        (counts) =>
          `lake.raw.shop_events ${counts.events.lake.toLocaleString('en-US')} rows, lake.raw.shop_changes ${counts.changes.lake.toLocaleString('en-US')} rows: the same as Postgres raw`,
      );
    }

    await steps.step(
      'Building the warehouse (dbt build: staging, snapshots, star schema, marts, tests)',
      run.step('dbt-build', () => runDbt(config, ['build'], { logger: context.logger })),
    );

    // As the nightly job does it: the forecast reads the star schema just built, the forecast
    // marts read what it wrote. The weekly as-of dates before the latest day give the report's
    // Demand section yesterday's forecast (made a week earlier) and the accuracy marts something
    // to score. A history alone has no stock levels (an export has orders, not inventory), and
    // the forecaster reads units and stock from marts.fct_inventory_daily: nothing to forecast.
    if (cdc) {
      await steps.step(
        `Forecasting demand (14 days per active product and category, as of the latest day and the ${DEMO_FORECAST_HISTORY} weeks before)`,
        run.step('forecast', async () => {
          const summary = await runForecast(config, { history: DEMO_FORECAST_HISTORY, logger: context.logger });
          await runDbt(config, DBT_FORECAST_ARGS, { logger: context.logger });
          return summary;
        }),
        (summary) =>
          summary.skipped
            ? `skipped: ${summary.skipped} (a shorter world than the forecaster needs; the report has no Demand section)`
            : `marts.demand_forecast: ${summary.rows_written.toLocaleString('en-US')} rows, ${summary.products} products as of ${summary.as_of_date}; demand_vs_actual, forecast_accuracy, stockout_risk_products`,
      );
    } else {
      await steps.step(
        'Forecast marts without a forecast (a history export has no stock levels to forecast from)',
        run.step('forecast', () => runDbt(config, DBT_FORECAST_ARGS, { logger: context.logger })),
        () => 'forecaster skipped: marts.fct_inventory_daily is empty; the report has no Demand section',
      );
    }

    const gates = await steps.step(
      'Quality gate (Great Expectations on raw and marts)',
      run.step('gate', async () => {
        const results: GateSummary[] = [];
        for (const gate of ['raw', 'marts'] as const) results.push(await runGate(gateConfig, gate, { logger: context.logger }));
        return results;
      }),
      (results) => results.map((g) => `${g.gate}: ${g.evaluated - g.failed}/${g.evaluated} passed`).join(', '),
    );

    const businessDate = await latestOrderDate(config, sources.database !== null);
    const gatePassed = gates.every((g) => g.success);
    // A failed gate withholds the report: sendDailyReport mails the alert listing the failures instead.
    const report = await steps.step(
      gatePassed ? `Morning report for ${businessDate} (mail + HTML)` : 'Gate failed: sending the alert instead of the report',
      run.step('report', () => sendDailyReport(config, { businessDate, gates }, { logger: context.logger })),
    );
    return { gates, report, businessDate, gatePassed };
  } finally {
    if (cdc && cdc.child.exitCode === null && cdc.child.signalCode === null) {
      cdc.child.kill('SIGTERM');
      await cdc.done.catch(() => undefined);
    }
  }
}

/** Wait until the CDC ingestor has committed its initial snapshot (or died trying). */
async function waitForSnapshot(config: Config, exited: Promise<void>, logName: string, timeoutMs = 120_000): Promise<void> {
  let finished = false;
  let failure: unknown;
  exited.then(
    () => (finished = true),
    (error: unknown) => {
      finished = true;
      failure = error;
    },
  );
  const client = new pg.Client({ connectionString: config.WAREHOUSE_URL, application_name: 'shopflow-demo' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (finished) throw failure ?? new ShopflowError('SHOPFLOW_DEMO', 'the CDC ingestor exited before finishing its snapshot');
      const { rows } = await client.query<{ snapshot_state: string }>('select snapshot_state from ingest.cdc_positions');
      if (rows.length > 0 && rows.every((r) => r.snapshot_state === 'done')) return;
      await sleep(250);
    }
    throw new ShopflowError('SHOPFLOW_DEMO', `the CDC snapshot did not finish within ${timeoutMs / 1000} s; see .data/logs/${logName}`);
  } finally {
    await client.end();
  }
}

/**
 * The report covers the latest day with orders: demo data ends yesterday, history can be any
 * year. Without a live shop there is no change log: the orders are the export's, as built.
 */
async function latestOrderDate(config: Config, live: boolean): Promise<string> {
  const client = new pg.Client({ connectionString: config.WAREHOUSE_URL, application_name: 'shopflow-demo' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ day: string | null }>(
      live
        ? // DATETIME lands as timestamp without time zone holding UTC (ingest/cdc/type-map.ts).
          `select to_char(max(placed_at), 'YYYY-MM-DD') as day
             from raw_shop.orders where operation <> 'delete'`
        : `select to_char(max(placed_at) at time zone 'UTC', 'YYYY-MM-DD') as day from marts.fct_orders`,
    );
    const day = rows[0]?.day;
    if (!day) throw new ShopflowError('SHOPFLOW_DEMO', 'no orders reached the warehouse; see .data/logs/demo-*.log');
    return day;
  } finally {
    await client.end();
  }
}

interface SummaryInput {
  layers: Awaited<ReturnType<typeof countLayers>>;
  gates: GateSummary[];
  report: Awaited<ReturnType<typeof sendDailyReport>>;
  businessDate: string;
}

function newestMail(mailDir: string): string | undefined {
  try {
    const files = readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
    return files.map((f) => join(mailDir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  } catch {
    return undefined;
  }
}

function printSummary(config: Config, input: SummaryInput): void {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out();
  out(bold('Rows per layer'));
  out(
    table(
      ['layer', 'relations', 'rows', 'largest'],
      input.layers.map((l) => [
        l.layer,
        l.relations,
        l.rows,
        l.largest.map((t) => `${t.name} ${t.rows.toLocaleString('en-US')}`).join(', '),
      ]),
    ),
  );
  out();
  out(bold('Quality gate'));
  for (const gate of input.gates) {
    const verdict = gate.success ? green('PASS') : red('FAIL');
    out(`  ${gate.gate.padEnd(6)} ${verdict}  ${gate.evaluated - gate.failed}/${gate.evaluated} expectations  ${dim(gate.summaryPath)}`);
    for (const failure of gate.failures.slice(0, 10))
      out(
        `         ${red('✘')} ${failure.suite}: ${failure.expectation}${failure.column ? ` (${failure.column})` : ''} ${dim(failure.details)}`,
      );
  }
  out();
  out(bold('Where to look'));
  if (!input.report.blocked) {
    out(`  report (${input.businessDate}) HTML   ${input.report.htmlPath}`);
    const mail = config.managed.smtp ? newestMail(join(config.dataDir, 'mail')) : undefined;
    out(
      `  report e-mail          ${input.report.sent || input.report.alreadySent ? (mail ?? `sent via ${config.SMTP_URL}`) : yellow('not sent')}`,
    );
  } else {
    out(`  ${red('no report was sent: the gate failed and an alert went out instead')}`);
  }
  const dataDocs = [...new Set(input.gates.map((g) => g.dataDocsPath).filter(Boolean))];
  out(`  gate data docs         ${dataDocs.join(', ') || 'not built'}`);
  out(`  stage logs             ${join(config.dataDir, 'logs')}/demo-*.log`);
  out();
  out(bold('Next'));
  out('  npm run dashboards                  Superset on the marts');
  out('  npm run dbt -- docs generate        dbt docs (then: npm run dbt -- docs serve)');
  out('  npm run scheduler                   keep it running: ingestors, micro-batches, the 8 AM report');
  out('  npm run services:down               stop the local services');
}
