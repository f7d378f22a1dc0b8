/**
 * Key -> partition as Kafka's default partitioner picks it (murmur2 of the key's UTF-8 bytes,
 * sign bit cleared, modulo the partition count: the Java client's and kafkajs's rule), so a
 * producer that assigns partitions itself lands every key where any other keyed producer
 * would. Plain 32-bit arithmetic: the client library's version goes through a 64-bit integer
 * emulation and costs several times more.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[whole + 2]! << 16;
    if (tail >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export function keyPartitioner(partitions: number): (key: string) => number {
  return (key) => (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

/** The same rule over a key already encoded as UTF-8. */
export function keyBytesPartitioner(partitions: number): (key: Uint8Array) => number {
  return (key) => (murmur2(key) & 0x7fffffff) % partitions;
}
