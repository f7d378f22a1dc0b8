/**
 * Turns whatever a command threw into what a person needs: one sentence naming the cause and
 * the fix, and the documented exit code. Classification is by error class, errno and SQLSTATE
 * (never by message text), walking the `cause` chain the way isRetryable does.
 */
import type { Config } from '../config/index.ts';
import { ConfigError, ProcessFailedError, ServiceUnavailableError, ShopflowError, UsageError, coerceError } from '../errors.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';

export interface Explained {
  exitCode: ExitCode;
  /** One sentence (config errors: one line per variable) for a person. */
  sentence: string;
  error: Error;
}

/** Socket errnos that mean the service is not there (as opposed to misbehaving). */
const UNREACHABLE_ERRNOS = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET']);
/** Driver error names that carry no errno but mean the same (kafkajs wraps the socket error). */
const UNREACHABLE_NAMES = new Set(['KafkaJSConnectionError', 'KafkaJSBrokerNotFound', 'KafkaJSConnectionClosedError']);
/** Login refused: the configured password or user is wrong (a config problem, not an outage). */
const AUTH_CODES = new Set(['28P01', '28000', 'ER_ACCESS_DENIED_ERROR', 'EAUTH']);

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
};

export interface ServiceEndpoint {
  name: string;
  /** host:port */
  address: string;
  variable: string;
  managed: boolean;
  startWith: string;
}

