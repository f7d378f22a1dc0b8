/**
 * Any records written in a declared CSV dialect (delimiter, quote, encoding, line ending) read
 * back as the same fields, each on the line it starts on: the options reach csv-parse as
 * declared, and the start-line arithmetic holds for fields with line breaks inside.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { csvParser, recordStartLine } from '../../../ingest/files/csv-rows.ts';
import { parseSourceConfig } from '../../../ingest/files/source-config.ts';

const dialect = fc.record({
  delimiter: fc.constantFrom(',', ';', '\t', '|'),
  quote: fc.constantFrom('"', "'"),
  encoding: fc.constantFrom('utf8' as const, 'latin1' as const),
  eol: fc.constantFrom('\n', '\r\n'),
});

// Printable text, the dialect's special characters and LF inside fields; no CR or NUL, and
// only Latin-1 so both encodings can carry it.
const fieldChar = fc.constantFrom('a', 'Z', '0', ' ', 'é', 'ß', ',', ';', '\t', '|', '"', "'", '\n', 'x');
const field = fc.string({ unit: fieldChar, maxLength: 8 });
const records = fc.array(fc.array(field, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 20 });

function serialize(rows: string[][], d: { delimiter: string; quote: string; eol: string }): { text: string; startLines: number[] } {
  let line = 1;
  const startLines: number[] = [];
  const out = rows.map((row) => {
    startLines.push(line);
    const text = row
      .map((f) =>
        f === '' || /[\n\r]/.test(f) || f.includes(d.delimiter) || f.includes(d.quote) || f.trim() !== f
          ? `${d.quote}${f.replaceAll(d.quote, d.quote + d.quote)}${d.quote}`
          : f,
      )
      .join(d.delimiter);
    line += 1 + (text.match(/\n/g)?.length ?? 0);
    return text;
  });
  return { text: out.join(d.eol) + d.eol, startLines };
}

describe('CSV dialect options', () => {
  it('read back any records written in the declared dialect, with their start lines', async () => {
    await fc.assert(
      fc.asyncProperty(dialect, records, async (d, rows) => {
        const [source] = parseSourceConfig(
          {
            sources: [
              {
                name: 's',
                folder: '.',
                table: 't',
                keys: ['a'],
                columns: [{ name: 'a', type: 'text' }],
                csv: { header: false, delimiter: d.delimiter, quote: d.quote, escape: d.quote, encoding: d.encoding },
              },
            ],
          },
          'test',
          '/',
        );
        const { text, startLines } = serialize(rows, d);
        const parsed: { line: number; fields: string[] }[] = [];
        await pipeline(
          Readable.from([Buffer.from(text, d.encoding)]),
          csvParser(source!),
          new Writable({
            objectMode: true,
            write(chunk: { info: { lines: number }; record: string[] }, _encoding, done) {
              parsed.push({ line: recordStartLine(chunk.info.lines, chunk.record), fields: chunk.record });
              done();
            },
          }),
        );
        expect(parsed.map((p) => p.fields)).toEqual(rows);
        expect(parsed.map((p) => p.line)).toEqual(startLines);
      }),
      { numRuns: 300 },
    );
  });
});
