/**
 * Messages encoded to UTF-8 as they are queued, into one growing byte buffer per request. The
 * buffer is handed to a producer thread without copying (transferred), and the strings it was
 * built from die young instead of waiting in the heap for a request to fill.
 */
export interface EncodedMessages {
  /** Keys and values back to back: key 0, value 0, key 1, value 1, ... */
  data: ArrayBuffer;
  /** Byte lengths: key 0, value 0, key 1, value 1, ... */
  lengths: Uint32Array<ArrayBuffer>;
}

export class MessageBuffer {
  #data: Buffer;
  #lengths: Uint32Array<ArrayBuffer>;
  #bytes = 0;
  #count = 0;

  constructor(initialBytes = 256 * 1024, initialMessages = 1024) {
    this.#data = Buffer.allocUnsafeSlow(initialBytes);
    this.#lengths = new Uint32Array(2 * initialMessages);
  }

  get count(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  append(key: string, value: string): void {
    this.#reserve(key.length * 3 + value.length * 3);
    const keyBytes = this.#data.write(key, this.#bytes, 'utf8');
    const valueBytes = this.#data.write(value, this.#bytes + keyBytes, 'utf8');
    this.#bytes += keyBytes + valueBytes;
    if (2 * this.#count + 2 > this.#lengths.length) {
      const grown = new Uint32Array(this.#lengths.length * 2);
      grown.set(this.#lengths);
      this.#lengths = grown;
    }
    this.#lengths[2 * this.#count] = keyBytes;
    this.#lengths[2 * this.#count + 1] = valueBytes;
    this.#count++;
  }

  /** The queued messages (exactly sized copies); the buffer starts over empty. */
  take(): EncodedMessages {
    const data = new ArrayBuffer(this.#bytes);
    new Uint8Array(data).set(this.#data.subarray(0, this.#bytes));
    const lengths = this.#lengths.slice(0, 2 * this.#count);
    this.#bytes = 0;
    this.#count = 0;
    return { data, lengths };
  }

  #reserve(atMost: number): void {
    if (this.#bytes + atMost <= this.#data.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.#data.length * 2, this.#bytes + atMost));
    this.#data.copy(grown, 0, 0, this.#bytes);
    this.#data = grown;
  }
}

/** The messages of an EncodedMessages as Buffers over its bytes (no copy). */
export function decodeMessages(encoded: EncodedMessages): { key: Buffer; value: Buffer }[] {
  const data = Buffer.from(encoded.data);
  const count = encoded.lengths.length / 2;
  const out = new Array<{ key: Buffer; value: Buffer }>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const keyEnd = offset + encoded.lengths[2 * i]!;
    const valueEnd = keyEnd + encoded.lengths[2 * i + 1]!;
    out[i] = { key: data.subarray(offset, keyEnd), value: data.subarray(keyEnd, valueEnd) };
    offset = valueEnd;
  }
  return out;
}
