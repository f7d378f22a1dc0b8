/**
 * The /metrics endpoint each long-running process serves when METRICS_ENABLED is true
 * (docs/operations.md#metrics). Third-party metrics code stays behind this folder (prom-client).
 * A port already taken (a second ingestor on the same host) costs only the metrics, never the
 * ingestion: it is logged and the process goes on.
 */
import { createServer, type Server } from 'node:http';

import { collectDefaultMetrics, Registry } from 'prom-client';

import type { Logger } from '../logger.ts';

export interface MetricsEndpoint {
  registry: Registry;
  /** The port it listens on, or null when metrics are off or the port was taken. */
  port: number | null;
  close(): Promise<void>;
}

/** A registry with the process's own metrics (CPU, memory, event loop lag, GC). */
export function createRegistry(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export async function serveMetrics(
  registry: Registry,
  options: { enabled: boolean; host: string; port: number; logger: Logger },
): Promise<MetricsEndpoint> {
  if (!options.enabled) return { registry, port: null, close: async () => undefined };
  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics' && request.url !== '/metrics/') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => {
        options.logger.warn({ err: error }, 'metrics collection failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  server.on('error', (error) => options.logger.warn({ err: error }, 'metrics server error'));
  const port = await new Promise<number | null>((resolve) => {
    const onError = (error: NodeJS.ErrnoException) => {
      options.logger.warn(
        { err: error, port: options.port },
        `metrics port ${options.host}:${options.port} unavailable (${error.code}); running without /metrics`,
      );
      resolve(null);
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : options.port);
    });
  });
  // The endpoint must never keep a finished process alive.
  server.unref();
  if (port !== null) options.logger.info({ url: `http://${options.host}:${port}/metrics` }, 'serving metrics');
  return {
    registry,
    port,
    close: () => new Promise<void>((resolve) => (port === null ? resolve() : server.close(() => resolve()))),
  };
}
