/**
 * `npm run shop-api`: serve the shop database (SHOP_DB_URL) as a small read-only REST API, for
 * the REST puller (npm run ingest:api) to pull from in development, demos and tests.
 */
import { parseArgs } from 'node:util';

import mysql from 'mysql2/promise';

import { runCli } from '../../lib/cli/run.ts';
import { coerceError, UsageError } from '../../lib/errors.ts';
import { handleShutdownSignals } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { parseFaults, type ShopApiOptions } from './options.ts';
import { startShopApi } from './server.ts';

const HELP = `Usage: npm run shop-api -- [options]

Serves the shop database as a read-only REST API (docs/api.md, "The shop API"):
GET /v1/orders and /v1/products, sorted by (updated_at, id), with updated_since, limit and
paging=cursor|offset|link. Runs until SIGTERM/SIGINT.

Options:
  --host HOST         address to listen on (default 127.0.0.1)
  --port N            port (default SHOP_API_PORT; 0 picks a free one)
  --token TOKEN       bearer token requests must carry (default SHOP_API_TOKEN; "none": no auth)
  --rate N            requests per second before 429 + Retry-After (default 0: unlimited)
  --burst N           requests allowed at once (default: --rate, at least 1)
  --faults LIST       injected faults, e.g. 500=0.05,429=0.05,slow=0.02,truncate=0.02
  --slow-ms N         how long a slow answer waits (default 2000)
  --seed N            seed of the fault draws (default 1)
  -h, --help          show this help
  -V, --version       show the version

Environment:
  SHOP_DB_URL         the shop database (MariaDB) to serve
  SHOP_API_PORT       default port (8787)
  SHOP_API_TOKEN      default bearer token

On start it prints one line: "shop-api listening on http://HOST:PORT".
`;

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string' },
        token: { type: 'string' },
        rate: { type: 'string', default: '0' },
        burst: { type: 'string' },
        faults: { type: 'string', default: '' },
        'slow-ms': { type: 'string', default: '2000' },
        seed: { type: 'string', default: '1' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${coerceError(error).message}\nRun with --help for the list of options.`);
  }
}

function whole(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag} must be a whole number >= ${min}, not "${text}"`);
  return n;
}

await runCli({
  name: 'shop-api',
  help: HELP,
  async main(argv, context) {
    const flags = parseFlags(argv);
    const config = context.config();
    const rate = whole('rate', flags.rate, 0);
    const options: ShopApiOptions = {
      host: flags.host,
      port: whole('port', flags.port ?? String(config.SHOP_API_PORT), 0),
      token: (flags.token ?? config.SHOP_API_TOKEN) === 'none' ? null : (flags.token ?? config.SHOP_API_TOKEN),
      ratePerSecond: rate,
      burst: whole('burst', flags.burst ?? String(Math.max(1, rate)), 1),
      faults: parseFaults(flags.faults),
      slowMs: whole('slow-ms', flags['slow-ms'], 0),
      seed: whole('seed', flags.seed, 0),
    };
    const logger = createLogger('shop-api', config);
    const pool = mysql.createPool({
      uri: config.SHOP_DB_URL,
      timezone: 'Z',
      dateStrings: true,
      // Ids as JSON numbers, as APIs serve them (strings only past 2^53); DECIMAL stays an exact string.
      supportBigNumbers: true,
      bigNumberStrings: false,
      charset: 'utf8mb4',
      connectionLimit: 4,
    });
    pool.on('connection', (connection) => connection.on('error', (error) => logger.warn({ err: error }, 'shop database connection')));
    // Fail now, with the cause and the fix, rather than on the first request.
    await pool.query('select 1 from orders limit 0');
    const api = await startShopApi(pool, options);
    process.stdout.write(`shop-api listening on ${api.url}\n`);
    logger.info({ url: api.url, rate, faults: options.faults }, 'shop API up');
    await new Promise<void>((resolve) => {
      const remove = handleShutdownSignals({
        logger,
        forceAfterMs: 5_000,
        drain: async () => {
          remove();
          await api.close();
          await pool.end();
          logger.info({ counts: Object.fromEntries(api.counts) }, 'shop API stopped');
          resolve();
        },
      });
    });
    return 0;
  },
});
