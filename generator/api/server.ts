/**
 * A small read-only shop API over the generator's MariaDB: the kind of REST endpoint a payments
 * provider or a hosted shop offers, so the REST puller (ingest/api) is tested against a real
 * HTTP server rather than a mock. Paginated orders and products, incremental by `updated_since`,
 * sorted by (updated_at, id); three pagination styles (an opaque cursor in the body, limit and
 * offset, a Link header); a bearer token; a token-bucket rate limit answering 429 with
 * Retry-After; and seeded fault injection (500s, 429s, slow answers, bodies cut short).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type mysql from 'mysql2/promise';

import { Rng } from '../random.ts';
import { FAULT_KINDS, type FaultKind, type ShopApiOptions } from './options.ts';

interface Resource {
  table: string;
  id: string;
  /** Columns MariaDB gives as 0/1 that the API serves as JSON booleans. */
  booleans: readonly string[];
}

export const RESOURCES: Record<string, Resource> = {
  orders: { table: 'orders', id: 'order_id', booleans: [] },
  products: { table: 'products', id: 'product_id', booleans: ['is_active'] },
};

export const MAX_PAGE_SIZE = 1000;

/** MariaDB DATETIME(3) text ('2026-01-02 03:04:05.678', UTC) as ISO 8601 with Z. */
const isoUtc = (value: string) => `${value.replace(' ', 'T')}Z`;
const DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/;

function encodeCursor(updatedAt: string, id: string): string {
  return Buffer.from(JSON.stringify([updatedAt, id])).toString('base64url');
}

function decodeCursor(text: string): [string, string] | null {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string')
      return [value[0], value[1]];
  } catch {
    // not a cursor this server made
  }
  return null;
}

/** ISO 8601 (with Z or an offset) to MariaDB's UTC DATETIME text; null when it is not one. */
function sqlInstant(text: string): string | null {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(ms)) return null;
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

class TokenBucket {
  private tokens: number;
  private last = performance.now();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  /** 0 when a request may go now, else the seconds until it may (at least 1: Retry-After is whole seconds). */
  take(): number {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export interface ShopApi {
  server: Server;
  url: string;
  /** Requests answered so far, by outcome (ok, 401, 429-limit, and each fault kind). */
  counts: Map<string, number>;
  close(): Promise<void>;
}

export async function startShopApi(pool: mysql.Pool, options: ShopApiOptions): Promise<ShopApi> {
  const rng = new Rng(options.seed, 'shop-api');
  const bucket = options.ratePerSecond > 0 ? new TokenBucket(options.ratePerSecond, options.burst) : null;
  const counts = new Map<string, number>();
  const count = (what: string) => counts.set(what, (counts.get(what) ?? 0) + 1);

  const pickFault = (): FaultKind | null => {
    let draw = rng.next();
    for (const kind of FAULT_KINDS) {
      const p = options.faults[kind] ?? 0;
      if (draw < p) return kind;
      draw -= p;
    }
    return null;
  };

  async function page(resource: Resource, url: URL): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const paging = url.searchParams.get('paging') ?? 'cursor';
    if (!['cursor', 'offset', 'link'].includes(paging)) return { status: 400, body: { error: 'paging must be cursor, offset or link' } };
    const limit = Number(url.searchParams.get('limit') ?? '100');
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
      return { status: 400, body: { error: `limit must be 1..${MAX_PAGE_SIZE}` } };
    const where: string[] = [];
    const params: unknown[] = [];
    const since = url.searchParams.get('updated_since');
    if (since !== null) {
      const instant = sqlInstant(since);
      if (instant === null) return { status: 400, body: { error: 'updated_since must be an ISO 8601 instant' } };
      where.push('updated_at >= ?');
      params.push(instant);
    }
    const cursorText = url.searchParams.get('cursor');
    if (cursorText !== null && paging !== 'offset') {
      const cursor = decodeCursor(cursorText);
      if (cursor === null || !DATETIME.test(cursor[0])) return { status: 400, body: { error: 'cursor is not one this API gave' } };
      where.push(`(updated_at, ${resource.id}) > (?, ?)`);
      params.push(cursor[0], cursor[1]);
    }
    const offset = paging === 'offset' ? Number(url.searchParams.get('offset') ?? '0') : 0;
    if (!Number.isInteger(offset) || offset < 0) return { status: 400, body: { error: 'offset must be a whole number >= 0' } };
    const [rows] = await pool.query(
      `select * from ${resource.table} ${where.length ? `where ${where.join(' and ')}` : ''}
       order by updated_at, ${resource.id} limit ? offset ?`,
      [...params, limit + 1, offset],
    );
    const all = rows as Record<string, unknown>[];
    const more = all.length > limit;
    const data = all.slice(0, limit).map((row) => {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(row)) {
        if (typeof value === 'string' && DATETIME.test(value)) out[key] = isoUtc(value);
        else if (resource.booleans.includes(key)) out[key] = value === null ? null : Number(value) === 1;
        else out[key] = value;
      }
      return out;
    });
    const last = all[limit - 1];
    const nextCursor = more && last ? encodeCursor(String(last['updated_at']), String(last[resource.id])) : null;
    if (paging === 'cursor') return { status: 200, body: { data, next_cursor: nextCursor } };
    if (paging === 'offset') return { status: 200, body: { data, offset, limit } };
    const headers: Record<string, string> = {};
    if (nextCursor !== null) {
      const next = new URL(url);
      next.searchParams.set('cursor', nextCursor);
      headers['link'] = `<${next.pathname}${next.search}>; rel="next"`;
    }
    return { status: 200, body: { data }, headers };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://shop-api.local');
    if (url.pathname === '/health') return json(res, 200, { ok: true });
    if (req.method !== 'GET') return json(res, 405, { error: 'read-only API: GET only' });
    if (options.token !== null && req.headers.authorization !== `Bearer ${options.token}`) {
      count('401');
      return json(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer' });
    }
    const wait = bucket?.take() ?? 0;
    if (wait > 0) {
      count('429-limit');
      return json(res, 429, { error: 'rate limit' }, { 'retry-after': String(wait) });
    }
    const match = /^\/v1\/(\w+)$/.exec(url.pathname);
    const resource = match ? RESOURCES[match[1]!] : undefined;
    if (!resource) return json(res, 404, { error: `no such resource; try ${Object.keys(RESOURCES).join(', ')}` });

    const fault = pickFault();
    if (fault !== null) count(fault);
    if (fault === '500') return json(res, 500, { error: 'injected server error' });
    if (fault === '429') return json(res, 429, { error: 'injected rate limit' }, { 'retry-after': '1' });
    if (fault === 'slow') await new Promise((resolve) => setTimeout(resolve, options.slowMs));
    const answer = await page(resource, url);
    if (fault === 'truncate' && answer.status === 200) {
      // A gateway that cut the body short but sent a consistent length: HTTP succeeds, JSON does not.
      const text = Buffer.from(JSON.stringify(answer.body));
      const cut = text.subarray(0, Math.max(1, Math.floor(text.length / 2)));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': cut.length, ...answer.headers });
      res.end(cut);
      return;
    }
    if (fault === null) count(String(answer.status));
    json(res, answer.status, answer.body, answer.headers);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      count('error');
      if (!res.headersSent) json(res, 503, { error: `shop database: ${(error as Error).message}` });
      else res.destroy();
    });
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${options.host}:${address.port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
