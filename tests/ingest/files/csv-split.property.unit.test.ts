/**
 * The byte splitter (csv-split.ts) reads what csv-parse reads: on any records written in a
 * declared dialect, cut into chunks at arbitrary places, both give the same fields, start
 * lines and record end offsets, and refuse the same malformed files.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { csvParser, recordStartLine } from '../../../ingest/files/csv-rows.ts';
import { canSplitBytes, CsvSplitter, type CsvRecord } from '../../../ingest/files/csv-split.ts';
import { parseSourceConfig, type FileSource } from '../../../ingest/files/source-config.ts';

type Dialect = { delimiter: string; quote: string; escape: string; encoding: 'utf8' | 'latin1' };

function sourceOf(d: Dialect): FileSource {
  return parseSourceConfig(
    {
      sources: [{ name: 's', folder: '.', table: 't', keys: ['a'], columns: [{ name: 'a', type: 'text' }], csv: { header: false, ...d } }],
    },
    'test',
    '/',
  )[0]!;
}

/** `bytes` cut at the given offsets (sorted, deduplicated, inside the buffer). */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) pieces.push(bytes.subarray(from, p));
    from = p;
  }
  return pieces;
}

async function bySplitter(d: Dialect, chunks: Buffer[]): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  await pipeline(
    Readable.from(chunks),
    new CsvSplitter(d),
    new Writable({
      objectMode: true,
      write(batch: CsvRecord[], _encoding, done) {
        out.push(...batch);
        done();
      },
    }),
  );
  return out;
}

/** csv-parse's records in the splitter's shape (start line as the lander computes it). */
async function byCsvParse(d: Dialect, bytes: Buffer): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  let skew = 0;
  await pipeline(
    Readable.from([bytes]),
    csvParser(sourceOf(d)),
    new Writable({
      objectMode: true,
      write(chunk: { info: { lines: number; bytes: number }; record: string[] }, _encoding, done) {
        out.push({ line: recordStartLine(chunk.info.lines, chunk.record) - skew, end: chunk.info.bytes, fields: chunk.record });
        for (const f of chunk.record) skew += f.split('\r\n').length - 1;
        done();
      },
    }),
  );
  return out;
}

const outcome = (p: Promise<CsvRecord[]>) =>
  p.then(
    (records) => ({ records }),
    (error: unknown) => ({ error: (error as { code?: string }).code }),
  );

const dialect = fc
  .record({
    delimiter: fc.constantFrom(',', ';', '\t', '|'),
    quote: fc.constantFrom('"', "'"),
    backslashEscape: fc.boolean(),
    encoding: fc.constantFrom('utf8' as const, 'latin1' as const),
  })
  .map(({ backslashEscape, ...d }) => ({ ...d, escape: backslashEscape ? '\\' : d.quote }));

// Fields quoted the way an exporter writes them, lines ending in LF or CRLF, blank lines and a
// missing final line end; the fields hold every special character, line breaks included.
const fieldChar = fc.constantFrom('a', 'Z', '0', ' ', 'é', 'ß', '€', ',', ';', '\t', '|', '"', "'", '\\', '\n', '\r\n', 'x');
const field = fc.string({ unit: fieldChar, maxLength: 8 });
const rows = fc.array(fc.array(field, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 15 });

function serialize(records: string[][], d: Dialect, eols: string[], finalEol: boolean): string {
  const quoted = (f: string) => {
    if (!(f === '' || /[\n\r]/.test(f) || f.includes(d.delimiter) || f.includes(d.quote) || f.includes(d.escape))) return f;
    let inner = f;
    if (d.escape !== d.quote) inner = inner.replaceAll(d.escape, d.escape + d.escape);
    return `${d.quote}${inner.replaceAll(d.quote, d.escape + d.quote)}${d.quote}`;
  };
  return records
    .map((r, i) => r.map(quoted).join(d.delimiter) + (i < records.length - 1 || finalEol ? eols[i % eols.length]! : ''))
    .join('');
}

describe('the CSV byte splitter', () => {
  it('reads the same records, start lines and end offsets as csv-parse, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(
        dialect,
        rows,
        fc.array(fc.constantFrom('\n', '\r\n', '\n\n', '\r\n\r\n'), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (d, records, eols, finalEol, bom, cuts) => {
          // One line-end style per file: csv-parse takes the first it meets as the file's.
          const style = eols[0]!.startsWith('\r') ? '\r\n' : '\n';
          const sameStyle = eols.map((e) => e.replaceAll('\r\n', '\n').replaceAll('\n', style));
          const text = serialize(records, d, sameStyle, finalEol);
          const bytes = Buffer.concat([
            bom && d.encoding === 'utf8' ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0),
            Buffer.from(text, d.encoding),
          ]);
          expect(canSplitBytes(d)).toBe(true);
          const expected = await outcome(byCsvParse(d, bytes));
          expect(await outcome(bySplitter(d, cut(bytes, cuts)))).toEqual(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuses what csv-parse refuses: an unclosed quote, text after a closing quote, a quote inside an unquoted field', async () => {
    const d: Dialect = { delimiter: ',', quote: '"', escape: '"', encoding: 'utf8' };
    for (const [text, code] of [
      ['a,"b\nc,d\n', 'CSV_QUOTE_NOT_CLOSED'],
      ['a,"b"x,c\n', 'CSV_INVALID_CLOSING_QUOTE'],
      ['a,b"c,d\n', 'INVALID_OPENING_QUOTE'],
    ] as const) {
      const bytes = Buffer.from(text);
      expect(await outcome(byCsvParse(d, bytes))).toEqual({ error: code });
      for (let at = 0; at <= bytes.length; at++) expect(await outcome(bySplitter(d, cut(bytes, [at])))).toEqual({ error: code });
    }
  });

  it('leaves utf16le and non-ASCII delimiters to csv-parse', () => {
    expect(canSplitBytes({ delimiter: ',', quote: '"', escape: '"', encoding: 'utf16le' })).toBe(false);
    expect(canSplitBytes({ delimiter: '§', quote: '"', escape: '"', encoding: 'latin1' })).toBe(false);
  });
});
