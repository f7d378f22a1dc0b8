/**
 * Kafka's record-batch compression codecs for kafkajs, which ships gzip only and refuses a batch
 * compressed with anything else: one snappy, lz4 or zstd batch (Kafka's console producer and
 * many Java producers write them) would stop its partition for good.
 *
 * Decompression is what the ingestor needs; every library here is pure JavaScript, so nothing
 * is built or downloaded at install time:
 * - snappy: snappyjs, plus the xerial framing Java producers wrap snappy blocks in;
 * - lz4: lz4js (the LZ4 frame format, which Kafka uses since message format v1);
 * - zstd: fzstd (decompression only; ShopFlow never produces zstd).
 */
import { createRequire } from 'node:module';

import { decompress as zstdDecompress } from 'fzstd';
import kafkajs from 'kafkajs';

// Named imports of these fail under Node's ESM loader: kafkajs builds them as member
// expressions, which the CommonJS export scanner does not see.
const { CompressionCodecs, CompressionTypes } = kafkajs;
const require = createRequire(import.meta.url);

interface SnappyJs {
  compress(input: Buffer): Buffer;
  uncompress(input: Buffer, maxLength?: number): Buffer;
}
interface Lz4Js {
  compress(input: Uint8Array): Uint8Array;
  decompress(input: Uint8Array): Uint8Array;
}
// Neither library ships types; these are the two functions of each that are used.
const snappy = require('snappyjs') as SnappyJs;
const lz4 = require('lz4js') as Lz4Js;

/** What kafkajs asks of a codec (its `CompressionCodecs` entries build one per use). */
export interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** `\x82SNAPPY\0`: the start of xerial's snappy stream framing (snappy-java's SnappyOutputStream). */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, then a 4-byte version and a 4-byte minimum compatible version. */
const XERIAL_HEADER_BYTES = 16;

/** Raw snappy (librdkafka, kafkajs-snappy) or xerial-framed chunks of it (the Java client). */
export function snappyDecompress(input: Buffer): Buffer {
  if (input.length < XERIAL_HEADER_BYTES || !input.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return snappy.uncompress(input);
  const chunks: Buffer[] = [];
  let at = XERIAL_HEADER_BYTES;
  while (at < input.length) {
    if (at + 4 > input.length) throw new Error(`truncated xerial snappy chunk header at byte ${at}`);
    const size = input.readUInt32BE(at);
    at += 4;
    if (at + size > input.length)
      throw new Error(`xerial snappy chunk of ${size} bytes at byte ${at} runs past the end (${input.length} bytes)`);
    chunks.push(snappy.uncompress(input.subarray(at, at + size)));
    at += size;
  }
  return Buffer.concat(chunks);
}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export const snappyCodec: KafkaCodec = {
  compress: async (encoder) => snappy.compress(encoder.buffer),
  decompress: async (buffer) => snappyDecompress(buffer),
};

export const lz4Codec: KafkaCodec = {
  compress: async (encoder) => asBuffer(lz4.compress(encoder.buffer)),
  decompress: async (buffer) => asBuffer(lz4.decompress(buffer)),
};

export const zstdCodec: KafkaCodec = {
  compress: () =>
    Promise.reject(new Error('zstd compression is not supported by ShopFlow (decompression only): produce with gzip, snappy or lz4')),
  decompress: async (buffer) => asBuffer(zstdDecompress(buffer)),
};

let registered = false;

/** Makes kafkajs read (and, except zstd, write) every codec Kafka has; idempotent. */
export function registerKafkaCodecs(): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = () => snappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstdCodec;
}
