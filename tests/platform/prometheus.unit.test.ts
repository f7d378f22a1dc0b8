/**
 * The Prometheus side: the alert rules pass `promtool test rules` (docker/prometheus/rules.test.yml),
 * every series the rules read is one the code exports, and a /metrics endpoint serves the
 * ingestors' and the scheduler's series by their Prometheus names.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { ingestMetrics } from '../../lib/metrics/ingest.ts';
import { createRegistry, serveMetrics } from '../../lib/metrics/server.ts';
import { ROOT_DIR } from '../../lib/root.ts';
import { schedulerMetrics } from '../../scheduler/metrics.ts';

const DIR = join(ROOT_DIR, 'docker', 'prometheus');
const logger = pino({ level: 'silent' });

describe('alert rules', () => {
  it('pass promtool test rules (ingestion stalled, lag growing, dead letters spiking, gate failed, report not sent by 08:15)', () => {
    const run = spawnSync('promtool', ['test', 'rules', 'rules.test.yml'], { cwd: DIR, encoding: 'utf8', timeout: 60_000 });
    if (run.error) throw new Error(`promtool not found (${run.error.message}): \`npm run setup\` installs Debian's prometheus package`);
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('SUCCESS');
    const rules = readFileSync(join(DIR, 'rules.yml'), 'utf8');
    for (const alert of ['IngestionStalled', 'KafkaLagGrowing', 'DeadLettersSpiking', 'GateFailed', 'ReportNotSent'])
      expect(rules).toContain(`alert: ${alert}`);
  });

  it('read only series the code exports', () => {
    const registries = [new Registry(), new Registry(), new Registry()];
    ingestMetrics(registries[0]!, 'kafka');
    ingestMetrics(registries[1]!, 'cdc');
    schedulerMetrics(registries[2]!);
    const exported = new Set(registries.flatMap((r) => r.getMetricsAsArray().map((m) => m.name)));
    const used = new Set([...readFileSync(join(DIR, 'rules.yml'), 'utf8').matchAll(/\b(shopflow_[a-z_]+)/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(exported, name).toContain(name);
  });
});

describe('/metrics', () => {
  it('serves the ingest series with Prometheus names and units', async () => {
    const endpoint = await serveMetrics(createRegistry('ingest-kafka'), { enabled: true, host: '127.0.0.1', port: 0, logger });
    try {
      const meter = ingestMetrics(endpoint.registry, 'kafka', { topic: 'shop.events', group: 'g' });
      meter.batch({ rows: 120, deadLettersByCode: { schema_violation: 2 }, durationSeconds: 0.04, freshnessSeconds: 0.3 });
      meter.consumerLag(7);
      const text = await (await fetch(`http://127.0.0.1:${endpoint.port}/metrics`)).text();
      expect(text).toMatch(/^shopflow_ingest_rows_total\{source="kafka",component="ingest-kafka"\} 120$/m);
      expect(text).toMatch(/^shopflow_ingest_dead_letters_total\{source="kafka",code="schema_violation",component="ingest-kafka"\} 2$/m);
      expect(text).toMatch(/^shopflow_ingest_batch_duration_seconds_bucket\{le="0.05",component="ingest-kafka",source="kafka"\} 1$/m);
      expect(text).toMatch(/^shopflow_ingest_kafka_consumer_lag_messages\{topic="shop.events",group="g",component="ingest-kafka"\} 7$/m);
      expect(text).toMatch(/^shopflow_ingest_last_batch_timestamp_seconds\{source="kafka",component="ingest-kafka"\} \d+(\.\d+)?$/m);
      expect(text).toMatch(/^process_cpu_seconds_total\{component="ingest-kafka"\} /m);
      expect((await fetch(`http://127.0.0.1:${endpoint.port}/other`)).status).toBe(404);
    } finally {
      await endpoint.close();
    }
  });

  it('is off unless enabled, and a taken port costs only the metrics', async () => {
    const off = await serveMetrics(new Registry(), { enabled: false, host: '127.0.0.1', port: 0, logger });
    expect(off.port).toBeNull();
    const first = await serveMetrics(new Registry(), { enabled: true, host: '127.0.0.1', port: 0, logger });
    try {
      const second = await serveMetrics(new Registry(), { enabled: true, host: '127.0.0.1', port: first.port!, logger });
      expect(second.port).toBeNull();
    } finally {
      await first.close();
    }
  });
});
