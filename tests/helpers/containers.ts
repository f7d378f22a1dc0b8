/**
 * The Docker path of the test services: official images started with testcontainers, configured
 * like the local services (same Postgres superuser and roles, MariaDB binlog flags, KRaft Kafka
 * without topic auto-creation). Mail always goes to the local Node sink, because tests read the
 * stored .eml files from disk. Used only when a Docker engine is reachable.
 */
import { createServer } from 'node:net';

import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import mysql from 'mysql2/promise';

import type { Config } from '../../lib/config/index.ts';
import { migrate } from '../../lib/warehouse/migrate.ts';
import { smtpService, mailDir } from '../../scripts/services/smtp.ts';
import type { TestEndpoints, TestServices } from './ensure-services.ts';

const PASSWORD = 'shopflow';

/** Kafka must advertise the port clients use, so pick the host port before the container starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startPostgres(): Promise<StartedTestContainer> {
  return (
    new GenericContainer('postgres:17')
      .withEnvironment({ POSTGRES_PASSWORD: PASSWORD, POSTGRES_DB: 'shopflow' })
      .withCommand(['postgres', '-c', 'max_connections=300', '-c', 'fsync=off'])
      .withExposedPorts(5432)
      .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
      // The image's init step restarts the server once: wait for the second "ready".
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start()
  );
}

/** The shop on Postgres: logical decoding needs wal_level=logical (scripts/services/shop-postgres.ts). */
async function startShopPostgres(): Promise<StartedTestContainer> {
  return new GenericContainer('postgres:17')
    .withEnvironment({ POSTGRES_PASSWORD: PASSWORD, POSTGRES_DB: 'shop' })
    .withCommand(['postgres', '-c', 'wal_level=logical', '-c', 'max_replication_slots=20', '-c', 'max_wal_senders=20', '-c', 'fsync=off'])
    .withExposedPorts(5432)
    .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
}

async function startMariadb(): Promise<StartedTestContainer> {
  return new GenericContainer('mariadb:10.11')
    .withEnvironment({ MARIADB_ROOT_PASSWORD: PASSWORD, MARIADB_DATABASE: 'shop', MARIADB_USER: 'shopflow', MARIADB_PASSWORD: PASSWORD })
    .withCommand([
      '--server-id=1',
      '--log-bin=binlog',
      '--binlog-format=ROW',
      '--binlog-row-image=FULL',
      '--binlog-row-metadata=FULL',
      '--gtid-strict-mode=ON',
      '--max-allowed-packet=64M',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
    ])
    .withExposedPorts(3306)
    .withHealthCheck({
      test: ['CMD', 'healthcheck.sh', '--connect', '--innodb_initialized'],
      interval: 1000,
      retries: 60,
      startPeriod: 2000,
      timeout: 5000,
    })
    .withWaitStrategy(Wait.forHealthCheck())
    .start();
}

async function startKafka(): Promise<{ container: StartedTestContainer; port: number }> {
  const port = await freePort();
  const container = await new GenericContainer('apache/kafka:3.9.1')
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://0.0.0.0:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '10',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_MESSAGE_MAX_BYTES: '2097152',
      KAFKA_REPLICA_FETCH_MAX_BYTES: '2097152',
      KAFKA_LOG_RETENTION_MS: '-1',
    })
    .withExposedPorts({ container: port, host: port })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  return { container, port };
}

export async function startContainers(config: Config): Promise<TestServices> {
  const containers: StartedTestContainer[] = [];
  try {
    const [postgres, shopPostgres, mariadb, kafka] = await Promise.all([
      startPostgres(),
      startShopPostgres(),
      startMariadb(),
      startKafka(),
    ]);
    containers.push(postgres, shopPostgres, mariadb, kafka.container);
    const warehouseAdminUrl = `postgres://postgres:${PASSWORD}@${postgres.getHost()}:${postgres.getMappedPort(5432)}/shopflow`;
    await migrate({ ...config, WAREHOUSE_URL: warehouseAdminUrl });

    // The image's user only owns `shop`; tests create a database per file and CDC tests grant.
    const root = await mysql.createConnection({
      host: mariadb.getHost(),
      port: mariadb.getMappedPort(3306),
      user: 'root',
      password: PASSWORD,
    });
    root.on('error', () => undefined);
    await root.query(`grant all privileges on *.* to 'shopflow'@'%' with grant option`);
    await root.end();
    const shopDbAdminUrl = `mysql://shopflow:${PASSWORD}@${mariadb.getHost()}:${mariadb.getMappedPort(3306)}/shop`;

    await smtpService.up(config);
    const endpoints: TestEndpoints = {
      warehouseAdminUrl,
      shopDbAdminUrl,
      shopPgAdminUrl: `postgres://postgres:${PASSWORD}@${shopPostgres.getHost()}:${shopPostgres.getMappedPort(5432)}/shop`,
      kafkaBrokers: [`127.0.0.1:${kafka.port}`],
      smtpUrl: config.SMTP_URL,
      mailDir: mailDir(config),
      via: 'containers',
    };
    return { endpoints, teardown: () => stopAll(containers) };
  } catch (error) {
    await stopAll(containers);
    throw error;
  }
}

async function stopAll(containers: StartedTestContainer[]): Promise<void> {
  await Promise.all(containers.map((c) => c.stop().catch(() => undefined)));
}
