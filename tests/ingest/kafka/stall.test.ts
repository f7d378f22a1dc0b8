/**
 * A stalled Postgres connection (packets black-holed, no error, no close) must not hang the
 * ingestor: the flush watchdog cuts it, ends the abandoned backend (which still holds the offset
 * row locks) and retries on a fresh connection, losing and duplicating nothing. The stall is made
 * by a TCP proxy between the ingestor and Postgres that stops forwarding on its open connections.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Config } from '../../../lib/config/index.ts';
import { createTestTopic, type TestTopic } from '../../helpers/kafka.ts';
import { testConfig } from '../../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { expectExactlyOnce, ingestor, landed, produceEvents } from './support.ts';

interface Pair {
  client: Socket;
  upstream: Socket;
  stalled: boolean;
}

/** Forwards to Postgres; stall() black-holes every connection open at that moment. */
function stallingProxy(target: URL): Promise<{ port: number; stall: () => number; close: () => void }> {
  const pairs = new Set<Pair>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(Number(target.port), target.hostname);
    const pair: Pair = { client, upstream, stalled: false };
    pairs.add(pair);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('data', (data) => void (pair.stalled || upstream.write(data)));
    upstream.on('data', (data) => void (pair.stalled || client.write(data)));
    // A black hole tells neither side anything: the server keeps its end (and its locks) open.
    client.on('close', () => {
      if (!pair.stalled) upstream.destroy();
    });
    upstream.on('close', () => {
      if (!pair.stalled) client.destroy();
    });
  });
  server.on('error', () => undefined);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as { port: number }).port,
        stall: () => {
          let n = 0;
          for (const pair of pairs) {
            if (pair.client.destroyed || pair.stalled) continue;
            pair.stalled = true;
            n++;
          }
          return n;
        },
        close: () => {
          for (const pair of pairs) {
            pair.client.destroy();
            pair.upstream.destroy();
          }
          server.close();
        },
      }),
    ),
  );
}

let warehouse: TestWarehouse;
let topic: TestTopic;
let proxy: Awaited<ReturnType<typeof stallingProxy>>;

beforeAll(async () => {
  warehouse = await createTestWarehouse('kafka_stall');
  topic = await createTestTopic('stall', 3);
  proxy = await stallingProxy(new URL(warehouse.adminUrl));
});

afterAll(async () => {
  proxy?.close();
  await topic?.delete();
  await warehouse?.drop();
});

describe('Kafka ingestor and a stalled Postgres connection', () => {
  it('cuts the stalled flush, ends its backend and carries on exactly once', async () => {
    const viaProxy = new URL(warehouse.adminUrl);
    viaProxy.port = String(proxy.port);
    const config: Config = testConfig({
      WAREHOUSE_URL: viaProxy.toString(),
      KAFKA_TOPIC: topic.topic,
      KAFKA_GROUP_ID: topic.groupId,
      KAFKA_PARTITIONS: '3',
    });
    const running = ingestor(config, { stopWhen: { mode: 'never' }, batchRows: 1_000, batchMaxMs: 100, flushTimeoutMs: 3_000 });
    const done = running.run();
    let failed: unknown;
    done.catch((error: unknown) => (failed = error));
    const count = async () => {
      const s = await landed(warehouse.adminUrl, topic.groupId, topic.topic);
      return s.events + s.deadLetters;
    };
    await produceEvents(config, topic.topic, 10_000, 31);
    for (let i = 0; (await count()) === 0; i++) {
      if (i > 300) throw new Error('nothing landed before the stall');
      await sleep(100);
    }
    // Stall while more is flowing, so a flush is caught mid-transaction.
    const producing = produceEvents(config, topic.topic, 10_000, 32);
    await sleep(300);
    const stalled = proxy.stall();
    await producing;
    for (let i = 0; (await count()) < 20_000; i++) {
      if (failed) throw failed;
      if (i > 900) throw new Error(`only ${await count()} of 20000 landed 90 s after the stall`);
      await sleep(100);
    }
    await running.stop();
    await done;
    expect(stalled).toBeGreaterThan(0);
    await expectExactlyOnce(warehouse.adminUrl, config, topic.topic, 20_000);
  });
});
