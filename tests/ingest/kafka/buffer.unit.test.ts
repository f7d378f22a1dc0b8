import { describe, expect, it } from 'vitest';

import { SegmentBuffer, type Segment } from '../../../ingest/kafka/buffer.ts';

const segment = (partition: number, start: number, lines: number, waitingSince = 0): Segment => ({
  partition,
  start: BigInt(start),
  end: BigInt(start + lines),
  copy: Buffer.from(Array.from({ length: lines }, (_, i) => `row ${i}\n`).join('')),
  sources: Buffer.from(Array.from({ length: lines }, (_, i) => `{"row": ${i}}`).join('')),
  sourceEnds: Array.from({ length: lines }, (_, i) => (i + 1) * 10),
  events: lines,
  deadLetters: [],
  timestampsMs: [],
  bytes: lines * 10,
  waitingSince,
  generation: 1,
});

describe('SegmentBuffer', () => {
  it('hands out whole segments in arrival order, up to the batch size unless one segment alone is larger', () => {
    const buffer = new SegmentBuffer();
    buffer.push(segment(0, 0, 40, 5));
    buffer.push(segment(1, 0, 40, 6));
    buffer.push(segment(0, 40, 40, 7));
    expect([buffer.records, buffer.bytes]).toEqual([120, 1200]);
    expect(buffer.take(100).map((s) => [s.partition, s.start])).toEqual([
      [0, 0n],
      [1, 0n],
    ]);
    expect(buffer.take(10).map((s) => s.start)).toEqual([40n]);
    expect([buffer.isEmpty, buffer.records, buffer.bytes]).toEqual([true, 0, 0]);
  });

  it('counts the age bound from the longest-waiting record, whichever segment holds it', () => {
    const buffer = new SegmentBuffer();
    expect(buffer.oldestWaitingSince).toBeUndefined();
    // Partition 1's records were produced earlier, though they arrived after partition 0's.
    buffer.push(segment(0, 0, 10, 500));
    buffer.push(segment(1, 0, 10, 200));
    buffer.push(segment(0, 10, 10, 700));
    expect(buffer.oldestWaitingSince).toBe(200);
    buffer.take(20);
    expect(buffer.oldestWaitingSince).toBe(700);
  });

  it('forgets one partition (fenced or revoked) and keeps the counts right', () => {
    const buffer = new SegmentBuffer();
    buffer.push(segment(0, 0, 10));
    buffer.push(segment(1, 0, 20));
    buffer.push(segment(0, 10, 30));
    buffer.dropPartition(0);
    expect([buffer.records, buffer.bytes]).toEqual([20, 200]);
    buffer.clear();
    expect(buffer.isEmpty).toBe(true);
  });
});
