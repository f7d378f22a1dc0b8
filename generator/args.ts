/**
 * Command-line flags of `npm run generate`: parsed and checked completely before anything is
 * written, so a bad flag never leaves a half-generated shop behind.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { UsageError } from '../lib/errors.ts';
import { DEFAULT_SIZE } from './params.ts';
import { DAY_MS, formatDay, parseDay } from './world/calendar.ts';

export const SINK_NAMES = ['mariadb', 'kafka'] as const;
export type SinkName = (typeof SINK_NAMES)[number];

/** Where the shop tables go: MariaDB (SHOP_DB_URL) or Postgres (SHOP_PG_URL). */
export const SOURCE_DBS = ['mariadb', 'postgres'] as const;
export type SourceDb = (typeof SOURCE_DBS)[number];

export interface GenerateOptions {
  mode: 'backfill' | 'live';
  seed: number;
  customers: number;
  products: number;
  orders: number;
  /** First simulated day (UTC midnight, ms) and number of days (backfill). */
  startMs: number;
  days: number;
  /** Live: orders per minute (browsing, signups and changes follow in proportion). */
  rate: number;
  /** Live: stop after this many seconds (null: until SIGTERM/SIGINT). */
  durationSeconds: number | null;
  anomalies: boolean;
  anomalyRate: number;
  /** Manifest path, or null to use the default under the data directory. */
  manifest: string | null;
  sinks: SinkName[];
  /** The database the shop sink (\`mariadb\` in --sinks) writes to. */
  sourceDb: SourceDb;
  reset: boolean;
  dryRun: boolean;
  quiet: boolean;
  json: boolean;
}

export const HELP = `Usage: npm run generate -- [options]

Fills the MariaDB \`shop\` database and the Kafka clickstream topic with a simulated shop,
seeded and deterministic: the same flags and version give the same rows and events.

Modes:
  --backfill              write history day by day (default)
  --live                  stream in real time, continuing from the state already in MariaDB

World size (backfill):
  --customers N           customers (default ${DEFAULT_SIZE.customers.toLocaleString('en')})
  --products N            products (default ${DEFAULT_SIZE.products})
  --orders N              orders (default ${DEFAULT_SIZE.orders.toLocaleString('en')})
  --scale F               multiply the default customers and orders by F (e.g. 0.1, 10);
                          explicit --customers/--orders win. The catalogue keeps its size.
  --from YYYY-MM-DD       first day simulated (default: --to minus 364 days)
  --to YYYY-MM-DD         last day simulated, inclusive (default: yesterday, UTC)
  --days N                window length when --from is not given (default ${DEFAULT_SIZE.days})
  --seed N                random seed (default 42)

Live mode:
  --rate N                orders per minute (default 30); sessions, signups and changes follow
  --duration SECONDS      stop after this long (default: run until Ctrl-C / SIGTERM)

Test data:
  --anomalies             inject duplicates, late and malformed events, fraud patterns and
                          stock write-offs at the rates in docs/generator.md
  --anomaly-rate F        multiply every anomaly rate by F (default 1)
  --manifest PATH         where the anomalies manifest (JSONL) goes
                          (default: $SHOPFLOW_DATA_DIR/generator/anomalies-seed<SEED>.jsonl)

Output:
  --sinks LIST            comma-separated: mariadb,kafka (default both); mariadb is the shop
                          database sink, written to the database --source-db names
  --source-db DB          mariadb (default) or postgres: the shop tables go to the Postgres
                          of SHOP_PG_URL instead of MariaDB (backfill only; docs/pg-cdc.md)
  --reset                 drop and recreate the shop tables first (backfill only); the topic and
                          the warehouse keep the old world: \`npm run reset\` empties all three
  --dry-run               generate everything, write nothing (measures the generator alone)
  --quiet                 no progress output
  --json                  print the summary as one JSON line instead of a table
  -h, --help              this text

Environment:
  SHOP_DB_URL             MariaDB URL (default mysql://shopflow:shopflow@127.0.0.1:33069/shop)
  SHOP_PG_URL             Postgres URL for --source-db postgres
                          (default postgres://postgres:shopflow@127.0.0.1:54339/shop)
  KAFKA_BROKERS           comma-separated host:port (default 127.0.0.1:19092)
  KAFKA_TOPIC             topic for events (default shop.events)
  KAFKA_PARTITIONS        partitions when the topic is created (default 6)
  KAFKA_CLIENT_ID         client id prefix (default shopflow)
  SHOPFLOW_DATA_DIR       data directory for the default manifest path (default .data)
  LOG_LEVEL               log level (default info)
  CI                      set to true for plain progress lines instead of a bar
`;

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--${name} must be a whole number >= ${min}, got "${text}"`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be a whole number >= ${min}, got "${text}"`);
  return value;
}

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a number > 0, got "${text}"`);
  return value;
}

function day(name: string, text: string): number {
  try {
    return parseDay(text);
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`);
  }
}

