import { describe, expect, it } from 'vitest';

import { admitBatch, type PartitionState } from '../../../ingest/kafka/admit.ts';
import { sampleMessage, seededRandom } from '../../../ingest/kafka/sample-events.ts';
import type { SourceBatch } from '../../../lib/kafka/source.ts';

const random = seededRandom(11);
const batch = (offsets: number[], fetchedOffset = offsets[0] ?? 0): SourceBatch => ({
  topic: 't',
  partition: 0,
  fetchedOffset: BigInt(fetchedOffset),
  highWatermark: 100n,
  messages: offsets.map((o) => {
    const m = sampleMessage(o, random);
    return { offset: BigInt(o), key: Buffer.from(m.key), value: Buffer.from(m.value as string), timestampMs: 1 };
  }),
});
const state = (next: number, logStart = 0): PartitionState => ({ committed: BigInt(next), next: BigInt(next), logStart: BigInt(logStart), highWatermark: 0n, generation: 1 });

describe('admitBatch', () => {
  it('makes a segment from the held position to the last offset', () => {
    const a = admitBatch(state(5), batch([5, 6, 7]), 1, 0);
    expect(a.kind).toBe('segment');
    if (a.kind !== 'segment') return;
    expect([a.segment.start, a.segment.end, a.segment.lines.length, a.skippedTo]).toEqual([5n, 8n, 3, null]);
  });

  it('skips records already held (a re-fetch after a restart or rebalance) instead of loading them twice', () => {
    const a = admitBatch(state(6), batch([4, 5, 6, 7]), 1, 0);
    expect(a.kind === 'segment' && [a.segment.start, a.segment.end, a.segment.lines.length]).toEqual([6n, 8n, 2]);
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
});
