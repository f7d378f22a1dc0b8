import { describe, expect, it } from 'vitest';

import { chunkLines } from '../../../ingest/shared/copy-stream.ts';
import { copyBytea, copyLine, copyNullable, copyText } from '../../../ingest/shared/copy-text.ts';

describe('COPY text encoding', () => {
  it('escapes the four characters COPY text format gives meaning to, and nothing else', () => {
    expect(copyText('plain "quoted" é')).toBe('plain "quoted" é');
    expect(copyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
  });

  it('writes NULL as \\N and bytea as escaped hex', () => {
    expect(copyNullable(null)).toBe('\\N');
    expect(copyNullable('x')).toBe('x');
    expect(copyBytea(Buffer.from([0, 255]))).toBe('\\\\x00ff');
    expect(copyLine(['a', '\\N'])).toBe('a\t\\N\n');
  });

  it('groups lines into chunks of about the requested size without splitting a line', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `${'x'.repeat(99)}${i % 10}\n`);
    const chunks = [...chunkLines(lines, 16 * 1024)];
    expect(chunks.join('')).toBe(lines.join(''));
    expect(chunks.length).toBe(Math.ceil((1000 * 101) / (16 * 1024 + 101)));
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(16 * 1024);
  });
});
