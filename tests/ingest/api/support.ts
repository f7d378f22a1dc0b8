/**
 * The REST puller's test world: a MariaDB shop database with orders whose updated_at values
 * are spread out (with ties), the generator's shop API serving it as a real child process on
 * 127.0.0.1, REST sources declared over it, and what raw holds for a source.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import mysql from 'mysql2/promise';
import pg from 'pg';

import { parseApiConfig, type ApiSource } from '../../../ingest/api/source-config.ts';
import { ROOT_DIR } from '../../../lib/config/index.ts';

export const API_CLI = join(ROOT_DIR, 'generator', 'api', 'cli.ts');
export const PULLER_CLI = join(ROOT_DIR, 'ingest', 'api', 'cli.ts');
export const TOKEN = 'test-token-7f3a';

export function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[key]) env[key] = process.env[key];
  return { ...env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...extra };
}

export interface Child {
  child: ChildProcess;
  exit: Promise<number | null>;
  output(): string;
}

export function startChild(entry: string, args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT_DIR,
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('error', () => undefined);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, output: () => output };
}

export interface RunningApi extends Child {
  url: string;
  /** SIGTERM, wait, and the request counts the API logged as it stopped. */
  stop(): Promise<Record<string, number>>;
}

export async function startShopApi(shopDbUrl: string, args: string[] = []): Promise<RunningApi> {
  const api = startChild(API_CLI, ['--port', '0', '--token', TOKEN, ...args], { SHOP_DB_URL: shopDbUrl });
  for (let i = 0; i < 600; i++) {
    const match = /shop-api listening on (http:\/\/\S+)/.exec(api.output());
    if (match) {
      return {
        ...api,
        url: match[1]!,
        async stop() {
          api.child.kill('SIGTERM');
          await api.exit;
          const line = api
            .output()
            .split('\n')
            .find((l) => l.includes('shop API stopped'));
          return line ? ((JSON.parse(line) as { counts: Record<string, number> }).counts ?? {}) : {};
        },
      };
    }
    if (api.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  api.child.kill('SIGKILL');
  throw new Error(`the shop API did not start: ${api.output()}`);
}

export const ORDER_COLUMNS = [
  { name: 'order_id', type: 'integer' },
  { name: 'customer_id', type: 'integer', nullable: false },
  { name: 'status', type: 'text', nullable: false },
  { name: 'ship_region', type: 'text' },
  { name: 'total_amount', type: 'numeric', nullable: false },
  { name: 'placed_at', type: 'timestamp', nullable: false },
  { name: 'updated_at', type: 'timestamp' },
];

export function ordersSource(
  name: string,
  baseUrl: string,
  paging: 'cursor' | 'offset' | 'link',
  extra: Record<string, unknown> = {},
): ApiSource {
  return parseApiConfig(
    {
      sources: [
        {
          name,
          baseUrl,
          path: '/v1/orders',
          query: { paging },
          paging,
          pageSize: 100,
          updatedAt: 'updated_at',
          keys: ['order_id'],
          columns: ORDER_COLUMNS,
          ...extra,
        },
      ],
    },
    'test',
  )[0]!;
}

/**
 * `orders` orders for 20 customers, updated_at spread over a year in steps that repeat (ties
 * across page boundaries), every 97th order without a ship_region.
 */
export async function seedShop(url: string, orders: number): Promise<void> {
  const connection = await mysql.createConnection({ uri: url, multipleStatements: true });
  connection.on('error', () => undefined);
  try {
    const customers = Array.from(
      { length: 20 },
      (_, i) => `(${i + 1}, 'c${i + 1}@example.com', 'Ann', 'Lee', 'DE', 'Berlin', 'organic', '2025-01-01 00:00:00.000')`,
    );
    await connection.query(
      `insert into customers (customer_id, email, first_name, last_name, country_code, city, signup_channel, signed_up_at) values ${customers.join(',')}`,
    );
    const rows: string[] = [];
    for (let i = 1; i <= orders; i++) {
      const updated = new Date(Date.UTC(2025, 0, 1) + Math.floor(i / 3) * 3_600_000).toISOString().replace('T', ' ').replace('Z', '');
      const region = i % 97 === 0 ? 'null' : `'Region ${i % 7}'`;
      rows.push(
        `(${i}, ${(i % 20) + 1}, 'placed', ${i}.${String(i % 100).padStart(2, '0')}, ${i}.${String(i % 100).padStart(2, '0')}, 'DE', ${region}, 'Berlin', '${updated}', '${updated}')`,
      );
    }
    await connection.query(
      `insert into orders (order_id, customer_id, status, subtotal_amount, total_amount, ship_country_code, ship_region, ship_city, placed_at, updated_at) values ${rows.join(',')}`,
    );
  } finally {
    await connection.end();
  }
}

/** (order_id, updated_at in ms) of every order in the shop database. */
export async function shopOrders(url: string): Promise<string[]> {
  const connection = await mysql.createConnection({ uri: url, timezone: 'Z', dateStrings: true });
  connection.on('error', () => undefined);
  try {
    const [rows] = await connection.query('select order_id, updated_at from orders order by order_id');
    return (rows as { order_id: number; updated_at: string }[]).map(
      (r) => `${r.order_id}@${Date.parse(`${r.updated_at.replace(' ', 'T')}Z`)}`,
    );
  } finally {
    await connection.end();
  }
}

export interface ApiLanded {
  /** `key@updated_at ms` per raw.api_records row, sorted. */
  versions: string[];
  cursor: { cursor_value: string; records_landed: string } | null;
  deadLetters: { source_position: string; error_code: string; reason: string; payload: Buffer; details: Record<string, unknown> }[];
}

export async function apiLanded(adminUrl: string, source: string): Promise<ApiLanded> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const rows = await client.query<{ v: string }>(
      `select (record->>'order_id') || '@' || (extract(epoch from updated_at) * 1000)::bigint as v
         from raw.api_records where source_name = $1`,
      [source],
    );
    const cursor = await client.query('select cursor_value, records_landed from ingest.api_cursors where source_name = $1', [source]);
    const deadLetters = await client.query(
      `select source_position, error_code, reason, payload, details from raw.dead_letters
        where source = 'api' and details->>'source' = $1 order by dead_letter_id`,
      [source],
    );
    return {
      versions: rows.rows.map((r) => r.v).sort(),
      cursor: (cursor.rows[0] as ApiLanded['cursor']) ?? null,
      deadLetters: deadLetters.rows as ApiLanded['deadLetters'],
    };
  } finally {
    await client.end();
  }
}
