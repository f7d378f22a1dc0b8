/**
 * The page checks of the REST puller without a network: the records array's element spans are
 * the exact bytes of each element (whatever the whitespace, nesting and escapes), records are
 * validated and canonicalised by the schema built from the columns, and the paging helpers
 * (Link header, Retry-After, the first page's URL) read what servers send.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { retryAfterMs } from '../../../ingest/api/http.ts';
import { firstPageUrl, nextLink } from '../../../ingest/api/puller.ts';
import { arrayElementSpans, checkPage, recordSchema } from '../../../ingest/api/records.ts';
import { parseApiConfig } from '../../../ingest/api/source-config.ts';
import { ConfigError } from '../../../lib/errors.ts';

const source = parseApiConfig(
  {
    sources: [
      {
        name: 'orders',
        baseUrl: 'http://127.0.0.1:8787/api',
        path: '/v1/orders',
        query: { paging: 'cursor' },
        paging: 'cursor',
        pageSize: 2,
        updatedAt: 'updated_at',
        keys: ['order_id'],
        columns: [
          { name: 'order_id', type: 'integer' },
          { name: 'total', type: 'numeric', field: 'total_amount' },
          { name: 'paid', type: 'boolean', nullable: false },
          { name: 'note', type: 'text' },
          { name: 'updated_at', type: 'timestamp' },
        ],
      },
    ],
  },
  'test',
)[0]!;

describe('arrayElementSpans', () => {
  it("finds each element's exact bytes in any JSON object body", () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 8 }),
        fc.dictionary(
          fc.string().filter((k) => k !== 'data'),
          fc.jsonValue(),
          { maxKeys: 3 },
        ),
        fc.constantFrom('', ' ', '\n  ', '\t'),
        (elements, others, space) => {
          const body = Buffer.from(JSON.stringify({ ...others, data: elements, after: others }, null, space));
          const spans = arrayElementSpans(body, 'data');
          expect(spans).not.toBeNull();
          expect(spans!.map((s) => JSON.parse(body.subarray(s.start, s.end).toString('utf8')) as unknown)).toEqual(
            JSON.parse(JSON.stringify(elements)) as unknown[],
          );
          for (const s of spans!) expect(/^\s|\s$/.test(body.subarray(s.start, s.end).toString('utf8'))).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ignores a nested key of the same name and says null when the array is missing', () => {
    const body = Buffer.from('{"meta": {"data": [9]}, "data": [ {"a": "]},["}, 2 ]}');
    expect(arrayElementSpans(body, 'data')!.map((s) => body.subarray(s.start, s.end).toString())).toEqual(['{"a": "]},["}', '2']);
    expect(arrayElementSpans(Buffer.from('{"rows": []}'), 'data')).toBeNull();
  });
});

describe('checkPage', () => {
  it('canonicalises good records and keeps the exact bytes and the reason of bad ones', () => {
    const bad = '{"order_id": 2, "total_amount": "1,5", "paid": "yes", "updated_at": "2026-01-02T00:00:00Z"}';
    const body = Buffer.from(
      `{"data": [{"order_id": "+1", "total_amount": 10.5, "paid": true, "extra": [1], "updated_at": "2026-01-02T03:04:05.678+01:00"},\n ${bad}], "next_cursor": "abc"}`,
    );
    const page = checkPage(source, recordSchema(source), body);
    if ('problem' in page) throw new Error(page.problem);
    expect(page.count).toBe(2);
    expect(page.good).toHaveLength(1);
    expect(page.good[0]).toMatchObject({
      key: '["1"]',
      updatedAt: '2026-01-02T03:04:05.678+01:00',
      updatedAtMs: Date.parse('2026-01-02T02:04:05.678Z'),
      record: { order_id: '1', total: '10.5', paid: true, note: null, updated_at: '2026-01-02T03:04:05.678+01:00' },
    });
    expect(page.bad).toHaveLength(1);
    expect(page.bad[0]!.bytes.toString()).toBe(bad);
    expect(page.bad[0]!.reason).toMatch(/total_amount is not a number.*paid is not a JSON boolean/);
    expect(page.bad[0]!.key).toBe(2);
  });

  it('calls a body cut short or of another shape a problem (retried), not bad records', () => {
    const schema = recordSchema(source);
    expect(checkPage(source, schema, Buffer.from('{"data": [{"order_id": 1'))).toMatchObject({
      problem: expect.stringMatching(/not JSON/),
    });
    expect(checkPage(source, schema, Buffer.from('[]'))).toMatchObject({ problem: 'the body is not a JSON object' });
    expect(checkPage(source, schema, Buffer.from('{"rows": []}'))).toMatchObject({ problem: 'the body has no array "data"' });
  });

  it('refuses a record without its key or updated-at, and a timestamp without a zone', () => {
    const body = Buffer.from(
      '{"data": [{"paid": true, "updated_at": "2026-01-02T00:00:00Z"}, {"order_id": 3, "paid": false, "updated_at": "2026-01-02 00:00:00"}]}',
    );
    const page = checkPage(source, recordSchema(source), body);
    if ('problem' in page) throw new Error(page.problem);
    expect(page.bad.map((b) => b.reason)).toEqual([
      expect.stringMatching(/^order_id /),
      expect.stringMatching(/^updated_at is not an ISO 8601 instant/),
    ]);
  });
});

describe('paging helpers', () => {
  it('reads rel="next" from a Link header among other relations, relative to the page', () => {
    const base = 'http://api.local/v1/orders?limit=2';
    expect(nextLink('<https://api.local/v1/orders?page=1>; rel="prev", </v1/orders?cursor=x>; rel="next"', base)).toBe(
      'http://api.local/v1/orders?cursor=x',
    );
    expect(nextLink('<a>; rel="last"', base)).toBeNull();
    expect(nextLink(null, base)).toBeNull();
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeNull();
  });

  it('starts at the cursor, with the fixed query, under the base URL', () => {
    expect(firstPageUrl(source, { value: '2026-01-02T00:00:00.000Z', atMs: 0 })).toBe(
      'http://127.0.0.1:8787/api/v1/orders?paging=cursor&limit=2&updated_since=2026-01-02T00%3A00%3A00.000Z',
    );
  });

  it('refuses a config whose cursor column is not a declared timestamp', () => {
    expect(() =>
      parseApiConfig(
        {
          sources: [
            {
              name: 'x',
              baseUrl: 'ftp://h',
              path: '/r',
              paging: 'offset',
              updatedAt: 'id',
              keys: ['id'],
              columns: [{ name: 'id', type: 'integer' }],
            },
          ],
        },
        'bad.yaml',
      ),
    ).toThrow(ConfigError);
    expect(() =>
      parseApiConfig(
        {
          sources: [
            {
              name: 'x',
              baseUrl: 'ftp://h',
              path: '/r',
              paging: 'offset',
              updatedAt: 'id',
              keys: ['id'],
              columns: [{ name: 'id', type: 'integer' }],
            },
          ],
        },
        'bad.yaml',
      ),
    ).toThrow(/sources\[0\]\.baseUrl: baseUrl must be an http.*sources\[0\]\.updatedAt: updatedAt "id" must be a timestamp column/);
  });
});
