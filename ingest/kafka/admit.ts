/**
 * Decides what a fetched batch means against what this process already holds for the
 * partition: new records (a segment), records already held (skip), or a batch that starts past
 * the expected offset (seek back, unless the log itself has a hole there). Pure, so the
 * exactly-once bookkeeping can be tested without a broker.
 */
import type { SourceBatch } from '../../lib/kafka/source.ts';
import type { Segment } from './buffer.ts';
import { decodeMessage, type DecodeLimits } from './decode.ts';

export interface PartitionState {
  /** Next offset stored in the warehouse, as far as this process knows. */
  committed: bigint;
  /** Next offset this process expects to receive (committed + what is buffered or in flight). */
  next: bigint;
  /** Below this offset the log no longer has records (retention); a jump up to it is expected. */
  logStart: bigint;
  highWatermark: bigint;
  generation: number;
}

export type Admission =
  | { kind: 'segment'; segment: Segment; skippedTo: bigint | null }
  | { kind: 'held'; heldUpTo: bigint }
  | { kind: 'seek'; offset: bigint }
  | { kind: 'empty' };

export function admitBatch(state: PartitionState, batch: SourceBatch, generation: number, now: number, limits?: DecodeLimits): Admission {
  const { messages } = batch;
  if (messages.length === 0) return { kind: 'empty' };
  let first = 0;
  while (first < messages.length && messages[first]!.offset < state.next) first++;
  if (first === messages.length) return { kind: 'held', heldUpTo: state.next - 1n };
  const firstOffset = messages[first]!.offset;
  let skippedTo: bigint | null = null;
  if (firstOffset > state.next) {
    // A fetch that asked for exactly our position and still starts later found a real hole in
    // the log (transaction markers, compaction); so does a jump over records retention deleted.
    const holeInLog = batch.fetchedOffset === state.next || firstOffset <= state.logStart;
    if (!holeInLog) return { kind: 'seek', offset: state.next };
    skippedTo = firstOffset;
  }
  const lines: string[] = [];
  const sources: string[] = [];
  const deadLetters: Segment['deadLetters'] = [];
  const timestampsMs: number[] = [];
  let bytes = 0;
  let waitingSince = now;
  for (let i = first; i < messages.length; i++) {
    const message = messages[i]!;
    // An implausible producer clock (0, or years ahead) would only make the flush come sooner.
    if (message.timestampMs < waitingSince) waitingSince = message.timestampMs;
    const decoded = decodeMessage(batch.topic, batch.partition, message, limits);
    if (decoded.ok) {
      lines.push(decoded.line);
      sources.push(decoded.source);
    } else {
      deadLetters.push(decoded.deadLetter);
      bytes += (message.value?.length ?? 0) + 256;
    }
    timestampsMs.push(message.timestampMs);
  }
  const last = messages[messages.length - 1]!.offset;
  const copyText = lines.join('');
  const sourceText = sources.length === 0 ? '' : `${sources.join('\n')}\n`;
  return {
    kind: 'segment',
    skippedTo,
    segment: {
      partition: batch.partition,
      start: state.next,
      end: last + 1n,
      copyText,
      sourceText,
      events: lines.length,
      deadLetters,
      timestampsMs,
      bytes: bytes + copyText.length + sourceText.length,
      waitingSince,
      generation,
    },
  };
}

/**
 * A fetched batch in runs of at most `size` records (the batch itself when it is small enough).
 * A later run's `fetchedOffset` is where the run before it ended: the fetch covered that range,
 * so a gap inside it is a hole in the log, exactly as it would be in one piece.
 */
export function* slices(batch: SourceBatch, size: number): Generator<SourceBatch> {
  const { messages } = batch;
  if (messages.length <= size) {
    yield batch;
    return;
  }
  for (let from = 0; from < messages.length; from += size) {
    yield {
      ...batch,
      fetchedOffset: from === 0 ? batch.fetchedOffset : messages[from - 1]!.offset + 1n,
      messages: messages.slice(from, from + size),
    };
  }
}
