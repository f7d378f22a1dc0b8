import { describe, expect, it } from 'vitest';

import { admitBatch, slices, type PartitionState } from '../../../ingest/kafka/admit.ts';
import { sampleMessage, seededRandom } from '../../../ingest/kafka/sample-events.ts';
import type { SourceBatch } from '../../../lib/kafka/source.ts';

const random = seededRandom(11);
const batch = (offsets: number[], fetchedOffset = offsets[0] ?? 0, timestampsMs: number[] = []): SourceBatch => ({
  topic: 't',
  partition: 0,
  fetchedOffset: BigInt(fetchedOffset),
  highWatermark: 100n,
  messages: offsets.map((o, i) => {
    const m = sampleMessage(o, random);
    return { offset: BigInt(o), key: Buffer.from(m.key), value: Buffer.from(m.value as string), timestampMs: timestampsMs[i] ?? 1 };
  }),
});
const state = (next: number, logStart = 0): PartitionState => ({
  committed: BigInt(next),
  next: BigInt(next),
  logStart: BigInt(logStart),
  highWatermark: 0n,
  generation: 1,
});

describe('admitBatch', () => {
  it('makes a segment from the held position to the last offset', () => {
    const a = admitBatch(state(5), batch([5, 6, 7]), 1, 0);
    expect(a.kind).toBe('segment');
    if (a.kind !== 'segment') return;
    expect([a.segment.start, a.segment.end, a.segment.events, a.skippedTo]).toEqual([5n, 8n, 3, null]);
  });

  it('skips records already held (a re-fetch after a restart or rebalance) instead of loading them twice', () => {
    const a = admitBatch(state(6), batch([4, 5, 6, 7]), 1, 0);
    expect(a.kind === 'segment' && [a.segment.start, a.segment.end, a.segment.events]).toEqual([6n, 8n, 2]);
    expect(admitBatch(state(9), batch([4, 5, 6]), 1, 0)).toEqual({ kind: 'held', heldUpTo: 8n });
  });

  it('seeks back when a batch fetched from elsewhere starts past the held position (Kafka offsets ahead of the warehouse)', () => {
    expect(admitBatch(state(3), batch([10, 11], 10), 1, 0)).toEqual({ kind: 'seek', offset: 3n });
  });

  it('accepts a hole the log itself has: the fetch asked for our position and records start later', () => {
    const a = admitBatch(state(3), batch([5, 6], 3), 1, 0);
    expect(a.kind === 'segment' && [a.segment.start, a.segment.end, a.skippedTo]).toEqual([3n, 7n, 5n]);
  });

  it('accepts the jump over records retention deleted before they were loaded', () => {
    const a = admitBatch(state(3, 50), batch([50, 51], 50), 1, 0);
    expect(a.kind === 'segment' && [a.segment.start, a.segment.end]).toEqual([3n, 52n]);
  });

  it('starts the age clock at the earliest producer timestamp, or at arrival if the producer clock runs ahead', () => {
    const waiting = (timestampsMs: number[], now: number) => {
      const a = admitBatch(state(0), batch([0, 1, 2], 0, timestampsMs), 1, now);
      return a.kind === 'segment' ? a.segment.waitingSince : undefined;
    };
    expect(waiting([1_300, 1_200, 1_250], 1_500)).toBe(1_200);
    expect(waiting([1_900, 2_000, 1_950], 1_500)).toBe(1_500);
    // A record without a timestamp (NaN) counts from its arrival.
    expect(waiting([Number.NaN, Number.NaN, Number.NaN], 1_500)).toBe(1_500);
  });

  it('cuts a batch into runs that admit exactly as the whole batch does, holes in the log included', () => {
    // Offsets 10..16 with a hole at 13 (a transaction marker, say), fetched from 10.
    const whole = batch([10, 11, 12, 14, 15, 16], 10);
    const runs = [...slices(whole, 2)];
    expect(runs.map((r) => [r.fetchedOffset, r.messages.map((m) => Number(m.offset))])).toEqual([
      [10n, [10, 11]],
      [12n, [12, 14]],
      [15n, [15, 16]],
    ]);
    const held = state(10);
    const ends = runs.map((run) => {
      const a = admitBatch(held, run, 1, 0);
      if (a.kind !== 'segment') throw new Error(`expected a segment, got ${a.kind}`);
      held.next = a.segment.end;
      return [a.segment.start, a.segment.end, a.segment.events];
    });
    expect(ends).toEqual([
      [10n, 12n, 2],
      [12n, 15n, 2],
      [15n, 17n, 2],
    ]);
    expect([...slices(whole, 6)]).toEqual([whole]);
  });
});
