/**
 * docker-compose.yml cannot be started here (no Docker engine), so its contract is checked
 * statically: the services exist, the app containers are configured only through variables
 * ShopFlow actually reads, and the host ports are the ones the local defaults point at.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Ajv from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

import { DEFAULTS, envSchema, loadConfig, ROOT_DIR } from '../../lib/config/index.ts';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number> | string[];
  ports?: string[];
  healthcheck?: { test?: string[] };
}

const compose = parse(readFileSync(join(ROOT_DIR, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((entry) => entry.split(/=(.*)/s).slice(0, 2) as [string, string]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

/** The host side of "127.0.0.1:HOST:CONTAINER" or "HOST:CONTAINER". */
function hostPorts(service: ComposeService | undefined): number[] {
  return (service?.ports ?? []).map((p) => {
    const parts = p.split(':');
    return Number(parts[parts.length - 2]);
  });
}

/** Resolve "${NAME:-default}" as compose does with NAME unset. */
function withComposeDefaults(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
}

const APP_SERVICES = Object.entries(services).filter(([, s]) => s.build !== undefined);

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification JSON schema', () => {
    const schema = JSON.parse(readFileSync(join(ROOT_DIR, 'tests', 'platform', 'fixtures', 'compose-spec.json'), 'utf8')) as object;
    // The schema names draft-07 by an id ajv 6 does not carry; its formats (durations) are checked by compose itself.
    const validate = new Ajv({ validateSchema: false, unknownFormats: 'ignore', allErrors: true }).compile(schema);
    const valid = validate(compose);
    expect((validate.errors ?? []).map((e) => `${e.dataPath} ${e.message}`)).toEqual([]);
    expect(valid).toBe(true);
    // The check has teeth: a misspelt key or a number where compose wants a duration string fails.
    const broken = {
      ...compose,
      services: { ...services, mail: { ...services.mail, healthcheck: { test: ['CMD', 'true'], intervall: '5s' } } },
    };
    expect(validate(broken)).toBe(false);
  });

  it('has the services, the app and Superset', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'mariadb', 'kafka', 'mail', 'superset', 'app', 'migrate']));
    expect(services.postgres?.image).toMatch(/^postgres:17/);
    expect(services.mariadb?.image).toBe('mariadb:10.11');
    expect(services.kafka?.image).toBe('apache/kafka:3.9.1');
    // The local venv's version (requirements-superset.txt), so the bundle imports the same way.
    const local = /^apache-superset==(\S+)$/m.exec(readFileSync(join(ROOT_DIR, 'requirements-superset.txt'), 'utf8'))?.[1];
    expect(services.superset?.image).toBe(`apache/superset:${local}`);
    expect(APP_SERVICES.map(([name]) => name).sort()).toEqual(['app', 'migrate']);
  });

  it('configures the app containers only with variables ShopFlow reads', () => {
    const known = new Set(Object.keys(envSchema.shape));
    for (const [name, service] of APP_SERVICES) {
      const unknown = Object.keys(environmentOf(service)).filter((key) => !known.has(key));
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
    }
  });

  it('gives the app containers a configuration that loads', () => {
    for (const [, service] of APP_SERVICES) {
      const env = Object.fromEntries(Object.entries(environmentOf(service)).map(([k, v]) => [k, withComposeDefaults(v)]));
      const config = loadConfig(env);
      // Every service is reached by name inside compose: none is started by the app.
      expect(config.managed).toEqual({
        postgres: false,
        shopPostgres: false,
        mariadb: false,
        kafka: false,
        smtp: false,
        s3: false,
        spark: false,
      });
    }
  });

  it('gives the superuser URL to the one-shot migrate service only; the app gets host and database, no credentials', () => {
    const urlOf = (name: string) => new URL(withComposeDefaults(environmentOf(services[name] as ComposeService).WAREHOUSE_URL ?? ''));
    const app = urlOf('app');
    expect({ username: app.username, password: app.password }).toEqual({ username: '', password: '' });
    expect(app.host).toBe('postgres:5432');
    expect(urlOf('migrate').username).toBe('postgres');
    expect(services.app?.command).not.toContain('scripts/migrate.ts');
    // Superset reads as bi_reader: it gets that password and nothing that names another role.
    const superset = Object.keys(environmentOf(services.superset as ComposeService));
    expect(superset.filter((key) => key.startsWith('WAREHOUSE_'))).toEqual(['WAREHOUSE_BI_PASSWORD']);
    // No service but postgres itself and migrate sees the superuser password.
    const seeing = Object.entries(services)
      .filter(([, service]) =>
        Object.values(environmentOf(service)).some((value) => /POSTGRES_PASSWORD|postgres:\$\{|:shopflow@postgres/.test(value)),
      )
      .map(([name]) => name);
    expect(seeing.sort()).toEqual(['migrate', 'postgres']);
  });

  it('publishes each service on the host port of the local default', () => {
    expect(hostPorts(services.postgres)).toContain(Number(new URL(DEFAULTS.WAREHOUSE_URL).port));
    expect(hostPorts(services.mariadb)).toContain(Number(new URL(DEFAULTS.SHOP_DB_URL).port));
    expect(hostPorts(services.kafka)).toContain(Number(DEFAULTS.KAFKA_BROKERS.split(':')[1]));
    expect(hostPorts(services.mail)).toContain(Number(new URL(DEFAULTS.SMTP_URL).port));
    expect(hostPorts(services.superset)).toContain(Number(DEFAULTS.SUPERSET_PORT));
  });

  it('gives every long-running service a healthcheck (migrate is a one-shot job)', () => {
    const missing = Object.entries(services)
      .filter(([name, s]) => name !== 'migrate' && !(s.healthcheck?.test && s.healthcheck.test.length > 1))
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it("runs the Prometheus version Debian's package gives the local path", () => {
    const run = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (run.error) throw new Error(`promtool not found (${run.error.message}): \`npm run setup\` installs Debian's prometheus package`);
    const local = /version (\d+\.\d+\.\d+)/.exec(run.stdout + run.stderr)?.[1];
    expect(services.prometheus?.image).toBe(`prom/prometheus:v${local}`);
  });

  it('starts MariaDB with the binlog settings CDC needs', () => {
    const command = services.mariadb?.command as string[];
    expect(command).toEqual(
      expect.arrayContaining([
        '--log-bin=binlog',
        '--binlog-format=ROW',
        '--binlog-row-image=FULL',
        '--binlog-row-metadata=FULL',
        '--gtid-strict-mode=ON',
      ]),
    );
  });

  it('keeps Kafka from creating topics on first use, as locally', () => {
    expect(environmentOf(services.kafka as ComposeService).KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
  });
});
