/**
 * A quick TCP check before handing work to a child process (dbt, Great Expectations): a
 * Python stack trace three layers down is the wrong place for a person to learn that the
 * warehouse is not running. The error keeps the socket error (errno, address, port) as its
 * cause, so the runner names the service and the fix.
 */
import { createConnection } from 'node:net';

import { ServiceUnavailableError } from '../errors.ts';

export function assertPortAnswers(url: string, defaultPort: number, what: string, timeoutMs = 3_000): Promise<void> {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = Number(parsed.port || defaultPort);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(
        new ServiceUnavailableError(
          `${what} at ${host}:${port} did not answer within ${timeoutMs} ms`,
          Object.assign(new Error('timed out'), { code: 'ETIMEDOUT', address: host, port }),
        ),
      );
    });
    socket.once('error', (error) => reject(new ServiceUnavailableError(`${what} at ${host}:${port} is unreachable`, error)));
  });
}
