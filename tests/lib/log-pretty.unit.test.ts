/**
 * On a terminal a log record is one readable line: time, level, component, message, context;
 * an error shows its message and cause, and its stack only at debug level.
 */
import { describe, expect, it } from 'vitest';

import { prettyLine } from '../../lib/log-pretty.ts';
import { wantsPretty } from '../../lib/logger.ts';

const record = (extra: Record<string, unknown>) =>
  JSON.stringify({
    level: 40,
    time: '2026-12-06T06:01:02.345Z',
    pid: 1,
    hostname: 'h',
    name: 'ingest-cdc',
    component: 'ingest-cdc',
    msg: 'CDC interrupted',
    ...extra,
  });

describe('prettyLine', () => {
  it('writes time, level, component, message and context as key=value', () => {
    expect(prettyLine(record({ attempt: 2, delayMs: 750, source: 'shop db' }), { colour: false, stacks: false })).toBe(
      '06:01:02 WARN  ingest-cdc: CDC interrupted  attempt=2 delayMs=750 source="shop db"\n',
    );
  });

  it('shows an error by its message, code and cause; the stack only when asked', () => {
    const err = {
      type: 'Error',
      message: 'connect ECONNREFUSED 127.0.0.1:1',
      code: 'ECONNREFUSED',
      stack: 'Error: connect ECONNREFUSED\n    at x (y.ts:1:2)',
      cause: { message: 'socket closed' },
    };
    const plain = prettyLine(record({ err }), { colour: false, stacks: false });
    expect(plain).toBe(
      '06:01:02 WARN  ingest-cdc: CDC interrupted  err="connect ECONNREFUSED 127.0.0.1:1 [ECONNREFUSED] (cause: socket closed)"\n',
    );
    const debug = prettyLine(record({ err }), { colour: false, stacks: true });
    expect(debug).toContain('\nError: connect ECONNREFUSED\n    at x (y.ts:1:2)\n');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(prettyLine('not json', { colour: false, stacks: false })).toBe('not json\n');
  });
});

describe('wantsPretty', () => {
  it('is readable on a terminal, JSON when piped, and LOG_FORMAT forces either', () => {
    expect(wantsPretty('auto', { isTTY: true })).toBe(true);
    expect(wantsPretty('auto', { isTTY: false })).toBe(false);
    expect(wantsPretty('json', { isTTY: true })).toBe(false);
    expect(wantsPretty('pretty', { isTTY: false })).toBe(true);
  });
});
