/**
 * One pull of one REST source: from the committed cursor (records updated at or after it),
 * page after page in the source's paging style, each page checked (records.ts) and landed with
 * the cursor it reaches (lander.ts) before the next is asked for. The API must sort by the
 * updated-at column, ascending: a record older than one already landed in this pull means the
 * cursor could skip records, so the pull stops (API_UNORDERED) instead of landing a gap.
 */
import type pg from 'pg';

import { FatalPipelineError, ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { getWithRetries, RetryableAnswer, type Answer, type HttpPolicy } from './http.ts';
import { landPage, readCursor, type Cursor } from './lander.ts';
import { checkPage, recordSchema, type CheckedPage } from './records.ts';
import type { ApiSource } from './source-config.ts';

export interface PullSummary {
  source: string;
  pages: number;
  received: number;
  inserted: number;
  deadLetters: number;
  cursor: string | null;
}

/** `<url>; rel="next"` from a Link header, resolved against the page's URL. */
export function nextLink(header: string | null, base: string): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (match && /(^|;)\s*rel="?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(match[2]!)) return new URL(match[1]!, base).toString();
  }
  return null;
}

export function firstPageUrl(source: ApiSource, cursor: Cursor | null): string {
  const url = new URL(source.path.replace(/^\//, ''), source.baseUrl.endsWith('/') ? source.baseUrl : `${source.baseUrl}/`);
  for (const [name, value] of Object.entries(source.query)) url.searchParams.set(name, value);
  url.searchParams.set(source.limitParam, String(source.pageSize));
  if (cursor !== null) url.searchParams.set(source.sinceParam, cursor.value);
  if (source.paging === 'offset') url.searchParams.set(source.offsetParam, '0');
  return url.toString();
}

export interface PullOptions {
  token: string;
  policy: HttpPolicy;
  logger: Logger;
  signal: AbortSignal;
}

/** Pulls `source` until the API has nothing newer; `client` is a dedicated, checked-out client. */
export async function pullSource(client: pg.ClientBase, source: ApiSource, options: PullOptions): Promise<PullSummary> {
  const lock = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 727100271)) as ok', [
    `api/${source.name}`,
  ]);
  if (!lock.rows[0]!.ok)
    throw new FatalPipelineError('API_ALREADY_RUNNING', `another puller is pulling API source ${source.name}; let it finish`);
  try {
    return await pull(client, source, options);
  } finally {
    await client.query('select pg_advisory_unlock(hashtextextended($1, 727100271))', [`api/${source.name}`]).catch(() => undefined);
  }
}

async function pull(client: pg.ClientBase, source: ApiSource, options: PullOptions): Promise<PullSummary> {
  const schema = recordSchema(source);
  const headers: Record<string, string> = source.auth === 'bearer' ? { authorization: `Bearer ${options.token}` } : {};
  let cursor = await readCursor(client, source.name);
  const summary: PullSummary = { source: source.name, pages: 0, received: 0, inserted: 0, deadLetters: 0, cursor: cursor?.value ?? null };
  let url: string | null = firstPageUrl(source, cursor);
  let newestMs = cursor?.atMs ?? -Infinity;
  // Offset paging restarts every page at the newest instant seen, skipping the records already
  // seen at that instant: an offset counted from the start would shift when a record updated
  // during the pull moves to the end, and skip the record after the page boundary for good.
  const ties = { value: cursor?.value ?? null, atMs: cursor?.atMs ?? -Infinity, seen: 0 };

  while (url !== null && !options.signal.aborted) {
    const requested: string = url;
    const { page, answer } = await getWithRetries(
      requested,
      headers,
      options.policy,
      (a: Answer): { page: CheckedPage; answer: Answer } => {
        const checked = checkPage(source, schema, a.body);
        // A body that is not the declared shape was most likely cut short: ask again.
        if ('problem' in checked) throw new RetryableAnswer(checked.problem);
        return { page: checked, answer: a };
      },
      { logger: options.logger, signal: options.signal, what: `ingest:api ${source.name}` },
    );
    for (const record of page.good) {
      if (record.updatedAtMs < newestMs)
        throw new FatalPipelineError(
          'API_UNORDERED',
          `${source.name}: ${requested} served ${source.updatedAt} ${record.updatedAt} after a newer record; ` +
            `the API must sort by ${source.updatedAt} ascending (and honour ${source.sinceParam}) for an incremental pull`,
        );
      newestMs = record.updatedAtMs;
    }
    const landed = await landPage(client, source.name, requested, page.good, page.bad, cursor);
    cursor = landed.cursor;
    summary.pages++;
    summary.received += page.count;
    summary.inserted += landed.inserted;
    summary.deadLetters += landed.deadLetters;
    summary.cursor = cursor?.value ?? null;
    options.logger.debug({ source: source.name, url: requested, records: page.count, inserted: landed.inserted }, 'page landed');

    let previous = ties.atMs;
    page.instants.forEach((ms, i) => {
      const at = Number.isNaN(ms) ? previous : ms;
      if (at > ties.atMs) Object.assign(ties, { atMs: at, seen: 0, value: instantText(page, i, source) ?? ties.value });
      if (at === ties.atMs) ties.seen++;
      previous = at;
    });
    url = nextPage(source, requested, answer, page, ties);
  }
  return summary;
}

/** The updated-at of element `i` as the API wrote it (from the good record, or the bad one's field). */
function instantText(page: CheckedPage, i: number, source: ApiSource): string | null {
  const good = page.good.find((g) => g.index === i);
  if (good) return good.updatedAt;
  const column = source.columns.find((c) => c.name === source.updatedAt)!;
  const raw = (page.body[source.recordsField] as Record<string, unknown>[])[i]?.[column.field ?? column.name];
  return typeof raw === 'string' ? raw : null;
}

function nextPage(
  source: ApiSource,
  requested: string,
  answer: Answer,
  page: CheckedPage,
  ties: { value: string | null; seen: number },
): string | null {
  switch (source.paging) {
    case 'link':
      return nextLink(answer.headers.get('link'), answer.url);
    case 'offset': {
      if (page.count < source.pageSize) return null;
      const next = new URL(requested);
      if (ties.value !== null) next.searchParams.set(source.sinceParam, ties.value);
      next.searchParams.set(source.offsetParam, String(ties.seen));
      return next.toString();
    }
    case 'cursor': {
      const token = page.body[source.cursorField];
      if (token === null || token === undefined || token === '') return null;
      if (typeof token !== 'string' && typeof token !== 'number')
        throw new ShopflowError('API_BAD_RESPONSE', `${source.name}: ${source.cursorField} in ${requested} is not a string`);
      const next = new URL(requested);
      next.searchParams.set(source.cursorParam, String(token));
      return next.toString();
    }
  }
}
