/**
 * Kafka messages for the contract parity tests (contract.unit.test.ts: the Python UDF;
 * contract-sql.test.ts: the Spark SQL form): each decider is run on the same messages as the
 * TypeScript ingestor's decodeMessage and must reach the same verdicts.
 */
import fc from 'fast-check';

import { boundedEvent, instant } from '../lib/events/arbitraries.ts';

export interface ContractMessage {
  kind: string;
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
}

/**
 * 600 messages from a fixed seed: valid events, events with one field rewritten as an edge case
 * of JSON (numbers as written, escapes, impossible dates, lone surrogates), any JSON at all, odd
 * keys, missing values and out-of-range timestamps.
 */
export function generatedMessages(): ContractMessage[] {
  const replacement = fc.oneof(
    fc.json({ maxDepth: 2 }),
    fc.integer().chain((n) => fc.constantFrom(`${n}`, `${n}.0`, `${n}e0`, `${n}.5`, `${n}.25`, `${n}.125`)),
    fc.constantFrom(
      '"a\\u0000"',
      '"\\ud800"',
      '"\\\\u0000"',
      '1e400',
      '-0',
      'null',
      'true',
      '"2026-02-30T00:00:00Z"',
      '"2026-03-01T10:00:00+24:00"',
    ),
    fc.string({ unit: 'grapheme', maxLength: 70 }).map((s) => JSON.stringify(s)),
  );
  const text = fc.oneof(
    { weight: 3, arbitrary: boundedEvent.map((e) => JSON.stringify(e)) },
    {
      weight: 6,
      arbitrary: fc
        .tuple(boundedEvent, replacement)
        .chain(([event, written]) =>
          fc
            .constantFrom(...Object.keys(event), 'extra')
            .map((field) => JSON.stringify({ ...event, [field]: '@@x@@' }).replace('"@@x@@"', written)),
        ),
    },
    { weight: 1, arbitrary: fc.json() },
  );
  const message = fc.record({
    kind: fc.constant('generated'),
    key: fc.oneof(
      fc.constant(null),
      fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 20 }).map((s) => Buffer.from(s)),
    ),
    value: fc.oneof({ weight: 9, arbitrary: text.map((t) => Buffer.from(t)) }, { weight: 1, arbitrary: fc.constant(null) }),
    timestampMs: fc.oneof({ weight: 8, arbitrary: instant }, { weight: 1, arbitrary: fc.constantFrom(-1, 0, 4_102_444_800_000, -5) }),
  });
  return fc.sample(message, { numRuns: 600, seed: 24 });
}
