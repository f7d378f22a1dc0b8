import { describe, expect, it } from 'vitest';

import { stepOverNonData, totalRemaining } from '../../../ingest/kafka/offsets.ts';

const marks = [
  { partition: 0, low: 0n, high: 41n },
  { partition: 1, low: 5n, high: 20n },
];

describe('stepOverNonData', () => {
  it('moves a position past a run of records without data that starts at or before it', () => {
    const stored = new Map([[0, 40n]]);
    const positions = stepOverNonData([0], stored, marks, () => ({ from: 40n, next: 41n }));
    expect(positions.get(0)).toBe(41n);
    expect(totalRemaining([0], positions, marks)).toBe(0n);
    // The stored map itself is left as it was.
    expect(stored.get(0)).toBe(40n);
  });

  it('leaves a position alone when records between it and the run may still hold data', () => {
    const positions = stepOverNonData([0], new Map([[0, 30n]]), marks, () => ({ from: 40n, next: 41n }));
    expect(positions.get(0)).toBe(30n);
    expect(totalRemaining([0], positions, marks)).toBe(11n);
  });

  it('never moves a position back, and starts a partition never stored at its log start', () => {
    expect(stepOverNonData([0], new Map([[0, 41n]]), marks, () => ({ from: 38n, next: 40n })).get(0)).toBe(41n);
    // Partition 1 holds only an aborted transaction from its log start: nothing to load.
    const positions = stepOverNonData([1], new Map(), marks, () => ({ from: 5n, next: 20n }));
    expect(totalRemaining([1], positions, marks)).toBe(0n);
    expect(stepOverNonData([1], new Map(), marks, () => ({ from: 6n, next: 20n })).get(1)).toBeUndefined();
  });

  it('changes nothing without a run', () => {
    expect(stepOverNonData([0, 1], new Map([[0, 40n]]), marks, () => undefined)).toEqual(new Map([[0, 40n]]));
  });
});
