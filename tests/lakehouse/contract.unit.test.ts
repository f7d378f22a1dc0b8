/**
 * One clickstream contract, two deciders: the Kafka ingestor's (ingest/kafka/decode.ts) and the
 * lakehouse landing job's (lakehouse/shopflow_lake/contract.py, fed the contract by
 * lib/lakehouse/settings.ts). Every entry of the ingestor's bad-input corpus and a few hundred
 * generated messages go through both; each must land in both or be dead-lettered by both with
 * the same code, and a landed event must get the same event time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { decodeMessage } from '../../ingest/kafka/decode.ts';
import { boundedEvent } from '../lib/events/arbitraries.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { lakehousePaths } from '../../lib/lakehouse/paths.ts';
import { contractSpec } from '../../lib/lakehouse/settings.ts';
import { rawCorpus } from '../ingest/kafka/corpus.ts';
import { generatedMessages, type ContractMessage } from './contract-messages.ts';

type Record = ContractMessage;

interface PyVerdict {
  ok: boolean;
  code: string | null;
  reason: string | null;
  eventTimeUs: number | null;
}

const config = loadConfig({ ...process.env, KAFKA_MAX_KEY_BYTES: '64' });
const paths = lakehousePaths(config);
// contract.py needs only the standard library: the lakehouse venv when installed, else any python3.
const python = existsSync(paths.python) ? paths.python : 'python3';

function pythonVerdicts(records: Record[]): PyVerdict[] {
  const input = records
    .map((r) =>
      JSON.stringify({
        key: r.key === null ? null : r.key.toString('base64'),
        value: r.value === null ? null : r.value.toString('base64'),
        timestampMs: r.timestampMs,
      }),
    )
    .join('\n');
  const result = spawnSync(python, ['-m', 'shopflow_lake.contract_cli'], {
    cwd: paths.jobsDir,
    input: `${input}\n`,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '', SHOPFLOW_LAKE_SETTINGS: JSON.stringify({ contract: contractSpec(config) }) },
  });
  if (result.status !== 0) throw new Error(`contract_cli exited with ${result.status}: ${result.stderr}`);
  return result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as PyVerdict);
}

function typescriptVerdict(record: Record): { ok: boolean; code: string | null; eventTimeUs: number | null } {
  const decoded = decodeMessage(
    'shop.events',
    0,
    { offset: 0n, key: record.key, value: record.value, timestampMs: record.timestampMs },
    { maxKeyBytes: config.KAFKA_MAX_KEY_BYTES },
  );
  if (!decoded.ok) return { ok: false, code: decoded.deadLetter.code, eventTimeUs: null };
  const event = JSON.parse(record.value!.toString('utf8')) as { event_time: string };
  return { ok: true, code: null, eventTimeUs: Date.parse(event.event_time) * 1000 };
}

function compare(records: Record[]): void {
  const verdicts = pythonVerdicts(records);
  expect(verdicts).toHaveLength(records.length);
  const disagreements = records.flatMap((record, i) => {
    const ts = typescriptVerdict(record);
    const py = verdicts[i]!;
    const same = ts.ok === py.ok && ts.code === py.code && (!ts.ok || ts.eventTimeUs === py.eventTimeUs);
    return same ? [] : [{ kind: record.kind, value: record.value?.toString('utf8').slice(0, 300), typescript: ts, python: py }];
  });
  expect(disagreements).toEqual([]);
}

describe('the landing job applies the Kafka ingestor contract', () => {
  it('decides every corpus entry as the ingestor does', () => {
    const now = Date.now();
    const records = rawCorpus(config.KAFKA_MAX_KEY_BYTES).map((e) => ({
      kind: e.kind,
      key: e.key,
      value: e.value,
      timestampMs: e.timestampMs ?? now,
    }));
    // The corpus covers every dead-letter code the landing job can meet and several landed cases.
    expect(new Set(records.map((r) => typescriptVerdict(r).code)).size).toBeGreaterThan(8);
    compare(records);
  });

  it('decides generated messages as the ingestor does', () => {
    compare(generatedMessages());
  });

  // JSON.parse keeps a repeated member's last value, which the schema then checks; the number
  // spelling rule reads every copy in the text. The Python decider takes a shortcut for events
  // without repeated members, so these must take the other way and still agree.
  it('decides events with a member written twice as the ingestor does', () => {
    const written = ['1.999', '2e1', '7', '"7"', '{"x": 1.125}', '[1.5]', '[1.999]', 'null'];
    const records = fc
      .sample(fc.tuple(boundedEvent, fc.constantFrom(...written), fc.boolean()), { numRuns: 200, seed: 7 })
      .flatMap(([event, other, otherFirst]) =>
        Object.keys(event).map((field): Record => {
          const member = `"${field}": ${JSON.stringify(event[field as keyof typeof event])}`;
          const copy = `"${field}": ${other}`;
          const text = JSON.stringify(event).replace(/}$/, `, ${copy}}`);
          const value = otherFirst ? text.replace('{', `{${copy}, `).replace(`, ${copy}}`, `, ${member}}`) : text;
          return { kind: 'repeated member', key: null, value: Buffer.from(value), timestampMs: Date.now() };
        }),
      );
    // Both sides of the rule: some land, some are dead letters for their spelling.
    const codes = new Set(records.map((r) => typescriptVerdict(r).code));
    expect(codes).toContain(null);
    expect(codes).toContain('schema_violation');
    compare(records);
  });
});
