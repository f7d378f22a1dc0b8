/**
 * Decides what a fetched batch means against what this process already holds for the
 * partition: new records (a segment), records already held (skip), or a batch that starts past
 * the expected offset (seek back, unless the log itself has a hole there). Pure, so the
 * exactly-once bookkeeping can be tested without a broker.
 */
import type { SourceBatch } from '../../lib/kafka/source.ts';
import type { Segment } from './buffer.ts';
import { decodeMessage, DEFAULT_MAX_KEY_BYTES, type DecodeLimits } from './decode.ts';
import { LineWriter, linePrefix, writeFastLine } from './fast-line.ts';

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

/** Where segments' COPY lines are written before each is copied out at its size (admitBatch is synchronous). */
const lines = new LineWriter();

export function admitBatch(
  state: PartitionState,
  batch: SourceBatch,
  generation: number,
  now: number,
  limits: DecodeLimits = { maxKeyBytes: DEFAULT_MAX_KEY_BYTES },
): Admission {
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
  const prefix = linePrefix(batch.topic, batch.partition);
  lines.pos = 0;
  const values: Buffer[] = [];
  const sourceEnds: number[] = [];
  const deadLetters: Segment['deadLetters'] = [];
  const timestampsMs: number[] = [];
  let sourceBytes = 0;
  let bytes = 0;
  let waitingSince = now;
  for (let i = first; i < messages.length; i++) {
    const message = messages[i]!;
    // An implausible producer clock (0, or years ahead) would only make the flush come sooner.
    if (message.timestampMs < waitingSince) waitingSince = message.timestampMs;
    timestampsMs.push(message.timestampMs);
    if (!writeFastLine(lines, prefix, message, limits)) {
      const decoded = decodeMessage(batch.topic, batch.partition, message, limits);
      if (!decoded.ok) {
        deadLetters.push(decoded.deadLetter);
        bytes += (message.value?.length ?? 0) + 256;
        continue;
      }
      lines.utf8(decoded.line);
    }
    // Admitted, so it has a value.
    values.push(message.value!);
    sourceBytes += message.value!.length;
    sourceEnds.push(sourceBytes);
  }
  const last = messages[messages.length - 1]!.offset;
  const copy = lines.take();
  // Copied: the client's buffers are views of a whole fetch response, which kept slices would pin.
  const sources = Buffer.concat(values, sourceBytes);
  return {
    kind: 'segment',
    skippedTo,
    segment: {
      partition: batch.partition,
      start: state.next,
      end: last + 1n,
      copy,
      sources,
      sourceEnds,
      events: sourceEnds.length,
      deadLetters,
      timestampsMs,
      bytes: bytes + copy.length + sources.length,
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