/** Parses argv (without node and script). `nowMs` fixes "yesterday" for the default window. */
export function parseGenerateArgs(argv: string[], nowMs: number, dataDir: string): GenerateOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        backfill: { type: 'boolean' },
        live: { type: 'boolean' },
        customers: { type: 'string' },
        products: { type: 'string' },
        orders: { type: 'string' },
        scale: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        days: { type: 'string' },
        seed: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        anomalies: { type: 'boolean' },
        'anomaly-rate': { type: 'string' },
        manifest: { type: 'string' },
        sinks: { type: 'string' },
        reset: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        quiet: { type: 'boolean' },
        json: { type: 'boolean' },
        'source-db': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nRun with --help to see every flag.`);
  }
  if (values.help) return 'help';
  if (values.backfill && values.live) throw new UsageError('--backfill and --live cannot be combined');
  const mode = values.live ? 'live' : 'backfill';
  if (mode === 'live') {
    for (const flag of ['from', 'to', 'days', 'customers', 'orders', 'scale', 'reset'] as const) {
      if (values[flag] !== undefined)
        throw new UsageError(`--${flag} applies to --backfill only; --live continues from the shop already in MariaDB`);
    }
  } else {
    for (const flag of ['rate', 'duration'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} applies to --live only`);
    }
  }

  const scale = positiveNumber('scale', values.scale, 1);
  const customers = positiveInt('customers', values.customers, Math.max(1, Math.round(DEFAULT_SIZE.customers * scale)));
  const products = positiveInt('products', values.products, DEFAULT_SIZE.products);
  const orders = positiveInt('orders', values.orders, Math.max(1, Math.round(DEFAULT_SIZE.orders * scale)), 0);
  const seed = positiveInt('seed', values.seed, 42, 0);
  if (seed > 0xffffffff) throw new UsageError(`--seed must be at most ${0xffffffff}`);

  const yesterday = Math.floor(nowMs / DAY_MS) * DAY_MS - DAY_MS;
  const toMs = values.to !== undefined ? day('to', values.to) : yesterday;
  let startMs: number;
  if (values.from !== undefined) {
    if (values.days !== undefined) throw new UsageError('give --from or --days, not both');
    startMs = day('from', values.from);
    if (startMs > toMs) throw new UsageError(`--from ${values.from} is after --to ${formatDay(toMs)}`);
  } else {
    const days = positiveInt('days', values.days, DEFAULT_SIZE.days);
    startMs = toMs - (days - 1) * DAY_MS;
  }
  const days = Math.round((toMs - startMs) / DAY_MS) + 1;
  if (days > 20 * 366) throw new UsageError(`the window is ${days} days; at most 20 years can be generated at once`);

  const sinks = (values.sinks ?? 'mariadb,kafka')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of sinks) {
    if (!(SINK_NAMES as readonly string[]).includes(s))
      throw new UsageError(`--sinks: unknown sink "${s}" (choose from ${SINK_NAMES.join(', ')})`);
  }
  if (sinks.length === 0 && !values['dry-run']) throw new UsageError('--sinks needs at least one of mariadb,kafka (or use --dry-run)');
  const sourceDb = values['source-db'] ?? 'mariadb';
  if (!(SOURCE_DBS as readonly string[]).includes(sourceDb))
    throw new UsageError(`--source-db: unknown database "${sourceDb}" (choose from ${SOURCE_DBS.join(', ')})`);
  if (sourceDb === 'postgres' && mode === 'live')
    throw new UsageError('--source-db postgres writes backfills only; --live continues MariaDB');
  if (values['anomaly-rate'] !== undefined && !values.anomalies) throw new UsageError('--anomaly-rate needs --anomalies');
  if (values.manifest !== undefined && !values.anomalies) throw new UsageError('--manifest needs --anomalies');

  return {
    mode,
    seed,
    customers,
    products,
    orders,
    startMs,
    days,
    rate: positiveNumber('rate', values.rate, 30),
    durationSeconds: values.duration === undefined ? null : positiveNumber('duration', values.duration, 1),
    anomalies: values.anomalies ?? false,
    anomalyRate: positiveNumber('anomaly-rate', values['anomaly-rate'], 1),
    manifest: values.anomalies ? resolve(values.manifest ?? resolve(dataDir, 'generator', `anomalies-seed${seed}.jsonl`)) : null,
    sinks: [...new Set(sinks)] as SinkName[],
    sourceDb: sourceDb as SourceDb,
    reset: values.reset ?? false,
    dryRun: values['dry-run'] ?? false,
    quiet: values.quiet ?? false,
    json: values.json ?? false,
  };
}
