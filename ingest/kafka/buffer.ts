/**
 * Decoded records waiting for the warehouse, in arrival order. A segment is one contiguous
 * offset range of one partition ([start, end)); every offset in it is either an event line or
 * a dead letter, so committing a segment's `end` accounts for every record it covers.
 */
import type { DeadLetter } from './decode.ts';

export interface Segment {
  partition: number;
  start: bigint;
  end: bigint;
  /**
   * The events as COPY text (UTF-8), one line each, written into one buffer as the segment is
   * made: off the JavaScript heap, so the garbage collector neither scans nor copies it.
   */
  copy: Buffer;
  /**
   * The events' message values back to back, in the order of `copy`; event i's value ends at
   * `sourceEnds[i]`. Only read when Postgres refuses a row, to dead-letter it with its exact bytes.
   */
  sources: Buffer;
  sourceEnds: number[];
  events: number;
  deadLetters: DeadLetter[];
  /** Producer timestamps of the records, for freshness figures. */
  timestampsMs: number[];
  bytes: number;
  /**
   * When its oldest record started waiting: the earliest producer timestamp, or the arrival
   * time if that is earlier (a producer clock running ahead). The age bound counts from here.
   */
  waitingSince: number;
  generation: number;
}

export class SegmentBuffer {
  #segments: Segment[] = [];
  #records = 0;
  #bytes = 0;

  get records(): number {
    return this.#records;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get isEmpty(): boolean {
    return this.#segments.length === 0;
  }

  /** When the longest-waiting record started waiting, or undefined if none waits. */
  get oldestWaitingSince(): number | undefined {
    let oldest: number | undefined;
    for (const segment of this.#segments) if (oldest === undefined || segment.waitingSince < oldest) oldest = segment.waitingSince;
    return oldest;
  }

  push(segment: Segment): void {
    this.#segments.push(segment);
    this.#records += recordsOf(segment);
    this.#bytes += segment.bytes;
  }

  /** Removes whole segments from the front until at least `maxRecords` are taken (or none are left). */
  take(maxRecords: number): Segment[] {
    const taken: Segment[] = [];
    let count = 0;
    while (this.#segments.length > 0 && (count === 0 || count + recordsOf(this.#segments[0]!) <= maxRecords)) {
      const segment = this.#segments.shift()!;
      taken.push(segment);
      count += recordsOf(segment);
      this.#records -= recordsOf(segment);
      this.#bytes -= segment.bytes;
    }
    return taken;
  }

  /** Forgets a partition's waiting segments (it was fenced or revoked; they will be read again). */
  dropPartition(partition: number): void {
    this.#keep((s) => s.partition !== partition);
  }

  clear(): void {
    this.#keep(() => false);
  }

  #keep(predicate: (segment: Segment) => boolean): void {
    this.#segments = this.#segments.filter(predicate);
    this.#records = this.#segments.reduce((n, s) => n + recordsOf(s), 0);
    this.#bytes = this.#segments.reduce((n, s) => n + s.bytes, 0);
  }
}

export function recordsOf(segment: Segment): number {
  return segment.events + segment.deadLetters.length;
}
