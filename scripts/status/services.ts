/**
 * Service rows: up or down (the same checks as `npm run services:status`), the server's version
 * where it answers, and its address. Every probe is short: status must answer in seconds even
 * when everything is down.
 */
import { readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

import mysql from 'mysql2/promise';
import pg from 'pg';

import { serviceEndpoints, unreachableFix } from '../../lib/cli/explain.ts';
import { roleUrl, type Config } from '../../lib/config/index.ts';
import { serverStatus } from '../../dashboards/lib/server.ts';
import { servicesFor, servicesStatus, type ServiceStatus } from '../services/index.ts';
import type { Row } from './model.ts';

const PROBE_MS = 3_000;

async function postgresVersion(config: Config): Promise<string> {
  const client = new pg.Client({
    connectionString: roleUrl(config, 'transformer'),
    connectionTimeoutMillis: PROBE_MS,
    application_name: 'shopflow-status',
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function mariadbVersion(config: Config): Promise<string> {
  const connection = await mysql.createConnection({ uri: config.SHOP_DB_URL, connectTimeout: PROBE_MS });
  connection.on('error', () => undefined);
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('select version() as v');
    return String(rows[0]?.v ?? '?').replace(/-.*$/, '');
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** The broker's version from the jars the project installed (the protocol does not say it). */
function kafkaVersion(config: Config): string | undefined {
  if (!config.managed.kafka) return undefined;
  try {
    const jar = readdirSync(join(config.dataDir, 'kafka', 'lib')).find((f) => /^kafka_2\.\d+-[\d.]+\.jar$/.test(f));
    return jar?.replace(/^kafka_2\.\d+-|\.jar$/g, '');
  } catch {
    return undefined;
  }
}

/** The SMTP greeting line, e.g. "220 shopflow ESMTP": proves the server speaks SMTP, not just listens. */
function smtpBanner(config: Config): Promise<string> {
  const url = new URL(config.SMTP_URL);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 25), timeout: PROBE_MS });
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('utf8');
      if (data.includes('\n')) {
        socket.end('QUIT\r\n');
        resolve(data.split('\n')[0]!.trim());
      }
    });
    socket.on('timeout', () => {
      socket.destroy();
      reject(new Error('no SMTP greeting'));
    });
    socket.on('error', reject);
  });
}

async function versionOf(service: ServiceStatus['service'], config: Config): Promise<{ version?: string; problem?: string }> {
  try {
    if (service === 'postgres') return { version: `PostgreSQL ${await postgresVersion(config)}` };
    if (service === 'shop-postgres') return { version: 'PostgreSQL (shop, wal_level=logical)' };
    if (service === 'mariadb') return { version: `MariaDB ${await mariadbVersion(config)}` };
    if (service === 'prometheus') return { version: 'Prometheus' };
    if (service === 's3proxy') return { version: 'S3 API' };
    if (service === 'spark') return { version: 'Spark standalone' };
    if (service === 'spark-sql') return { version: 'Spark Thrift server' };
    if (service === 'kafka') {
      const v = kafkaVersion(config);
      return v ? { version: `Kafka ${v}` } : {};
    }
    const banner = await smtpBanner(config);
    return banner.startsWith('220') ? { version: 'SMTP' } : { problem: `unexpected greeting "${banner}"` };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '28P01' || code === 'ER_ACCESS_DENIED_ERROR') return { problem: 'refused the login' };
    return { problem: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
}

const LABEL: Record<ServiceStatus['service'], string> = {
  postgres: 'postgres',
  'shop-postgres': 'shop postgres',
  mariadb: 'mariadb',
  kafka: 'kafka',
  smtp: 'smtp',
  prometheus: 'prometheus',
  s3proxy: 's3 store',
  spark: 'spark',
  'spark-sql': 'spark sql',
};
const LOGIN_FIX: Record<ServiceStatus['service'], string> = {
  postgres: 'check WAREHOUSE_TRANSFORMER_PASSWORD (status reads the warehouse as role transformer)',
  'shop-postgres': 'check the user and password in SHOP_PG_URL',
  mariadb: 'check the user and password in SHOP_DB_URL',
  kafka: 'check KAFKA_BROKERS',
  smtp: 'check SMTP_URL',
  prometheus: 'look at .data/prometheus/prometheus.log',
  s3proxy: 'check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY',
  spark: 'look at .data/spark/*.log',
  'spark-sql': 'look at .data/spark-sql/spark-sql.log',
};
const VARIABLE: Record<ServiceStatus['service'], string> = {
  postgres: 'WAREHOUSE_URL',
  'shop-postgres': 'SHOP_PG_URL',
  mariadb: 'SHOP_DB_URL',
  kafka: 'KAFKA_BROKERS',
  smtp: 'SMTP_URL',
  prometheus: 'PROMETHEUS_PORT',
  s3proxy: 'S3_ENDPOINT',
  spark: 'SPARK_MASTER',
  'spark-sql': 'SPARK_SQL_HOST',
};

export async function serviceRows(config: Config): Promise<Row[]> {
  const endpoints = serviceEndpoints(config);
  const statuses = await servicesStatus(config, servicesFor(config));
  const rows = await Promise.all(
    statuses.map(async (s): Promise<Row> => {
      const endpoint = endpoints.find((e) => e.variable === VARIABLE[s.service])!;
      const facts = { state: s.state, mode: s.mode, address: s.address, ...(s.pid ? { pid: s.pid } : {}) };
      if (s.state !== 'up') {
        const fix =
          s.state === 'port taken'
            ? `another program holds ${s.address}: stop it, or point ${endpoint.variable} at a free port`
            : s.state === 'starting'
              ? 'it is still starting: wait a few seconds, then look at its log under .data/' + s.service
              : unreachableFix(endpoint);
        return {
          name: LABEL[s.service],
          level: 'fail',
          text: `${s.state === 'unreachable' ? 'unreachable' : s.state} at ${s.address}${s.mode === 'external' ? ' (external)' : ''}`,
          fix,
          facts,
        };
      }
      const { version, problem } = await versionOf(s.service, config);
      if (problem)
        return {
          name: LABEL[s.service],
          level: 'fail',
          text: `up at ${s.address} but ${problem}`,
          fix: LOGIN_FIX[s.service],
          facts: { ...facts, problem },
        };
      return {
        name: LABEL[s.service],
        level: 'ok',
        text: `up${version ? `, ${version}` : ''}, ${s.address}${s.mode === 'external' ? ' (external)' : ''}`,
        facts: { ...facts, ...(version ? { version } : {}) },
      };
    }),
  );
  const superset = await serverStatus(config).catch(() => ({
    running: false,
    healthy: false,
    url: `http://127.0.0.1:${config.SUPERSET_PORT}`,
  }));
  // Superset is optional (dashboards only): not running is information, not a fault.
  rows.push(
    superset.running
      ? superset.healthy
        ? { name: 'superset', level: 'ok', text: `up, ${superset.url}`, facts: { ...superset } }
        : {
            name: 'superset',
            level: 'warn',
            text: `running but not answering ${superset.url}/health`,
            fix: 'look at .data/superset/superset.log; restart with `npm run dashboards -- down` then `npm run dashboards`',
            facts: { ...superset },
          }
      : { name: 'superset', level: 'info', text: 'not running (optional: `npm run dashboards` starts it)', facts: { ...superset } },
  );
  return rows;
}
