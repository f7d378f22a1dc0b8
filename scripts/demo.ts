/**
 * `npm run demo`: the whole pipeline once, end to end, at a small scale, with the real
 * components: local services -> generator (MariaDB + Kafka by default; --sources picks the
 * shop's database and adds files, the shop API and a shop's history export) -> their ingestors ->
 * Postgres raw -> dbt build -> Great Expectations gate -> report mailed to the local sink and
 * saved as HTML -> a summary of what was built and where to look.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { runCli, type CliContext } from '../lib/cli/run.ts';
import { UsageError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { isIsoDate } from '../report/format.ts';
import { runDemo, type DemoOptions } from './demo/pipeline.ts';
import { parseDemoSources } from './demo/sources.ts';

const HELP = `Usage: npm run demo [-- options]

Runs the whole ShopFlow pipeline once on a small generated shop, using local services
(started if needed), and prints where to look. Each run rebuilds the demo data, so a second
run gives the same result.

Options:
  --customers N   customers to generate (default 2000)
  --products N    products to generate (default 200)
  --orders N      orders to generate (default 8000)
  --days N        days of history (default 120)
  --to YYYY-MM-DD last day of history (default yesterday); any year, e.g. 1998-06-30
  --sources LIST  the shop's sources to fill, ingest and gate, a comma list of
                    mariadb      the shop on MariaDB, captured from the binlog (ingest:cdc)
                    postgres     the shop on Postgres, captured by logical replication
                                 (ingest:pg-cdc); instead of mariadb, never with it
                    clickstream  the shop's events through Kafka (ingest:kafka)
                    files        a folder of supplier price lists for the shop's products
                                 (ingest:files)
                    api          the generator's shop API (orders, products), pulled by
                                 ingest:api; it serves MariaDB, which then gets the shop too
                    history      a shop's CSV export of its past (Velo Bern, 2011:
                                 customers, orders, order lines), landed by ingest:files
                                 (docs/history.md); alone, a shop without a live database
                                 (no generator; the report is for the export's last day),
                                 or beside mariadb or postgres with its ids moved up by
                                 1,000,000,000 so they do not collide with the live shop's
                  or all (postgres,clickstream,files,api); default mariadb,clickstream.
                  The gate expects exactly these sources (GATE_SOURCES; history is files)
  --database-only the same as --sources mariadb: a shop without a clickstream
  --seed N        generator seed (default 42)
  --reset         allow recreating the demo databases and topic on external services
  -h, --help      show this help
  -V, --version   print the version

Environment: see .env.example (WAREHOUSE_URL, SHOP_DB_URL, KAFKA_BROKERS, SMTP_URL, ...).
Logs of each stage: .data/logs/demo-*.log
`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new UsageError(`--${name} must be a positive whole number (got ${JSON.stringify(value)})`);
  return parsed;
}

function isoDateArg(name: string, value: string): string {
  if (!isIsoDate(value)) throw new UsageError(`--${name} must be a real date as YYYY-MM-DD (got ${JSON.stringify(value)})`);
  return value;
}

function parseOptions(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        customers: { type: 'string' },
        products: { type: 'string' },
        orders: { type: 'string' },
        days: { type: 'string' },
        seed: { type: 'string' },
        to: { type: 'string' },
        sources: { type: 'string' },
        'database-only': { type: 'boolean', default: false },
        reset: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function main(argv: string[], context: CliContext): Promise<number> {
  const values = parseOptions(argv);
  if (values['database-only'] && values.sources !== undefined)
    throw new UsageError('--database-only is --sources mariadb: give one of them, not both');
  const options: DemoOptions = {
    customers: positiveInt('customers', values.customers, 2_000),
    products: positiveInt('products', values.products, 200),
    orders: positiveInt('orders', values.orders, 8_000),
    days: positiveInt('days', values.days, 120),
    seed: positiveInt('seed', values.seed, 42),
    allowExternalReset: values.reset,
    ...(values.to !== undefined ? { to: isoDateArg('to', values.to) } : {}),
    sources: parseDemoSources(values['database-only'] ? 'mariadb' : values.sources),
  };
  const config = context.config();
  const logger = createLogger('demo', config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  return runDemo(config, options, { logger, logDir: join(config.dataDir, 'logs') });
}

await runCli({ name: 'demo', help: HELP, main });
