/** The byte-backed message log: what goes in comes out, in a stable time order, across growth, filtering and buffer reuse. */
import { describe, expect, it } from 'vitest';

import type { OutgoingMessage } from '../../generator/world/batch.ts';
import { MessageLog } from '../../generator/world/message-log.ts';

function message(i: number, time: number): OutgoingMessage {
  return {
    key: `session-${i % 7}-ключ`,
    value: JSON.stringify({ i, text: 'ünïcødé 🔑'.repeat(i % 5), pad: 'x'.repeat(i % 300) }),
    time,
    type: i % 3 === 0 ? 'page_view' : 'malformed',
  };
}

function all(log: MessageLog): OutgoingMessage[] {
  return Array.from({ length: log.length }, (_, i) => log.get(i));
}

describe('MessageLog', () => {
  it('keeps keys, values, times and types across growth (past the first buffer and index size)', () => {
    const log = new MessageLog();
    const sent = Array.from({ length: 10_000 }, (_, i) => message(i, 1_000 + (i % 50)));
    for (const m of sent) log.push(m);
    expect(log.length).toBe(sent.length);
    expect(all(log)).toEqual(sent);
    const { data, start, keyBytes, valueBytes } = log.bytes(42);
    expect(data.toString('utf8', start, start + keyBytes)).toBe(sent[42]!.key);
    expect(data.toString('utf8', start + keyBytes, start + keyBytes + valueBytes)).toBe(sent[42]!.value);
    expect(log.valueBytes(42)).toBe(Buffer.byteLength(sent[42]!.value));
  });

  it('orders by time, ties in push order', () => {
    const log = new MessageLog();
    const times = [5, 3, 5, 1, 3, 5, 0, 1];
    times.forEach((t, i) => log.push(message(i, t)));
    expect(Array.from(log.ordered())).toEqual([6, 3, 7, 1, 4, 0, 2, 5]);
  });

  it('filter keeps the accepted messages in order; a released buffer serves the next log without leaking old bytes', () => {
    const log = new MessageLog();
    const sent = Array.from({ length: 500 }, (_, i) => message(i, i));
    for (const m of sent) log.push(m);
    const kept = log.filter((i) => i % 4 === 1);
    expect(log.length).toBe(0);
    expect(all(kept)).toEqual(sent.filter((_, i) => i % 4 === 1));

    kept.release();
    const next = new MessageLog();
    next.push(message(9_999, 1));
    expect(all(next)).toEqual([message(9_999, 1)]);
    expect(kept.length).toBe(0);
  });

  it('a log without bodies counts times and types (across growth and filtering) and refuses to hand out bodies', () => {
    const log = new MessageLog({ bodies: false });
    for (let i = 0; i < 5_000; i++) log.count(5_000 - i, i % 2 ? 'page_view' : 'order_placed');
    log.push(message(5_000, 0));
    expect(log.length).toBe(5_001);
    expect([log.time(1), log.type(1), log.type(5_000)]).toEqual([4_999, 'page_view', 'malformed']);
    expect(log.ordered()[0]).toBe(5_000);
    expect(() => log.get(0)).toThrow(/times and types/);
    expect(() => log.bytes(0)).toThrow(/times and types/);
    const kept = log.filter((i) => i < 10);
    expect([kept.length, kept.hasBodies, kept.time(9), kept.type(9)]).toEqual([10, false, 4_991, 'page_view']);
    expect(() => new MessageLog().count(1, 'page_view')).toThrow(/keeps message bodies/);
  });
});
