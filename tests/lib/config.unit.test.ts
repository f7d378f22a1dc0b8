import { describe, expect, it } from 'vitest';

import { loadConfig, roleUrl } from '../../lib/config/index.ts';
import { ConfigError } from '../../lib/errors.ts';

describe('loadConfig', () => {
  it('loads the local-platform defaults and marks every service as managed', () => {
    const config = loadConfig({});
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:19092']);
    expect(config.KAFKA_PARTITIONS).toBe(6);
    expect(config.managed).toEqual({ postgres: true, shopPostgres: true, mariadb: true, kafka: true, smtp: true, s3: true, spark: true });
  });

  it('treats a given URL as an external service', () => {
    const config = loadConfig({ WAREHOUSE_URL: 'postgres://u:p@db.internal:5432/wh', KAFKA_BROKERS: 'a:9092, b:9092' });
    expect(config.managed.postgres).toBe(false);
    expect(config.managed.kafka).toBe(false);
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
  });

  it('reports every malformed variable at once, by name, with what it expects', () => {
    let thrown: unknown;
    try {
      loadConfig({ KAFKA_PARTITIONS: 'abc', WAREHOUSE_URL: 'nope', SCHEDULER_TZ: 'Mars/Olympus', KAFKA_BROKERS: 'no-port' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = (thrown as Error).message;
    expect(message).toMatch(/KAFKA_PARTITIONS: must be a number \(got "abc"\)/);
    expect(message).toMatch(/WAREHOUSE_URL: must be a URL starting with postgres:\/\//);
    expect(message).toMatch(/SCHEDULER_TZ: must be an IANA time zone/);
    expect(message).toMatch(/KAFKA_BROKERS: each broker must be host:port/);
  });

  it('never echoes secrets in errors', () => {
    expect(() => loadConfig({ SUPERSET_SECRET_KEY: 'short' })).toThrow(/SUPERSET_SECRET_KEY: .*\(got \(hidden\)\)/);
  });
});

describe('roleUrl', () => {
  it('derives a least-privilege URL per component from the warehouse URL', () => {
    const config = loadConfig({ WAREHOUSE_URL: 'postgres://admin:secret@wh:5432/shopflow', WAREHOUSE_BI_PASSWORD: 'p@ss' });
    const url = new URL(roleUrl(config, 'bi_reader'));
    expect(url.username).toBe('bi_reader');
    expect(decodeURIComponent(url.password)).toBe('p@ss');
    expect(url.host).toBe('wh:5432');
    expect(url.pathname).toBe('/shopflow');
    expect(new URL(roleUrl(config, 'ingest_writer', 'other')).pathname).toBe('/other');
  });
});
