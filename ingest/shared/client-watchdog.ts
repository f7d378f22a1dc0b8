/**
 * A stalled Postgres (a frozen server, a dead network path with no RST) never answers and never
 * errors, and statement_timeout cannot help because the server is the stalled party. This
 * watchdog destroys the client's socket after a deadline, so the pending query fails with a
 * connection error the retry policy understands.
 */
import type pg from 'pg';

export function armClientWatchdog(client: pg.PoolClient | pg.Client, timeoutMs: number, onFire?: () => void): () => void {
  const timer = setTimeout(() => {
    onFire?.();
    // pg exposes no public way to abort a query in flight; its socket is the only handle.
    const socket = (client as unknown as { connection?: { stream?: { destroy(error?: Error): void } } }).connection?.stream;
    socket?.destroy(new Error(`Postgres did not answer within ${timeoutMs} ms`));
  }, timeoutMs);
  timer.unref();
  return () => clearTimeout(timer);
}
