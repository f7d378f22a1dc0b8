/**
 * The snappy framing Java producers write (xerial: a magic header, then length-prefixed snappy
 * blocks) and raw snappy alike; lz4 frames. Kafka's console producer writes real batches of
 * every codec in tests/ingest/kafka/corpus.test.ts; this pins the framing edge cases.
 */
import { describe, expect, it } from 'vitest';

import { lz4Codec, snappyCodec, snappyDecompress, zstdCodec } from '../../../lib/kafka/kafkajs-codecs.ts';

const XERIAL_HEADER = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);

function xerial(...chunks: Buffer[]): Buffer {
  const parts: Buffer[] = [XERIAL_HEADER];
  for (const chunk of chunks) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(chunk.length);
    parts.push(length, chunk);
  }
  return Buffer.concat(parts);
}

describe('Kafka codecs', () => {
  const text = Buffer.from('{"event_type":"page_view"}'.repeat(200));

  it('reads raw snappy and xerial-framed snappy of several chunks', async () => {
    const a = await snappyCodec.compress({ buffer: text.subarray(0, 1000) });
    const b = await snappyCodec.compress({ buffer: text.subarray(1000) });
    expect(await snappyCodec.decompress(a)).toEqual(text.subarray(0, 1000));
    expect(snappyDecompress(xerial(a, b))).toEqual(text);
    expect(snappyDecompress(xerial())).toEqual(Buffer.alloc(0));
  });

  it('refuses truncated xerial framing with the byte where it ends', () => {
    const framed = xerial(Buffer.from([1, 2, 3, 4]));
    expect(() => snappyDecompress(framed.subarray(0, framed.length - 2))).toThrow(/runs past the end/);
    expect(() => snappyDecompress(Buffer.concat([XERIAL_HEADER, Buffer.from([0, 0])]))).toThrow(/truncated/);
  });

  it('round-trips lz4 frames and names zstd compression as unsupported', async () => {
    expect(await lz4Codec.decompress(await lz4Codec.compress({ buffer: text }))).toEqual(text);
    await expect(zstdCodec.compress({ buffer: text })).rejects.toThrow(/decompression only/);
  });
});
