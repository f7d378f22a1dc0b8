/**
 * A batch's Kafka messages, kept as UTF-8 bytes in one buffer with their times and types in
 * typed arrays, not as strings and objects. A day holds tens of thousands of messages until its
 * batch is written; as JS strings they outlived young-generation collections, were copied
 * and promoted, and garbage collection took a fifth of a run. Here the strings die as soon as
 * they are encoded, and the bytes go to Kafka without being encoded again.
 *
 * Buffers come from a small free list: a written batch hands its buffer back (release()), so a
 * long run reuses a few buffers instead of leaving one per batch to the garbage collector.
 *
 * A log made with `bodies: false` keeps only each message's time and type: a run without a
 * Kafka sink still counts its events (and orders them for cutting days), but never builds or
 * encodes their JSON.
 */
export interface OutgoingMessage {
  /** Kafka key: the session id (or, for some malformed messages, whatever the anomaly sends). */
  key: string;
  value: string;
  /** event_time in ms, used to order a batch's messages. */
  time: number;
  /** Event type for the summary; `malformed` for injected bad messages. */
  type: string;
}

const INITIAL_BYTES = 1 << 20;
const INITIAL_MESSAGES = 4096;

const freeBuffers: Buffer[] = [];
/** A log being filled, one being written and one spare. */
const MAX_FREE_BUFFERS = 3;
/** The largest buffer a log has needed so far: new buffers are made this big at once. */
let largestNeeded = 0;

/**
 * The largest free buffer if it is big enough, else a new one as big as any log has needed
 * (so a log does not grow through 1, 2, 4, 8 MB again on every busy day, leaving each step to
 * the garbage collector).
 */
function takeBuffer(minBytes: number): Buffer {
  largestNeeded = Math.max(largestNeeded, minBytes);
  let largest = -1;
  for (let i = 0; i < freeBuffers.length; i++) if (largest < 0 || freeBuffers[i]!.length > freeBuffers[largest]!.length) largest = i;
  if (largest >= 0 && freeBuffers[largest]!.length >= minBytes) return freeBuffers.splice(largest, 1)[0]!;
  return Buffer.allocUnsafeSlow(largestNeeded);
}

/** Keeps the largest few buffers handed back. */
function giveBuffer(buffer: Buffer): void {
  if (freeBuffers.length < MAX_FREE_BUFFERS) {
    freeBuffers.push(buffer);
    return;
  }
  let smallest = 0;
  for (let i = 1; i < freeBuffers.length; i++) if (freeBuffers[i]!.length < freeBuffers[smallest]!.length) smallest = i;
  if (freeBuffers[smallest]!.length < buffer.length) freeBuffers[smallest] = buffer;
}

/** Event type names by code; a handful in practice (the event types, `duplicate`, `malformed`). */
const typeNames: string[] = [];
const typeCodes = new Map<string, number>();

function typeCode(type: string): number {
  let code = typeCodes.get(type);
  if (code === undefined) {
    code = typeNames.push(type) - 1;
    typeCodes.set(type, code);
  }
  return code;
}

export class MessageLog {
  /** False: times and types only (count()); the messages themselves are never built. */
  readonly hasBodies: boolean;
  #data: Buffer | null = null;
  #used = 0;
  /** Per message: start of its key in #data (the value follows the key), key and value byte lengths. */
  #start = new Uint32Array(INITIAL_MESSAGES);
  #keyBytes = new Uint32Array(INITIAL_MESSAGES);
  #valueBytes = new Uint32Array(INITIAL_MESSAGES);
  #time = new Float64Array(INITIAL_MESSAGES);
  #type = new Uint16Array(INITIAL_MESSAGES);
  #length = 0;

  constructor(options: { bodies?: boolean } = {}) {
    this.hasBodies = options.bodies ?? true;
  }

  get length(): number {
    return this.#length;
  }

