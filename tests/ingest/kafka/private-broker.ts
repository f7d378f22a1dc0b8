/**
 * A Kafka broker of a test's own: the project's service code on a free port pair, with its own
 * data dir and the installed jars, for tests that stop, restart or misconfigure the broker (the
 * shared test broker serves every other test file at the same time).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Config } from '../../../lib/config/index.ts';
import { kafkaService } from '../../../scripts/services/kafka.ts';
import { testConfig } from '../../helpers/config.ts';

export interface PrivateBroker {
  config: Config;
  /** scripts/services/kafka.ts appends this file to the broker's generated settings. */
  extraPropertiesFile: string;
  up(): Promise<void>;
  down(): Promise<void>;
  /** Stops the broker if running and removes its data dir. */
  remove(): Promise<void>;
}

/** Listens on `port` (0: any) and closes again; resolves with the port, or undefined if taken. */
function probePort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.on('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

/** The broker listens on a port and its controller on the next one: find a free pair. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await probePort(0);
    if (port !== undefined && port < 65_000 && (await probePort(port + 1)) !== undefined) return port;
  }
}

/** Prepares (does not start) a broker; `env` overrides the test configuration. */
export async function privateBroker(name: string, env: Record<string, string>): Promise<PrivateBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), `shopflow-${name}-`));
  mkdirSync(join(dataDir, 'kafka'), { recursive: true });
  symlinkSync(join(testConfig().dataDir, 'kafka', 'lib'), join(dataDir, 'kafka', 'lib'));
  const port = await freePortPair();
  const loaded = testConfig({ ...env, SHOPFLOW_DATA_DIR: dataDir, KAFKA_BROKERS: `127.0.0.1:${port}` });
  const config: Config = { ...loaded, managed: { ...loaded.managed, kafka: true } };
  let running = false;
  return {
    config,
    extraPropertiesFile: join(dataDir, 'kafka', 'server.extra.properties'),
    async up() {
      await kafkaService.up(config);
      running = true;
    },
    async down() {
      await kafkaService.down(config);
      running = false;
    },
    async remove() {
      if (running) await kafkaService.down(config).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function writeBrokerProperties(broker: PrivateBroker, lines: string[]): void {
  writeFileSync(broker.extraPropertiesFile, `${lines.join('\n')}\n`);
}
