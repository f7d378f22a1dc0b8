/**
 * The demo rebuilds its own world each run, so a second `npm run demo` gives the same result as
 * the first: the shop database, the clickstream topic and the warehouse database are recreated.
 * It refuses to touch services the project does not manage unless told to with --reset.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import mysql from 'mysql2/promise';
import pg from 'pg';

import type { Config } from '../../lib/config/index.ts';
import { UsageError } from '../../lib/errors.ts';
import { withKafkaAdmin } from '../../lib/kafka/admin.ts';
import { migrate } from '../../lib/warehouse/migrate.ts';

export function assertResetAllowed(config: Config, allowExternal: boolean): void {
  const external = Object.entries(config.managed)
    .filter(([service, managed]) => !managed && service !== 'smtp')
    .map(([service]) => service);
  if (external.length > 0 && !allowExternal) {
    throw new UsageError(
      `the demo recreates the shop database, the ${config.KAFKA_TOPIC} topic and the warehouse database, ` +
        `and ${external.join(', ')} ${external.length > 1 ? 'are' : 'is'} configured as external. ` +
        'Run `npm run demo -- --reset` to allow that, or unset the URLs to use the local services.',
    );
  }
}

export async function resetShopDatabase(config: Config): Promise<void> {
  const url = new URL(config.SHOP_DB_URL);
  const database = decodeURIComponent(url.pathname.slice(1)) || 'shop';
  url.pathname = '/';
  const connection = await mysql.createConnection({ uri: url.toString(), multipleStatements: false });
  connection.on('error', () => undefined);
  try {
    await connection.query(`DROP DATABASE IF EXISTS \`${database.replace(/`/g, '``')}\``);
    await connection.query(`CREATE DATABASE \`${database.replace(/`/g, '``')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await connection.end();
  }
}

export async function resetTopic(config: Config): Promise<void> {
  await withKafkaAdmin(config.KAFKA_BROKERS, async (admin) => {
    const topics = await admin.listTopics();
    if (!topics.includes(config.KAFKA_TOPIC)) return;
    await admin.deleteTopics([config.KAFKA_TOPIC], 30_000);
    // Deletion completes asynchronously on the broker; wait until the name is free again.
    for (let attempt = 0; attempt < 60; attempt++) {
      if (!(await admin.listTopics()).includes(config.KAFKA_TOPIC)) return;
      await sleep(500);
    }
    throw new Error(`Kafka topic ${config.KAFKA_TOPIC} was not deleted within 30 s`);
  });
}

export async function resetWarehouse(config: Config): Promise<void> {
  const url = new URL(config.WAREHOUSE_URL);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), application_name: 'shopflow-demo' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
  } finally {
    await client.end();
  }
  await migrate(config);
}