  push(message: OutgoingMessage): void {
    if (!this.hasBodies) return this.count(message.time, message.type);
    this.#reserveBytes(3 * (message.key.length + message.value.length));
    if (this.#length === this.#start.length) this.#growIndex();
    const data = this.#data!;
    const i = this.#length++;
    const keyBytes = data.write(message.key, this.#used, 'utf8');
    const valueBytes = data.write(message.value, this.#used + keyBytes, 'utf8');
    this.#start[i] = this.#used;
    this.#keyBytes[i] = keyBytes;
    this.#valueBytes[i] = valueBytes;
    this.#time[i] = message.time;
    this.#type[i] = typeCode(message.type);
    this.#used += keyBytes + valueBytes;
  }

  /** Records a message by its time and type only (a log without bodies). */
  count(time: number, type: string): void {
    if (this.hasBodies) throw new Error('MessageLog.count: this log keeps message bodies; push() the message');
    if (this.#length === this.#start.length) this.#growIndex();
    const i = this.#length++;
    this.#time[i] = time;
    this.#type[i] = typeCode(type);
  }

  time(i: number): number {
    return this.#time[i]!;
  }

  type(i: number): string {
    return typeNames[this.#type[i]!]!;
  }

  key(i: number): string {
    this.#needBodies();
    return this.#data!.toString('utf8', this.#start[i]!, this.#start[i]! + this.#keyBytes[i]!);
  }

  value(i: number): string {
    this.#needBodies();
    const valueStart = this.#start[i]! + this.#keyBytes[i]!;
    return this.#data!.toString('utf8', valueStart, valueStart + this.#valueBytes[i]!);
  }

  valueBytes(i: number): number {
    return this.#valueBytes[i]!;
  }

  /** Message i as an object (decodes its strings; for the few messages anomalies rework). */
  get(i: number): OutgoingMessage {
    return { key: this.key(i), value: this.value(i), time: this.time(i), type: this.type(i) };
  }

  /**
   * Message i's key and value bytes, for a writer that copies them straight on:
   * `data[start, start + keyBytes)` is the key, the value follows it.
   */
  bytes(i: number): { data: Buffer; start: number; keyBytes: number; valueBytes: number } {
    this.#needBodies();
    return { data: this.#data!, start: this.#start[i]!, keyBytes: this.#keyBytes[i]!, valueBytes: this.#valueBytes[i]! };
  }

  /** Indexes in event-time order; ties keep push order, so a session stays in order. */
  ordered(): Uint32Array {
    const order = new Uint32Array(this.#length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const time = this.#time;
    // Typed-array sort is not guaranteed stable: the index breaks ties.
    return order.sort((a, b) => time[a]! - time[b]! || a - b);
  }

  /** A new log with the messages `keep` accepts, in order; this one is released. */
  filter(keep: (i: number) => boolean): MessageLog {
    const kept = new MessageLog({ bodies: this.hasBodies });
    for (let i = 0; i < this.#length; i++) {
      if (!keep(i)) continue;
      if (this.hasBodies) kept.push(this.get(i));
      else kept.count(this.time(i), this.type(i));
    }
    this.release();
    return kept;
  }

  /** Hands the byte buffer back for reuse; the log is empty afterwards. */
  release(): void {
    if (this.#data) giveBuffer(this.#data);
    this.#data = null;
    this.#used = 0;
    this.#length = 0;
  }

  #needBodies(): void {
    if (!this.hasBodies) throw new Error('MessageLog: this log keeps only times and types (made with bodies: false)');
  }

  #reserveBytes(atMost: number): void {
    const data = this.#data;
    if (data && this.#used + atMost <= data.length) return;
    const grown = takeBuffer(Math.max(INITIAL_BYTES, data ? data.length * 2 : 0, this.#used + atMost));
    if (data) {
      data.copy(grown, 0, 0, this.#used);
      giveBuffer(data);
    }
    this.#data = grown;
  }

  #growIndex(): void {
    const size = this.#start.length * 2;
    const grow = <T extends Uint32Array | Float64Array | Uint16Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.#start = grow(this.#start, (n) => new Uint32Array(n));
    this.#keyBytes = grow(this.#keyBytes, (n) => new Uint32Array(n));
    this.#valueBytes = grow(this.#valueBytes, (n) => new Uint32Array(n));
    this.#time = grow(this.#time, (n) => new Float64Array(n));
    this.#type = grow(this.#type, (n) => new Uint16Array(n));
  }
}