/** Where each service is, by the configuration: to name the one an errno's address points at. */
export function serviceEndpoints(config: Config): ServiceEndpoint[] {
  const hostPort = (url: string, defaultPort: string) => {
    const u = new URL(url);
    return `${u.hostname}:${u.port || defaultPort}`;
  };
  return [
    {
      name: 'the Postgres warehouse',
      address: hostPort(config.WAREHOUSE_URL, '5432'),
      variable: 'WAREHOUSE_URL',
      managed: config.managed.postgres,
      startWith: 'npm run services:up',
    },
    {
      name: 'the MariaDB shop database',
      address: hostPort(config.SHOP_DB_URL, '3306'),
      variable: 'SHOP_DB_URL',
      managed: config.managed.mariadb,
      startWith: 'npm run services:up',
    },
    {
      name: 'the Postgres shop database',
      address: hostPort(config.SHOP_PG_URL, '5432'),
      variable: 'SHOP_PG_URL',
      managed: config.managed.shopPostgres,
      startWith: 'npm run services:up',
    },
    ...config.KAFKA_BROKERS.map((address) => ({
      name: 'Kafka',
      address,
      variable: 'KAFKA_BROKERS',
      managed: config.managed.kafka,
      startWith: 'npm run services:up',
    })),
    {
      name: 'the SMTP server',
      address: hostPort(config.SMTP_URL, '25'),
      variable: 'SMTP_URL',
      managed: config.managed.smtp,
      startWith: 'npm run services:up',
    },
    {
      name: 'Superset',
      address: `127.0.0.1:${config.SUPERSET_PORT}`,
      variable: 'SUPERSET_PORT',
      managed: true,
      startWith: 'npm run dashboards',
    },
    {
      name: 'Prometheus',
      address: `127.0.0.1:${config.PROMETHEUS_PORT}`,
      variable: 'PROMETHEUS_PORT',
      managed: true,
      startWith: 'npm run services:up',
    },
    {
      name: 'the S3 object store',
      address: hostPort(config.S3_ENDPOINT, config.S3_ENDPOINT.startsWith('https:') ? '443' : '80'),
      variable: 'S3_ENDPOINT',
      managed: config.managed.s3,
      startWith: 'LAKEHOUSE_ENABLED=true npm run services:up',
    },
    {
      name: 'the Spark master',
      address: config.SPARK_MASTER.replace(/^spark:\/\//, ''),
      variable: 'SPARK_MASTER',
      managed: config.managed.spark,
      startWith: 'LAKEHOUSE_ENABLED=true npm run services:up',
    },
  ];
}

/** The fix for an unreachable service: start it if this checkout manages it, else check the variable. */
export function unreachableFix(endpoint: ServiceEndpoint): string {
  return endpoint.managed
    ? `start it with \`${endpoint.startWith}\``
    : `check that it is running and that ${endpoint.variable} points at it`;
}

function* chain(error: unknown): Generator<unknown> {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    yield current;
    const next = (current as { cause?: unknown; originalError?: unknown }).cause ?? (current as { originalError?: unknown }).originalError;
    // AggregateError (Node's happy-eyeballs connect) keeps the per-address errors in `errors`.
    const inner = (current as { errors?: unknown[] }).errors;
    current = next ?? (Array.isArray(inner) ? inner[0] : undefined);
  }
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** The errno/SQLSTATE and the address an error chain carries, if any. */
function facts(error: unknown): { code?: string; name?: string; address?: string } {
  let code: string | undefined;
  let name: string | undefined;
  let address: string | undefined;
  for (const e of chain(error)) {
    const c = field(e, 'code');
    if (typeof c === 'string' && code === undefined && (UNREACHABLE_ERRNOS.has(c) || AUTH_CODES.has(c))) code = c;
    if (e instanceof Error && UNREACHABLE_NAMES.has(e.name)) name ??= e.name;
    const host = field(e, 'address') ?? field(e, 'host') ?? field(e, 'hostname');
    const port = field(e, 'port');
    if (address === undefined && typeof host === 'string' && (typeof port === 'number' || typeof port === 'string'))
      address = `${host}:${port}`;
    const broker = field(e, 'broker');
    if (address === undefined && typeof broker === 'string') address = broker;
  }
  return { ...(code ? { code } : {}), ...(name ? { name } : {}), ...(address ? { address } : {}) };
}

function endpointFor(address: string | undefined, endpoints: ServiceEndpoint[], hint?: string): ServiceEndpoint | undefined {
  if (address) {
    const exact = endpoints.find((e) => e.address === address);
    if (exact) return exact;
    const port = address.split(':').pop();
    const byPort = endpoints.find((e) => e.address.split(':').pop() === port);
    if (byPort) return byPort;
  }
  return hint ? endpoints.find((e) => e.name === hint) : undefined;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/**
 * The exit code and the sentence for an error. `config` (when it loaded) lets an address be
 * named as the service it is and the fix be the right one for a managed or external service.
 */
export function explainError(thrown: unknown, config?: Config): Explained {
  const error = coerceError(thrown);
  if (error instanceof UsageError) {
    const message = error.message.replace(/\n*Run with --help.*$/s, '').replace(/\. To specify a positional argument.*$/s, '');
    return { exitCode: EXIT.usage, sentence: `${message}\nRun with --help for the usage.`, error };
  }
  if (error instanceof ConfigError) return { exitCode: EXIT.usage, sentence: error.message, error };
  // lib/disk/headroom.ts: the message already names the disk and the fix.
  if (error instanceof ShopflowError && error.code === 'SHOPFLOW_DISK_LOW')
    return { exitCode: EXIT.diskLow, sentence: error.message, error };
  // node:util parseArgs, where a command (a bench) calls it directly.
  if (typeof field(error, 'code') === 'string' && String(field(error, 'code')).startsWith('ERR_PARSE_ARGS_')) {
    return {
      exitCode: EXIT.usage,
      sentence: `${error.message.replace(/\. To specify a positional argument.*$/s, '')}\nRun with --help for the usage.`,
      error,
    };
  }
  const { code, name, address } = facts(error);
  const endpoints = config ? serviceEndpoints(config) : [];
  if (code && AUTH_CODES.has(code)) {
    const endpoint = endpointFor(
      address,
      endpoints,
      code === 'EAUTH' ? 'the SMTP server' : code.startsWith('ER_') ? 'the MariaDB shop database' : 'the Postgres warehouse',
    );
    const where = endpoint ? `${endpoint.name}${address ? ` at ${address}` : ''}` : 'a service';
    const fix =
      endpoint?.variable === 'WAREHOUSE_URL'
        ? 'check the WAREHOUSE_*_PASSWORD variables (and WAREHOUSE_URL)'
        : endpoint
          ? `check the user and password in ${endpoint.variable}`
          : 'check the passwords in your configuration';
    return { exitCode: EXIT.usage, sentence: `${where} refused the login (${firstLine(error.message)}): ${fix}.`, error };
  }
  const unreachable = (code !== undefined && !AUTH_CODES.has(code)) || name !== undefined || error instanceof ServiceUnavailableError;
  if (unreachable) {
    const endpoint = endpointFor(address, endpoints, name ? 'Kafka' : undefined);
    const reason = code ? (REASONS[code] ?? code) : firstLine(error.message);
    if (endpoint)
      return {
        exitCode: EXIT.unavailable,
        sentence: `Cannot reach ${endpoint.name} at ${endpoint.address} (${reason}): ${unreachableFix(endpoint)}.`,
        error,
      };
    const message =
      error instanceof ServiceUnavailableError
        ? firstLine(error.message)
        : `A service is unreachable${address ? ` at ${address}` : ''} (${reason})`;
    return {
      exitCode: EXIT.unavailable,
      sentence: `${message.replace(/\.$/, '')}: start the services with \`npm run services:up\` or check the service URLs in your configuration.`,
      error,
    };
  }
  if (error instanceof ProcessFailedError)
    return { exitCode: EXIT.failed, sentence: `${firstLine(error.message)}; the output above says why.`, error };
  if (error instanceof ShopflowError) return { exitCode: EXIT.failed, sentence: `${error.message} [${error.code}]`, error };
  return { exitCode: EXIT.failed, sentence: `${firstLine(error.message) || error.name} (run with LOG_LEVEL=debug for the stack).`, error };
}
